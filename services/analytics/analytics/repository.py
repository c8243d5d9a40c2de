"""All queries of the analytics service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.claims import ClaimSummary
from analytics.facts import FactRow, StoredFact, fact_values
from analytics.models import claim_index, facts, infra, organization_activity
from shared.events.envelope import Envelope

# Built once and executed with a row of parameters per fact: SQLAlchemy sends them as one multi-row INSERT
# (insertmanyvalues) from a form compiled once, where a statement with the rows as its values was built and
# compiled again for every batch.
_ADD_FACTS = pg_insert(facts).on_conflict_do_nothing().returning(facts.c.event_id)


async def add_facts(session: AsyncSession, items: list[tuple[Envelope, FactRow]]) -> set[str]:
    """Store events' facts once each (keyed by event id), in one statement; the ids of those that were new."""
    if not items:
        return set()
    inserted = await session.scalars(_ADD_FACTS, [fact_values(event, row) for event, row in items])
    return set(inserted.all())


async def touch_organization(session: AsyncSession, organization_id: uuid.UUID, business_date: date) -> None:
    """Record that an organization's facts changed, keeping its latest business date (once per transaction).

    A consumer applies a poll batch in one transaction; the organization's row is updated for the batch's first
    fact and again only when a later one carries a later business date.
    """
    touched: dict[uuid.UUID, date] = session.info.setdefault("touched_organizations", {})
    if organization_id in touched and touched[organization_id] >= business_date:
        return
    touched[organization_id] = business_date
    statement = pg_insert(organization_activity).values(
        organization_id=organization_id, latest_business_date=business_date, version=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id"],
            set_={
                "latest_business_date": func.greatest(
                    organization_activity.c.latest_business_date, statement.excluded.latest_business_date
                ),
                "version": organization_activity.c.version + 1,
                "changed_at": func.now(),
            },
        )
    )


async def latest_business_date(session: AsyncSession, organization_id: uuid.UUID) -> date | None:
    """The latest business date the organization's events carry."""
    return await session.scalar(
        select(organization_activity.c.latest_business_date).where(
            organization_activity.c.organization_id == organization_id
        )
    )


async def organization_versions(session: AsyncSession, most: int) -> dict[uuid.UUID, tuple[int, date]]:
    """The `most` organizations whose facts changed last: (change counter, latest business date)."""
    rows = (
        await session.execute(
            select(
                organization_activity.c.organization_id,
                organization_activity.c.version,
                organization_activity.c.latest_business_date,
            )
            .order_by(organization_activity.c.changed_at.desc(), organization_activity.c.organization_id)
            .limit(most)
        )
    ).all()
    return {row.organization_id: (row.version, row.latest_business_date) for row in rows}


async def organizations_with_facts(session: AsyncSession) -> int:
    """How many organizations have facts."""
    return int(await session.scalar(select(func.count()).select_from(organization_activity)) or 0)


# The columns a StoredFact is made of (a ledger reads nothing else).
STORED_FACT_COLUMNS = (
    facts.c.event_type,
    facts.c.fact_date,
    facts.c.claim_id,
    facts.c.charge_id,
    facts.c.practice_id,
    facts.c.attributes,
)


def _stored(row: Any) -> StoredFact:
    return StoredFact(row.event_type, row.fact_date, row.claim_id, row.charge_id, row.practice_id, row.attributes)


# Fact rows read per round trip when a ledger is built: a large organization's rows (about 1.6 KB each once read,
# mostly their attributes) are never all in memory at once, only the ledger records made of them.
FACT_BATCH = 5000


async def fact_batches(
    session: AsyncSession, as_of: date, size: int = FACT_BATCH
) -> AsyncGenerator[list[StoredFact], None]:
    """Facts of the session's organization dated on or before D, oldest first, `size` rows at a time from a
    server-side cursor (the session's transaction stays open meanwhile; the domain filters again per KPI).

    Read it within `contextlib.aclosing`, so a reader that stops early closes the cursor before its unit of work
    ends rather than whenever the generator is collected.
    """
    result = await session.stream(
        select(*STORED_FACT_COLUMNS)
        .where(facts.c.fact_date <= as_of)
        .order_by(facts.c.fact_date, facts.c.event_time, facts.c.event_id)
        .execution_options(yield_per=size)
    )
    try:
        async for rows in result.partitions(size):
            yield [_stored(row) for row in rows]
    finally:
        await result.close()


async def claim_timeline(session: AsyncSession, claim_id: str) -> list[Any]:
    """Facts of one claim and the charge events of its charge, in business-date order."""
    charge_ids = select(facts.c.charge_id).where(facts.c.claim_id == claim_id, facts.c.charge_id.is_not(None))
    rows = (
        await session.execute(
            select(facts)
            .where(
                or_(
                    facts.c.claim_id == claim_id,
                    and_(facts.c.claim_id.is_(None), facts.c.charge_id.in_(charge_ids)),
                )
            )
            .order_by(facts.c.fact_date, facts.c.event_time, facts.c.event_id)
        )
    ).all()
    return list(rows)


async def claims_facts(session: AsyncSession, claim_ids: list[str]) -> dict[str, list[StoredFact]]:
    """Every fact of each of the claims, in business-date order, by claim id (one query)."""
    rows = (
        await session.execute(
            select(facts)
            .where(facts.c.claim_id.in_(claim_ids))
            .order_by(facts.c.claim_id, facts.c.fact_date, facts.c.event_time)
        )
    ).all()
    by_claim: dict[str, list[StoredFact]] = {}
    for row in rows:
        by_claim.setdefault(row.claim_id, []).append(_stored(row))
    return by_claim


async def upsert_claim_summaries(
    session: AsyncSession, organization_id: uuid.UUID, summaries: list[ClaimSummary]
) -> None:
    """Store claims' searchable summaries, replacing the previous ones (one statement)."""
    if not summaries:
        return
    statement = pg_insert(claim_index).values([{"organization_id": organization_id, **s.row()} for s in summaries])
    columns = summaries[0].row().keys()
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "claim_id"],
            set_={column: statement.excluded[column] for column in columns},
        )
    )


async def search_claims(
    session: AsyncSession,
    *,
    practice_ids: list[uuid.UUID] | None,
    payer_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    status: str | None,
    date_from: date | None,
    date_to: date | None,
    after: tuple[date, str] | None,
    limit: int,
) -> list[Any]:
    """Claims of the session's organization matching the filters, by date of service then claim id (keyset)."""
    query = select(claim_index)
    if practice_ids is not None:
        query = query.where(claim_index.c.practice_id.in_(practice_ids))
    for column, value in (
        (claim_index.c.payer_id, payer_id),
        (claim_index.c.patient_id, patient_id),
        (claim_index.c.provider_id, provider_id),
        (claim_index.c.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    if date_from is not None:
        query = query.where(claim_index.c.date_of_service >= date_from)
    if date_to is not None:
        query = query.where(claim_index.c.date_of_service <= date_to)
    if after is not None:
        query = query.where(
            or_(
                claim_index.c.date_of_service > after[0],
                and_(claim_index.c.date_of_service == after[0], claim_index.c.claim_id > after[1]),
            )
        )
    query = query.order_by(claim_index.c.date_of_service, claim_index.c.claim_id).limit(limit)
    return list((await session.execute(query)).all())


async def payer_authorization_policies(session: AsyncSession) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each payer's profiles (effective date and authorization rule) from the reference replica."""
    table = infra.reference_entities
    rows = (
        await session.execute(
            select(table.c.entity_id, table.c.attributes).where(
                table.c.entity_type == "payer", table.c.deleted.is_(False)
            )
        )
    ).all()
    policies: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        profiles = row.attributes.get("profiles") or []
        try:
            payer_id = uuid.UUID(str(row.entity_id))
        except ValueError:
            continue
        policies[payer_id] = [
            {"effective_from": p["effective_from"], **(p.get("authorization") or {})} for p in profiles
        ]
    return policies


async def practice_names(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """The organization's practices (id, name) from the reference replica, by name."""
    table = infra.reference_entities
    rows = (
        await session.execute(
            select(table.c.entity_id, table.c.attributes).where(
                table.c.entity_type == "practice", table.c.deleted.is_(False)
            )
        )
    ).all()
    found = []
    for row in rows:
        try:
            found.append((uuid.UUID(str(row.entity_id)), str(row.attributes.get("name") or row.entity_id)))
        except ValueError:
            continue
    return sorted(found, key=lambda item: item[1])


async def api_key_active(session: AsyncSession, key_id: str) -> bool:
    """Whether an API key is known to the replica and not revoked."""
    table = infra.api_keys
    revoked = await session.scalar(select(table.c.revoked).where(table.c.key_id == key_id))
    return revoked is False
