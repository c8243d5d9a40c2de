"""Replay: rebuild the read model from the beginning of the lifecycle topics into analytics_rebuild, then swap.

The rebuild runs as the migration role (it creates tables). Facts are keyed by event id, so the result does not
depend on the order topics are read in. The swap is one transaction: it locks the live tables (the worker waits),
carries over facts the live worker stored after the snapshot of end offsets was taken, moves the live tables to
analytics_rebuild as *_previous and the rebuilt ones into analytics, and bumps every organization's version so the
gauges recompute.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from analytics.claims import summarize
from analytics.config import AnalyticsSettings
from analytics.facts import EXTRACTORS, StoredFact, fact_of, fact_values
from analytics.worker import LIFECYCLE_TOPICS
from shared.db import create_engine, tenant_rls_sql
from shared.events.catalogue import UnknownEventType, parse_event
from shared.heap import collector_paced
from shared.kafka import create_admin, create_consumer

log = structlog.get_logger()

LIVE = "analytics"
REBUILD = "analytics_rebuild"
BATCH = 5000
Progress = Callable[[str], None]


@dataclass
class RebuildResult:
    """What a rebuild read and stored."""

    events_read: int = 0
    facts_stored: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claims_indexed: int = 0
    carried_over: int = 0
    carried_organizations: set[uuid.UUID] = field(default_factory=set)
    swapped: bool = False
    organizations: set[uuid.UUID] = field(default_factory=set)


FACT_COLUMNS = (
    "organization_id",
    "event_id",
    "event_type",
    "business_date",
    "fact_date",
    "practice_id",
    "claim_id",
    "charge_id",
    "attributes",
    "event_time",
)
INDEX_COLUMNS = (
    "organization_id",
    "claim_id",
    "charge_id",
    "practice_id",
    "provider_id",
    "payer_id",
    "patient_id",
    "program",
    "payer_priority",
    "date_of_service",
    "billed",
    "status",
    "status_date",
    "first_submitted_date",
)
# Bulk statements over the whole history (the de-duplicating insert, the index builds) run far longer than a
# request's statement timeout.
BULK_TIMEOUT = 3600.0


def _ddl(token: str) -> list[str]:
    """Fresh, unindexed fact and claim-index tables in the rebuild schema (and no loading table an earlier version
    of the rebuild left).

    Indexes and keys come after the load (`_index_ddl`): building them once is several times cheaper than keeping
    them up to date row by row. Index names carry a token so the live and rebuilt schemas never clash.
    """
    return [
        f"DROP TABLE IF EXISTS {REBUILD}.facts",
        f"DROP TABLE IF EXISTS {REBUILD}.facts_loaded",
        f"DROP TABLE IF EXISTS {REBUILD}.claim_index",
        f"""CREATE TABLE {REBUILD}.facts (
            organization_id uuid NOT NULL,
            event_id text NOT NULL,
            event_type text NOT NULL,
            business_date date NOT NULL,
            fact_date date NOT NULL,
            practice_id uuid,
            claim_id text,
            charge_id text,
            attributes jsonb NOT NULL,
            event_time timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
        )""",
        f"""CREATE TABLE {REBUILD}.claim_index (
            organization_id uuid NOT NULL,
            claim_id text NOT NULL,
            charge_id text NOT NULL,
            practice_id uuid,
            provider_id uuid,
            payer_id uuid,
            patient_id uuid,
            program text NOT NULL,
            payer_priority text NOT NULL,
            date_of_service date NOT NULL,
            billed numeric(12, 2) NOT NULL,
            status text NOT NULL,
            status_date date NOT NULL,
            first_submitted_date date
        )""",
    ]


# The facts table is loaded with what the topics hold, redelivered copies of an event included; this keeps the
# first copy of each. Copies are rare (a relay that crashed between publishing and marking its outbox row), so the
# rows are grouped by their key alone instead of sorting every row with its attributes.
DROP_REDELIVERED = f"""
DELETE FROM {REBUILD}.facts f USING (
    SELECT ctid, row_number() OVER (PARTITION BY organization_id, event_id ORDER BY recorded_at) AS copy
    FROM {REBUILD}.facts
    WHERE (organization_id, event_id) IN (
        SELECT organization_id, event_id FROM {REBUILD}.facts GROUP BY organization_id, event_id HAVING count(*) > 1
    )
) redelivered
WHERE f.ctid = redelivered.ctid AND redelivered.copy > 1
"""


def _fact_ddl(token: str) -> list[str]:
    """After the facts are kept: the facts table gets its key and indexes."""
    return [
        f"ALTER TABLE {REBUILD}.facts ADD CONSTRAINT facts_pkey_{token} PRIMARY KEY (organization_id, event_id)",
        f"CREATE INDEX facts_claim_{token} ON {REBUILD}.facts (organization_id, claim_id)",
        f"CREATE INDEX facts_charge_{token} ON {REBUILD}.facts (organization_id, charge_id)",
        f"CREATE INDEX facts_date_{token} ON {REBUILD}.facts (organization_id, fact_date)",
    ]


def _index_ddl(token: str) -> list[str]:
    """The claim index's key and indexes, built after its rows are in."""
    return [
        f"ALTER TABLE {REBUILD}.claim_index ADD CONSTRAINT claim_index_pkey_{token} "
        "PRIMARY KEY (organization_id, claim_id)",
        f"CREATE INDEX claim_index_date_{token} ON {REBUILD}.claim_index (organization_id, date_of_service, claim_id)",
        f"CREATE INDEX claim_index_patient_{token} ON {REBUILD}.claim_index (organization_id, patient_id)",
    ]


async def _driver(connection: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy one, for COPY and statements without the statement timeout."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def lifecycle_partitions(settings: AnalyticsSettings) -> list[TopicPartition]:
    """Every partition of the lifecycle topics, as the broker describes them."""
    admin = create_admin(settings)
    await admin.start()
    try:
        described = await admin.describe_topics(list(LIFECYCLE_TOPICS))
    finally:
        await admin.close()
    return [TopicPartition(topic["topic"], p["partition"]) for topic in described for p in topic["partitions"]]


async def _read_topics(settings: AnalyticsSettings, store: Callable[[list[Any]], Any], result: RebuildResult) -> None:
    """Read every lifecycle topic from its beginning to the end offsets seen at the start."""
    # Partitions are assigned by hand and offsets never committed: the group id only names the reader.
    consumer = create_consumer(settings, group_id=f"analytics-rebuild-{secrets.token_hex(4)}")
    partitions = await lifecycle_partitions(settings)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                events = []
                for message in messages:
                    if message.offset >= ends[tp]:
                        continue
                    result.events_read += 1
                    try:
                        event = parse_event(message.value or b"")
                    except UnknownEventType:
                        result.skipped["unknown_type"] += 1
                        continue
                    except ValueError:
                        result.skipped["unparseable"] += 1
                        continue
                    if event.type in EXTRACTORS:
                        events.append(event)
                    else:
                        result.skipped[event.type] += 1
                if events:
                    await store(events)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def _swap(connection: AsyncConnection, token: str, result: RebuildResult) -> None:
    """Carry over late facts, move the live tables out and the rebuilt ones in, refresh organization activity."""
    await connection.execute(text(f"LOCK TABLE {LIVE}.facts, {LIVE}.claim_index IN ACCESS EXCLUSIVE MODE"))
    for table in ("facts", "claim_index"):
        await connection.execute(text(f"ALTER TABLE {LIVE}.{table} NO FORCE ROW LEVEL SECURITY"))
    carried = await connection.execute(
        text(
            f"INSERT INTO {REBUILD}.facts SELECT * FROM {LIVE}.facts live WHERE NOT EXISTS (SELECT 1 FROM "
            f"{REBUILD}.facts r WHERE r.organization_id = live.organization_id AND r.event_id = live.event_id) "
            "RETURNING organization_id, claim_id"
        )
    )
    late = [(row.organization_id, row.claim_id) for row in carried]
    result.carried_over = len(late)
    result.carried_organizations = {organization_id for organization_id, _ in late}
    late_claims = {(o, c) for o, c in late if c is not None}
    for organization_id, claim_id in late_claims:
        await connection.execute(
            text(
                f"INSERT INTO {REBUILD}.claim_index SELECT * FROM {LIVE}.claim_index WHERE organization_id = :o "
                "AND claim_id = :c ON CONFLICT (organization_id, claim_id) DO NOTHING"
            ),
            {"o": organization_id, "c": claim_id},
        )
    for table in ("facts", "claim_index"):
        await connection.execute(text(f"DROP TABLE IF EXISTS {REBUILD}.{table}_previous"))
        await connection.execute(text(f"ALTER TABLE {LIVE}.{table} RENAME TO {table}_previous"))
        await connection.execute(text(f"ALTER TABLE {LIVE}.{table}_previous SET SCHEMA {REBUILD}"))
        await connection.execute(text(f"ALTER TABLE {REBUILD}.{table} SET SCHEMA {LIVE}"))
        for statement in tenant_rls_sql(LIVE, table):
            await connection.execute(text(statement))
    await connection.execute(
        text(
            f"INSERT INTO {LIVE}.organization_activity (organization_id, latest_business_date, version) "
            f"SELECT organization_id, max(business_date), 1 FROM {LIVE}.facts GROUP BY organization_id "
            "ON CONFLICT (organization_id) DO UPDATE SET latest_business_date = excluded.latest_business_date, "
            f"version = {LIVE}.organization_activity.version + 1"
        )
    )
    result.swapped = True


async def _index_claims(engine: AsyncEngine, copier: Any) -> int:
    """Summarize every claim from its rebuilt facts, one claim at a time, into the rebuilt claim index."""
    indexed = 0
    pending: list[tuple[Any, ...]] = []

    async def flush() -> None:
        nonlocal indexed
        await copier.copy_records_to_table(
            "claim_index", schema_name=REBUILD, columns=INDEX_COLUMNS, records=pending, timeout=BULK_TIMEOUT
        )
        indexed += len(pending)
        pending.clear()

    def summarized(organization_id: uuid.UUID, claim_facts: list[StoredFact]) -> None:
        summary = summarize(claim_facts)
        if summary is not None:
            values = {"organization_id": organization_id, **summary.row()}
            pending.append(tuple(values[column] for column in INDEX_COLUMNS))

    # Straight from the driver: through SQLAlchemy's result rows this phase took twice as long.
    async with engine.connect() as reader:
        driver = await _driver(reader)
        current: tuple[uuid.UUID, str] | None = None
        claim_facts: list[StoredFact] = []
        async with driver.transaction():
            rows = driver.cursor(
                f"SELECT organization_id, claim_id, event_type, fact_date, charge_id, practice_id, attributes "
                f"FROM {REBUILD}.facts WHERE claim_id IS NOT NULL "
                "ORDER BY organization_id, claim_id, fact_date, event_time",
                prefetch=BATCH,
            )
            async for organization_id, claim_id, event_type, fact_date, charge_id, practice_id, attributes in rows:
                key = (organization_id, claim_id)
                if key != current:
                    if current is not None:
                        summarized(current[0], claim_facts)
                    current, claim_facts = key, []
                    if len(pending) >= BATCH:
                        await flush()
                claim_facts.append(StoredFact(event_type, fact_date, claim_id, charge_id, practice_id, attributes))
        if current is not None:
            summarized(current[0], claim_facts)
        if pending:
            await flush()
    return indexed


async def rebuild(
    settings: AnalyticsSettings | None = None, *, swap: bool = True, progress: Progress | None = None
) -> RebuildResult:
    """Rebuild the read model from the topics into analytics_rebuild, then (by default) swap it live.

    The collector is paced for the job (`collector_paced`): a replay builds an event model, a fact and a record
    for each of millions of events, and on CPython's schedule half its parsing time was the collector's.
    """
    with collector_paced():
        return await _rebuild(settings or AnalyticsSettings(), swap=swap, progress=progress)


async def _rebuild(settings: AnalyticsSettings, *, swap: bool, progress: Progress | None) -> RebuildResult:
    say = progress or (lambda _: None)
    result = RebuildResult()
    token = secrets.token_hex(4)
    engine = create_engine(settings, owner=True, pool_size=3, process="rebuild")
    guard = await engine.connect()
    loader = await engine.connect()
    try:
        # One rebuild at a time: a second one waits here instead of dropping the first one's tables.
        await guard.execute(text("SELECT pg_advisory_lock(hashtext('claimflow-analytics-rebuild'))"))
        await guard.commit()
        async with engine.begin() as connection:
            for statement in _ddl(token):
                await connection.execute(text(statement))
        say(f"reading {', '.join(LIFECYCLE_TOPICS)} from the beginning")
        # Each COPY commits on its own: the rebuild tables are not live until the swap, and a failed rebuild
        # starts over from fresh tables.
        copier = await _driver(loader)

        pending: list[tuple[Any, ...]] = []
        in_flight: asyncio.Task[Any] | None = None

        async def copy_pending() -> None:
            # One COPY in flight on the loader while the next events are parsed: PostgreSQL stores a batch on the
            # other core instead of the reader waiting for it.
            nonlocal in_flight, pending
            if in_flight is not None:
                await in_flight
                in_flight = None
            if pending:
                records, pending = pending, []
                result.facts_stored += len(records)
                in_flight = asyncio.create_task(
                    copier.copy_records_to_table(
                        "facts", schema_name=REBUILD, columns=FACT_COLUMNS, records=records, timeout=BULK_TIMEOUT
                    )
                )

        async def store(events: list[Any]) -> None:
            for event in events:
                row = fact_of(event)
                result.organizations.add(event.organizationid)
                values = fact_values(event, row)
                values["attributes"] = orjson.dumps(values["attributes"]).decode()
                pending.append(tuple(values[column] for column in FACT_COLUMNS))
            if len(pending) >= BATCH:
                await copy_pending()
            if result.events_read % 5000 < len(events):
                say(f"{result.events_read} events read")

        try:
            await _read_topics(settings, store, result)
            await copy_pending()
            await copy_pending()
        finally:
            if in_flight is not None:  # still running, or failed while the reader was failing too
                in_flight.cancel()
                await asyncio.gather(in_flight, return_exceptions=True)
        say(f"{result.events_read} events read; keeping one fact per event and indexing facts")
        async with copier.transaction():
            dropped = await copier.execute(DROP_REDELIVERED, timeout=BULK_TIMEOUT)
            result.facts_stored -= int(dropped.rsplit(" ", 1)[-1])
            for statement in _fact_ddl(token):
                await copier.execute(statement, timeout=BULK_TIMEOUT)
        say(f"{result.facts_stored} facts stored; indexing claims")
        result.claims_indexed = await _index_claims(engine, copier)
        async with copier.transaction():
            for statement in _index_ddl(token):
                await copier.execute(statement, timeout=BULK_TIMEOUT)
        if swap:
            async with engine.begin() as connection:
                await _swap(connection, token, result)
            say(f"swapped: the rebuilt read model is live ({result.carried_over} facts carried over from the live one)")
    finally:
        await loader.close()
        await guard.close()
        await engine.dispose()
    log.info(
        "read model rebuilt",
        events_read=result.events_read,
        facts_stored=result.facts_stored,
        claims_indexed=result.claims_indexed,
        carried_over=result.carried_over,
        swapped=result.swapped,
    )
    return result
