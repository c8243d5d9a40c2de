"""A consumer's dead letters and the messages parked behind them, as stored in its service's database.

A permanently failing message becomes a dead letter (row, and a copy on `<topic>.dlq` through the outbox); later
messages of its key are parked behind it until an operator replays or discards it, then released in order. Every
method works in the caller's transaction; the consumer decides when to commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import peek_attribute, peek_type
from shared.infra_tables import InfraTables
from shared.observability import PARKED
from shared.outbox import add_message

UNRESOLVED = ("open", "replay_requested", "discard_requested")


@dataclass(frozen=True)
class RawMessage:
    """A message as it came from Kafka (or from the parked table)."""

    topic: str
    partition: int
    offset: int
    key: str
    value: bytes


@dataclass(frozen=True)
class OperatorRequest:
    """A dead letter an operator asked to replay or discard."""

    dead_letter_id: int
    replay: bool
    message: RawMessage


class DeadLetterStore:
    """One consumer's dead letters and parked messages (its consumer name scopes every query)."""

    def __init__(self, tables: InfraTables, *, service: str, consumer: str, group_id: str) -> None:
        self.tables = tables
        self.service = service
        self.consumer = consumer
        self.group_id = group_id

    async def blocking(self, session: AsyncSession, raws: list[RawMessage]) -> dict[tuple[str, str], int]:
        """For each (topic, key) of the messages that must wait, the dead letter to park behind (one query): the
        earliest unresolved one of the key, or the one its parked messages still wait behind (resolved, but not
        all of them released yet)."""
        dead, parked = self.tables.dead_letters, self.tables.parked_messages
        keys = {raw.key for raw in raws}
        waiting = union_all(
            select(dead.c.topic, dead.c.message_key, dead.c.id.label("dead_letter_id")).where(
                dead.c.consumer == self.consumer, dead.c.message_key.in_(keys), dead.c.status.in_(UNRESOLVED)
            ),
            select(parked.c.topic, parked.c.message_key, parked.c.dead_letter_id).where(
                parked.c.consumer == self.consumer, parked.c.message_key.in_(keys)
            ),
        ).subquery()
        rows = (
            await session.execute(
                select(waiting.c.topic, waiting.c.message_key, func.min(waiting.c.dead_letter_id)).group_by(
                    waiting.c.topic, waiting.c.message_key
                )
            )
        ).all()
        return {(topic, key): int(dead_letter_id) for topic, key, dead_letter_id in rows}

    async def blocking_one(self, session: AsyncSession, raw: RawMessage) -> int | None:
        """The dead letter behind which this message must wait, if any."""
        return (await self.blocking(session, [raw])).get((raw.topic, raw.key))

    async def park(self, session: AsyncSession, raw: RawMessage, dead_letter_id: int) -> None:
        """Store a message behind the dead letter of its key, to be processed in order once it is resolved."""
        await session.execute(
            self.tables.parked_messages.insert().values(
                consumer=self.consumer,
                dead_letter_id=dead_letter_id,
                topic=raw.topic,
                kafka_partition=raw.partition,
                kafka_offset=raw.offset,
                message_key=raw.key,
                value=raw.value,
            )
        )
        PARKED.labels(self.service, self.consumer, raw.topic).inc()

    async def unpark(self, session: AsyncSession, parked_id: int) -> None:
        """Take a parked message off the table (in the transaction that applies it)."""
        parked = self.tables.parked_messages
        await session.execute(parked.delete().where(parked.c.id == parked_id))

    async def next_parked(self, session: AsyncSession, dead_letter_id: int) -> tuple[int, RawMessage] | None:
        """The oldest message still parked behind a dead letter."""
        parked = self.tables.parked_messages
        row = (
            await session.execute(
                select(
                    parked.c.id,
                    parked.c.topic,
                    parked.c.kafka_partition,
                    parked.c.kafka_offset,
                    parked.c.message_key,
                    parked.c.value,
                )
                .where(parked.c.dead_letter_id == dead_letter_id)
                .order_by(parked.c.id)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return row.id, RawMessage(row.topic, row.kafka_partition, row.kafka_offset, row.message_key, row.value)

    async def record(self, session: AsyncSession, raw: RawMessage, description: str, *, parked_id: int | None) -> None:
        """Dead-letter row, outbox message to `<topic>.dlq`, and (for a released parked message that failed) the
        followers of its old dead letter re-parked behind the new one."""
        dead, parked = self.tables.dead_letters, self.tables.parked_messages
        event_type = peek_type(raw.value)
        event_id = peek_attribute(raw.value, "id")
        previous = None
        if parked_id is not None:
            previous = await session.scalar(select(parked.c.dead_letter_id).where(parked.c.id == parked_id))
            await self.unpark(session, parked_id)
        dead_letter_id = await session.scalar(
            dead.insert()
            .values(
                consumer=self.consumer,
                topic=raw.topic,
                kafka_partition=raw.partition,
                kafka_offset=raw.offset,
                message_key=raw.key,
                event_id=event_id,
                event_type=event_type,
                error_kind="permanent",
                error=description,
                value=raw.value,
                status="open",
            )
            .returning(dead.c.id)
        )
        if previous is not None:
            await session.execute(
                update(parked).where(parked.c.dead_letter_id == previous).values(dead_letter_id=dead_letter_id)
            )
        await add_message(
            session,
            self.tables,
            topic=f"{raw.topic}.dlq",
            key=raw.key,
            value=raw.value,
            event_type=event_type or "unparseable",
            event_id=event_id or f"dlq-{uuid.uuid4()}",
            headers={
                "dlq_error": description,
                "dlq_origin_topic": raw.topic,
                "dlq_origin_partition": str(raw.partition),
                "dlq_origin_offset": str(raw.offset),
                "dlq_consumer": self.group_id,
                "dlq_dead_letter_id": str(dead_letter_id),
            },
        )

    async def requests(self, session: AsyncSession) -> list[OperatorRequest]:
        """Replays and discards operators asked for, oldest first."""
        dead = self.tables.dead_letters
        rows = (
            await session.execute(
                select(
                    dead.c.id,
                    dead.c.status,
                    dead.c.topic,
                    dead.c.kafka_partition,
                    dead.c.kafka_offset,
                    dead.c.message_key,
                    dead.c.value,
                )
                .where(dead.c.consumer == self.consumer, dead.c.status.in_(("replay_requested", "discard_requested")))
                .order_by(dead.c.id)
            )
        ).all()
        return [
            OperatorRequest(
                row.id,
                row.status == "replay_requested",
                RawMessage(row.topic, row.kafka_partition, row.kafka_offset, row.message_key, row.value),
            )
            for row in rows
        ]

    async def set_status(self, session: AsyncSession, dead_letter_id: int, status: str, **values: Any) -> None:
        """Mark a dead letter replayed or discarded (resolved now), or open again with the new error."""
        dead = self.tables.dead_letters
        if status in ("replayed", "discarded"):
            values["resolved_at"] = func.now()
        await session.execute(update(dead).where(dead.c.id == dead_letter_id).values(status=status, **values))

    async def resumable(self, session: AsyncSession) -> list[int]:
        """Resolved dead letters that still have parked messages (their release was cut short by a restart)."""
        dead, parked = self.tables.dead_letters, self.tables.parked_messages
        rows = await session.scalars(
            select(parked.c.dead_letter_id)
            .join(dead, dead.c.id == parked.c.dead_letter_id)
            .where(parked.c.consumer == self.consumer, dead.c.status.in_(("replayed", "discarded")))
            .group_by(parked.c.dead_letter_id)
            .order_by(parked.c.dead_letter_id)
        )
        return list(rows.all())
