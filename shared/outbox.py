"""Transactional outbox: events are written with the state change and published by a relay."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import CursorResult, Insert, TextualSelect, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events.catalogue import serialize_event
from shared.events.envelope import Envelope
from shared.failures import sleep_or_stop
from shared.health import HealthReporter
from shared.infra_tables import InfraTables
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = structlog.get_logger()


async def add_event(session: AsyncSession, tables: InfraTables, topic: str, event: Envelope) -> None:
    """Queue an event for publication in the caller's transaction (keyed by its subject)."""
    await session.execute(event_insert(tables, topic, event))


async def add_events(session: AsyncSession, tables: InfraTables, events: Sequence[tuple[str, Envelope]]) -> None:
    """Queue several (topic, event) pairs in one statement; they are published in the order given."""
    if events:
        await session.execute(insert(tables.outbox).values([outbox_row(topic, event) for topic, event in events]))


def event_insert(tables: InfraTables, topic: str, event: Envelope) -> Insert:
    """The statement that queues an event, for a caller that sends it along with its own writes."""
    return insert(tables.outbox).values(**outbox_row(topic, event))


OUTBOX_COLUMNS = ("event_id", "topic", "message_key", "event_type", "value", "headers")  # what outbox_row fills


def outbox_row(topic: str, event: Envelope) -> dict[str, Any]:
    """An event's outbox row: keyed by its subject, so one claim's (or visit's) events keep their order."""
    return {
        "event_id": event.id,
        "topic": topic,
        "message_key": event.subject,
        "event_type": event.type,
        "value": serialize_event(event),
        "headers": {"ce_type": event.type, "ce_id": event.id},
    }


async def add_message(
    session: AsyncSession,
    tables: InfraTables,
    *,
    topic: str,
    key: str,
    value: bytes,
    event_type: str,
    event_id: str,
    headers: Mapping[str, str],
) -> None:
    """Queue a raw message (a dead letter, for instance) in the caller's transaction."""
    await session.execute(
        insert(tables.outbox).values(
            event_id=event_id,
            topic=topic,
            message_key=key,
            event_type=event_type,
            value=value,
            headers=dict(headers),
        )
    )


PURGE_CHUNK = 5000


class OutboxRelay:
    """Publishes outbox rows in id order with the idempotent producer, then marks them sent."""

    def __init__(
        self,
        *,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        tables: InfraTables,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_seconds: float = 0.05,
        retention_hours: float = 24,
        purge_every_seconds: float = 300,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.tables = tables
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention_hours = retention_hours
        self.purge_every_seconds = purge_every_seconds
        self._lock_key = f"claimflow.outbox.{service}"
        self._claim = _claim_statement(tables)
        self._pending = select(tables.outbox.c.id).where(tables.outbox.c.sent_at.is_(None)).limit(1)
        self._busy = False  # the last batch found rows: look again without the idle check first

    async def pending(self) -> bool:
        """Whether any row waits for publication: one autocommit round trip, so an idle poll costs little."""
        async with self.sessions() as session:
            connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            row = await connection.scalar(self._pending)
        return row is not None

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows were published (0 when idle or another relay leads).

        One statement takes the relay lock and marks the oldest unsent rows sent, returning them; they are
        published in id order and the transaction commits only once Kafka has acknowledged every one, so a failed
        or interrupted send leaves them unsent (to be sent again: consumers deduplicate by event id).
        """
        if not self._busy and not await self.pending():
            return 0
        async with self.sessions() as session, session.begin():
            claimed = await session.execute(self._claim, {"lock_key": self._lock_key, "batch_size": self.batch_size})
            rows = sorted(claimed.all(), key=lambda row: row.id)
            self._busy = bool(rows)
            if not rows:
                return 0
            deliveries = [
                await self.producer.send(
                    row.topic,
                    value=row.value,
                    key=row.message_key.encode(),
                    headers=[(name, str(value).encode()) for name, value in (row.headers or {}).items()],
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)
        for row in rows:
            EVENTS_PUBLISHED.labels(self.service, row.topic, row.event_type).inc()
        return len(rows)

    async def backlog(self) -> int:
        """Rows waiting for publication."""
        outbox = self.tables.outbox
        async with self.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
        return int(count or 0)

    async def purge_sent(self) -> int:
        """Delete rows published more than the retention ago (the topics keep the history; the rows carry PHI),
        a few thousand at a time so no statement holds many locks; returns how many went."""
        outbox = self.tables.outbox
        cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, float(self.retention_hours) * 3600)
        chunk = select(outbox.c.id).where(outbox.c.sent_at < cutoff).limit(PURGE_CHUNK).scalar_subquery()
        purged = 0
        while True:
            async with self.sessions() as session, session.begin():
                result = await session.execute(outbox.delete().where(outbox.c.id.in_(chunk)))
            deleted = int(cast("CursorResult[Any]", result).rowcount)
            purged += deleted
            if deleted < PURGE_CHUNK:
                return purged

    async def run(self, stop: asyncio.Event, on_health: HealthReporter | None = None) -> None:
        """Relay until stopped; transient failures are retried with backoff and reported as not ready."""
        backoff = 0.2
        last_gauge = 0.0
        loop = asyncio.get_running_loop()
        last_purge = loop.time() - self.purge_every_seconds  # a restarted relay purges at once
        while not stop.is_set():
            try:
                published = await self.publish_batch()
                if loop.time() - last_gauge > 5:
                    OUTBOX_BACKLOG.labels(self.service).set(await self.backlog())
                    last_gauge = loop.time()
                if loop.time() - last_purge > self.purge_every_seconds:
                    await self.purge_sent()
                    last_purge = loop.time()
                if on_health:
                    on_health.report("outbox", True)
                backoff = 0.2
                if published < self.batch_size:
                    await sleep_or_stop(stop, self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if on_health:
                    on_health.report("outbox", False)
                log.warning("outbox relay retrying", error_type=type(error).__name__, backoff=backoff)
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)


def _claim_statement(tables: InfraTables) -> TextualSelect:
    """The relay's claim on a batch: the relay lock (another relay of the service leading leaves it nothing), then
    the oldest unsent rows marked sent and returned, in one round trip."""
    outbox = tables.outbox
    table = f"{outbox.schema}.{outbox.name}" if outbox.schema else outbox.name
    return text(
        "WITH leader AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(hashtext(:lock_key)) AS leads), "
        f"batch AS (SELECT id FROM {table} WHERE sent_at IS NULL AND (SELECT leads FROM leader) "
        "ORDER BY id LIMIT :batch_size) "
        f"UPDATE {table} AS outbox SET sent_at = now() FROM batch WHERE outbox.id = batch.id "
        "RETURNING outbox.id, outbox.topic, outbox.message_key, outbox.event_type, outbox.value, outbox.headers"
    ).columns(outbox.c.id, outbox.c.topic, outbox.c.message_key, outbox.c.event_type, outbox.c.value, outbox.c.headers)
