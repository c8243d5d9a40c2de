"""Replay: rebuild the read model from the beginning of the lifecycle topics into analytics_rebuild, then swap.

The rebuild runs as the migration role (it creates tables). Facts are keyed by event id, so the result does not
depend on the order topics are read in. The swap is one transaction: it locks the live tables (the worker waits),
carries over facts the live worker stored after the snapshot of end offsets was taken, moves the live tables to
analytics_rebuild as *_previous and the rebuilt ones into analytics, and bumps every organization's version so the
gauges recompute.
"""

from __future__ import annotations

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
    """Fresh, unindexed fact and claim-index tables in the rebuild schema, and the unlogged table events load into.

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
        # What the topics hold, redelivered copies of an event included; facts keeps one row per event.
        f"CREATE UNLOGGED TABLE {REBUILD}.facts_loaded (LIKE {REBUILD}.facts INCLUDING DEFAULTS)",
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


# One fact per event out of what was loaded.
KEEP_ONE_FACT = (
    f"INSERT INTO {REBUILD}.facts SELECT DISTINCT ON (organization_id, event_id) * FROM {REBUILD}.facts_loaded "
    "ORDER BY organization_id, event_id, recorded_at"
)


def _fact_ddl(token: str) -> list[str]:
    """After the facts are kept: the loaded table goes, the facts table gets its key and indexes."""
    return [
        f"DROP TABLE {REBUILD}.facts_loaded",
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

    async with engine.connect() as reader:
        rows = await reader.stream(
            text(
                f"SELECT organization_id, event_type, fact_date, claim_id, charge_id, practice_id, attributes "
                f"FROM {REBUILD}.facts WHERE claim_id IS NOT NULL "
                "ORDER BY organization_id, claim_id, fact_date, event_time"
            ).execution_options(yield_per=BATCH)
        )
        current: tuple[uuid.UUID, str] | None = None
        claim_facts: list[StoredFact] = []
        async for row in rows:
            key = (row.organization_id, row.claim_id)
            if key != current:
                if current is not None:
                    summarized(current[0], claim_facts)
                current, claim_facts = key, []
                if len(pending) >= BATCH:
                    await flush()
            claim_facts.append(
                StoredFact(row.event_type, row.fact_date, row.claim_id, row.charge_id, row.practice_id, row.attributes)
            )
        if current is not None:
            summarized(current[0], claim_facts)
        if pending:
            await flush()
    return indexed


async def rebuild(
    settings: AnalyticsSettings | None = None, *, swap: bool = True, progress: Progress | None = None
) -> RebuildResult:
    """Rebuild the read model from the topics into analytics_rebuild, then (by default) swap it live."""
    settings = settings or AnalyticsSettings()
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

        async def store(events: list[Any]) -> None:
            records = []
            for event in events:
                row = fact_of(event)
                result.organizations.add(event.organizationid)
                values = fact_values(event, row)
                values["attributes"] = orjson.dumps(values["attributes"]).decode()
                records.append(tuple(values[column] for column in FACT_COLUMNS))
            await copier.copy_records_to_table(
                "facts_loaded", schema_name=REBUILD, columns=FACT_COLUMNS, records=records, timeout=BULK_TIMEOUT
            )
            if result.events_read % 5000 < len(events):
                say(f"{result.events_read} events read")

        await _read_topics(settings, store, result)
        say(f"{result.events_read} events read; keeping one fact per event and indexing facts")
        async with copier.transaction():
            inserted = await copier.execute(KEEP_ONE_FACT, timeout=BULK_TIMEOUT)
            result.facts_stored = int(inserted.rsplit(" ", 1)[-1])
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
