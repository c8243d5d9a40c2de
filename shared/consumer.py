"""Idempotent consumer: inbox dedup, offsets committed after the database commit, transient retry, dead letters."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import run_deferred, set_tenant
from shared.dead_letters import DeadLetterStore, RawMessage
from shared.events.catalogue import UnknownEventType, parse_event, peek_type
from shared.events.envelope import Envelope
from shared.failures import PermanentError, describe_error, is_transient, sleep_or_stop
from shared.health import HealthReporter
from shared.infra_tables import InfraTables
from shared.kafka import create_consumer
from shared.observability import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    EVENTS_FAILED,
    HANDLER_LATENCY,
    correlation_id_var,
    event_time_var,
)
from shared.settings import ServiceSettings

log = structlog.get_logger()

Handler = Callable[[AsyncSession, Any], Awaitable[None]]
# Runs in a batch's transaction before its handlers, with the batch's new events in order: work that is cheaper or
# safer done once for the whole batch up front (taking every lock the batch needs in one order, say).
BatchPreparer = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]
__all__ = ["BatchPreparer", "EventConsumer", "Handler", "RawMessage"]


async def apply_handler(handler: Handler, session: AsyncSession, event: Envelope) -> None:
    """Run a handler with the event's correlation id (logs) and recording time (waits for reference data) set."""
    token, when = correlation_id_var.set(event.correlationid), event_time_var.set(event.time)
    try:
        await handler(session, event)
    finally:
        correlation_id_var.reset(token)
        event_time_var.reset(when)


class EventConsumer:
    """Consumes catalogue topics for one service and applies its handlers exactly once per event id."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        name: str,
        topics: tuple[str, ...],
        handlers: Mapping[str, Handler],
        sessions: async_sessionmaker[AsyncSession],
        tables: InfraTables,
        health: HealthReporter,
        prepare: BatchPreparer | None = None,
    ) -> None:
        self.settings = settings
        self.prepare = prepare
        self.service = settings.service_name
        self.name = name
        self.topics = topics
        self.handlers = handlers
        self.sessions = sessions
        self.tables = tables
        self.health = health
        self.group_id = f"claimflow-{self.service}-{name}"
        self.letters = DeadLetterStore(tables, service=self.service, consumer=name, group_id=self.group_id)
        self._consumer: AIOKafkaConsumer | None = None
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until stopped."""
        self._stop = stop
        consumer = await self._start_consumer()
        self._consumer = consumer
        last_housekeeping = 0.0
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=300)
                raws = [
                    RawMessage(
                        message.topic,
                        message.partition,
                        message.offset,
                        (message.key or b"").decode(errors="replace"),
                        message.value or b"",
                    )
                    for messages in batches.values()
                    for message in messages
                ]
                size = max(self.settings.consumer_transaction_size, 1)
                for start in range(0, len(raws), size):
                    if not await self.handle_batch(raws[start : start + size]):
                        return
                if batches:
                    await self._commit(
                        consumer, {partition: messages[-1].offset + 1 for partition, messages in batches.items()}
                    )
                if time.monotonic() - last_housekeeping > 2:
                    last_housekeeping = time.monotonic()
                    try:
                        await self._operator_requests()
                        await self._report_lag(consumer)
                    except Exception as error:
                        if not is_transient(error):
                            raise
                        self.health.report(f"consumer:{self.name}", False)
                        log.warning("housekeeping postponed", consumer=self.name, error_type=type(error).__name__)
                if not batches:
                    self.health.report(f"consumer:{self.name}", True)
        finally:
            await consumer.stop()

    async def _start_consumer(self) -> AIOKafkaConsumer:
        """Start the Kafka consumer, retrying while the broker is unreachable or the group is loading."""
        backoff = 0.5
        while True:
            consumer = create_consumer(self.settings, group_id=self.group_id)
            consumer.subscribe(list(self.topics), listener=_CommitOnRevoke())
            try:
                await consumer.start()
                return consumer
            except KafkaError as error:
                self.health.report(f"consumer:{self.name}", False)
                log.warning("kafka not reachable, retrying", error_type=type(error).__name__)
                await consumer.stop()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        """Commit offsets after the database commit; a failed commit only means harmless redelivery."""
        try:
            await consumer.commit(offsets)
        except KafkaError as error:
            log.warning(
                "offset commit failed; messages will be redelivered and deduplicated",
                error_type=type(error).__name__,
            )

    async def handle_batch(self, raws: list[RawMessage]) -> bool:
        """Process a poll batch in one transaction; on any failure, process its messages one by one instead.

        The batch shares the transaction's fixed costs (begin, dead-letter check, inbox insert, commit). A failing
        message rolls the whole batch back, and the one-by-one path then retries transient failures, dead-letters
        the permanent one and parks its followers, exactly as if the batch had never been tried.
        """
        if len(raws) == 1:
            return await self.handle(raws[0])
        started = time.perf_counter()
        try:
            outcomes = await self._process_batch_once(raws)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.info(
                "batch failed; processing its messages one by one",
                consumer=self.name,
                size=len(raws),
                error_type=type(error).__name__,
            )
            for raw in raws:
                if not await self.handle(raw):
                    return False
            return True
        self.health.report(f"consumer:{self.name}", True)
        share = (time.perf_counter() - started) / len(raws)
        for event_type, outcome in outcomes:
            EVENTS_CONSUMED.labels(self.service, self.name, event_type, outcome).inc()
            HANDLER_LATENCY.labels(self.service, self.name, event_type).observe(share)
        return True

    async def _process_batch_once(self, raws: list[RawMessage]) -> list[tuple[str, str]]:
        """The batch in one transaction: park, deduplicate with one inbox insert, apply handlers in order."""
        outcomes: list[tuple[str, str]] = []
        async with self.sessions() as session, session.begin():
            await set_tenant(session, None)
            blocking = await self.letters.blocking(session, raws)
            pending: list[tuple[RawMessage, Envelope, Handler]] = []
            for raw in raws:
                event_type = peek_type(raw.value) or "unparseable"
                dead_letter_id = blocking.get((raw.topic, raw.key))
                if dead_letter_id is not None:
                    await self.letters.park(session, raw, dead_letter_id)
                    outcomes.append((event_type, "parked"))
                    continue
                try:
                    event = parse_event(raw.value)
                except UnknownEventType:
                    outcomes.append((event_type, "skipped_unknown_type"))
                    continue
                handler = self.handlers.get(event.type)
                if handler is None:
                    outcomes.append((event_type, "skipped_unhandled"))
                    continue
                pending.append((raw, event, handler))
            fresh: set[str] = set()
            if pending:
                fresh = set(
                    (
                        await session.scalars(
                            pg_insert(self.tables.inbox)
                            .values(
                                [
                                    {
                                        "consumer": self.name,
                                        "event_id": event.id,
                                        "topic": raw.topic,
                                        "kafka_partition": raw.partition,
                                        "kafka_offset": raw.offset,
                                    }
                                    for raw, event, _ in pending
                                ]
                            )
                            .on_conflict_do_nothing()
                            .returning(self.tables.inbox.c.event_id)
                        )
                    ).all()
                )
            if self.prepare is not None and fresh:
                await self.prepare(session, [event for _, event, _ in pending if event.id in fresh])
            tenant: uuid.UUID | None = None
            for _, event, handler in pending:
                if event.id not in fresh:
                    outcomes.append((event.type, "duplicate"))
                    continue
                fresh.discard(event.id)
                if event.organizationid != tenant:
                    await set_tenant(session, event.organizationid)
                    tenant = event.organizationid
                await apply_handler(handler, session, event)
                outcomes.append((event.type, "processed"))
            await run_deferred(session)
        return outcomes

    async def handle(self, raw: RawMessage, *, parked_id: int | None = None) -> bool:
        """Process one message, retrying transient failures; False only when asked to stop meanwhile."""
        event_type = peek_type(raw.value) or "unparseable"
        backoff = 0.2
        while True:
            started = time.perf_counter()
            try:
                outcome = await self._process_once(raw, parked_id=parked_id)
                self.health.report(f"consumer:{self.name}", True)
                EVENTS_CONSUMED.labels(self.service, self.name, event_type, outcome).inc()
                HANDLER_LATENCY.labels(self.service, self.name, event_type).observe(time.perf_counter() - started)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_transient(error):
                    self.health.report(f"consumer:{self.name}", False)
                    EVENTS_FAILED.labels(self.service, self.name, event_type, "transient").inc()
                    log.warning(
                        "transient failure, retrying",
                        consumer=self.name,
                        event_type=event_type,
                        error_type=type(error).__name__,
                        backoff=backoff,
                    )
                    if self._stop.is_set():
                        return False
                    await sleep_or_stop(self._stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                EVENTS_FAILED.labels(self.service, self.name, event_type, "permanent").inc()
                return await self._dead_letter_with_retry(raw, error, parked_id=parked_id)

    async def _process_once(self, raw: RawMessage, *, parked_id: int | None, replaying: int | None = None) -> str:
        """One attempt in one transaction: park behind a dead letter, deduplicate, apply the handler.

        A parked message leaves the parked table, and a replayed dead letter is marked replayed, in the same
        transaction that applies it, so a worker killed in between leaves both to be done again.
        """
        async with self.sessions() as session, session.begin():
            await set_tenant(session, None)
            if parked_id is not None:
                await self.letters.unpark(session, parked_id)
            elif replaying is not None:
                earlier = await self.letters.blocking_one(session, raw)
                if earlier is not None and earlier < replaying:
                    raise PermanentError("replayed message is still behind an earlier dead letter of its key")
                await self.letters.set_status(session, replaying, "replayed")
            else:
                blocking = await self.letters.blocking_one(session, raw)
                if blocking is not None:
                    await self.letters.park(session, raw, blocking)
                    return "parked"
            try:
                event = parse_event(raw.value)
            except UnknownEventType:
                return "skipped_unknown_type"
            handler = self.handlers.get(event.type)
            if handler is None:
                return "skipped_unhandled"
            await set_tenant(session, event.organizationid)
            inserted = await session.scalar(
                pg_insert(self.tables.inbox)
                .values(
                    consumer=self.name,
                    event_id=event.id,
                    topic=raw.topic,
                    kafka_partition=raw.partition,
                    kafka_offset=raw.offset,
                )
                .on_conflict_do_nothing()
                .returning(self.tables.inbox.c.event_id)
            )
            if inserted is None:
                return "duplicate"
            await apply_handler(handler, session, event)
            await run_deferred(session)
            return "processed"

    async def _dead_letter_with_retry(self, raw: RawMessage, error: BaseException, *, parked_id: int | None) -> bool:
        """Record a permanent failure and queue the message on the dead-letter topic (retrying transient errors)."""
        description = describe_error(error)
        log.error(
            "message dead-lettered",
            consumer=self.name,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            error=description,
        )
        backoff = 0.2
        while True:
            try:
                await self._dead_letter(raw, description, parked_id=parked_id)
                DEAD_LETTERS.labels(self.service, self.name, raw.topic).inc()
                return True
            except Exception as failure:
                if not is_transient(failure) or self._stop.is_set():
                    raise
                self.health.report(f"consumer:{self.name}", False)
                await sleep_or_stop(self._stop, backoff)
                backoff = min(backoff * 2, 5.0)

    async def _dead_letter(self, raw: RawMessage, description: str, *, parked_id: int | None) -> None:
        """One transaction: dead-letter row, outbox message to `<topic>.dlq`, and re-parking of followers."""
        async with self.sessions() as session, session.begin():
            await set_tenant(session, None)
            await self.letters.record(session, raw, description, parked_id=parked_id)

    async def _operator_requests(self) -> None:
        """Carry out replays and discards an operator requested, then release the messages parked behind them
        (and finish releases a restart cut short)."""
        async with self.sessions() as session:
            requests = await self.letters.requests(session)
        for request in requests:
            if request.replay:
                try:
                    await self._process_once(request.message, parked_id=None, replaying=request.dead_letter_id)
                except Exception as error:
                    if is_transient(error):
                        return
                    async with self.sessions() as session, session.begin():
                        await self.letters.set_status(
                            session, request.dead_letter_id, "open", error=describe_error(error)
                        )
                    continue
            else:
                async with self.sessions() as session, session.begin():
                    await self.letters.set_status(session, request.dead_letter_id, "discarded")
            await self._release_parked(request.dead_letter_id)
        async with self.sessions() as session:
            resumable = await self.letters.resumable(session)
        for dead_letter_id in resumable:
            await self._release_parked(dead_letter_id)

    async def _release_parked(self, dead_letter_id: int) -> None:
        """Process, in their original order, the messages that waited behind a resolved dead letter."""
        while True:
            async with self.sessions() as session:
                parked = await self.letters.next_parked(session, dead_letter_id)
            if parked is None:
                return
            parked_id, raw = parked
            if not await self.handle(raw, parked_id=parked_id):
                return

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Consumer lag per topic for the metrics endpoint."""
        lag: dict[str, int] = {}
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue
            try:
                position = await consumer.position(partition)
            except KafkaError:
                continue
            lag[partition.topic] = lag.get(partition.topic, 0) + max(highwater - position, 0)
        for topic, value in lag.items():
            CONSUMER_LAG.labels(self.service, self.name, topic).set(value)


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Offsets are committed after every processed batch, so nothing is pending at a rebalance."""

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions revoked", count=len(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned", count=len(assigned))
