"""Analytics use cases: record lifecycle facts, compute KPIs as of a business date, read a claim's timeline."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics import kpis, repository
from analytics.domain import DEFAULT_WINDOW_DAYS, KpiValue, Ledger, Scope
from analytics.facts import fact_of, ledger_of
from shared.events.envelope import Envelope


async def record_fact(session: AsyncSession, event: Envelope) -> None:
    """Keep a lifecycle event's KPI facts once; arrival order across topics does not matter."""
    if await repository.add_fact(session, event, fact_of(event)):
        await repository.touch_organization(session, event.organizationid, event.businessdate)


async def ledger_as_of(session: AsyncSession, as_of: date) -> Ledger:
    """The session organization's facts known by D."""
    return ledger_of(await repository.facts_until(session, as_of))


async def compute_kpis(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    as_of: date | None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    scope: Scope | None = None,
) -> tuple[date, list[KpiValue]] | None:
    """Every KPI of the organization as of D (default: its latest business date); None without any facts."""
    day = as_of or await repository.latest_business_date(session, organization_id)
    if day is None:
        return None
    ledger = await ledger_as_of(session, day)
    return day, kpis.all_kpis(ledger, as_of=day, window_days=window_days, scope=scope)


async def claim_timeline(session: AsyncSession, claim_id: str) -> list[dict[str, Any]]:
    """The events seen for a claim (and its charge), in business-date order; empty when unknown."""
    rows = await repository.claim_timeline(session, claim_id)
    return [
        {
            "event_id": row.event_id,
            "event_type": row.event_type,
            "business_date": row.fact_date,
            "practice_id": row.practice_id,
            "charge_id": row.charge_id,
            "facts": row.attributes,
        }
        for row in rows
    ]
