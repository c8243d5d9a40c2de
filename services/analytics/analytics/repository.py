"""All queries of the analytics service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.facts import FactRow, StoredFact
from analytics.models import facts, organization_activity
from shared.events.envelope import Envelope


async def add_fact(session: AsyncSession, event: Envelope, row: FactRow) -> bool:
    """Store one event's fact once (keyed by event id); True when it was new."""
    inserted = await session.scalar(
        pg_insert(facts)
        .values(
            organization_id=event.organizationid,
            event_id=event.id,
            event_type=row.event_type,
            business_date=event.businessdate,
            fact_date=row.fact_date,
            practice_id=row.practice_id,
            claim_id=row.claim_id,
            charge_id=row.charge_id,
            attributes=row.attributes,
            event_time=event.time,
        )
        .on_conflict_do_nothing()
        .returning(facts.c.event_id)
    )
    return inserted is not None


async def touch_organization(session: AsyncSession, organization_id: uuid.UUID, business_date: date) -> None:
    """Record that an organization's facts changed, keeping its latest business date."""
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


async def organization_versions(session: AsyncSession) -> dict[uuid.UUID, tuple[int, date]]:
    """Every organization with facts: (change counter, latest business date)."""
    rows = (
        await session.execute(
            select(
                organization_activity.c.organization_id,
                organization_activity.c.version,
                organization_activity.c.latest_business_date,
            )
        )
    ).all()
    return {row.organization_id: (row.version, row.latest_business_date) for row in rows}


def _stored(row: Any) -> StoredFact:
    return StoredFact(row.event_type, row.fact_date, row.claim_id, row.charge_id, row.practice_id, row.attributes)


async def facts_until(session: AsyncSession, as_of: date) -> list[StoredFact]:
    """Facts of the session's organization dated on or before D (the domain filters again per KPI)."""
    rows = (
        await session.execute(
            select(facts).where(facts.c.fact_date <= as_of).order_by(facts.c.fact_date, facts.c.event_time)
        )
    ).all()
    return [_stored(row) for row in rows]


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
