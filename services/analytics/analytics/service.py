"""Analytics use cases: record lifecycle facts, compute KPIs as of a business date, timelines and claim search."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics import repository
from analytics.claims import summarize
from analytics.domain import DEFAULT_WINDOW_DAYS, KpiValue, Scope
from analytics.facts import FactRow, extend_ledger, fact_of
from analytics.ledger import AuthorizationPolicy, Ledger
from analytics.report import all_kpis
from shared.db import defer_until_commit, set_tenant
from shared.events.envelope import Envelope

_PENDING_FACTS = "analytics.pending-facts"
_CLAIMS_TO_SUMMARIZE = "analytics.claims-to-summarize"


async def record_fact(session: AsyncSession, event: Envelope) -> None:
    """Keep a lifecycle event's KPI facts once; arrival order across topics does not matter.

    The facts of a unit of work (a consumer's batch) are stored together before it commits; the organizations'
    activity and the searchable summaries of the claims they touched are then refreshed once.
    """
    pending: list[tuple[Envelope, FactRow]] = session.info.setdefault(_PENDING_FACTS, [])
    pending.append((event, fact_of(event)))
    defer_until_commit(session, _PENDING_FACTS, store_pending_facts)


async def store_pending_facts(session: AsyncSession) -> None:
    """Store the unit of work's facts, one statement per organization, and note what the new ones changed."""
    pending: list[tuple[Envelope, FactRow]] = session.info.pop(_PENDING_FACTS, [])
    by_organization: dict[uuid.UUID, list[tuple[Envelope, FactRow]]] = {}
    for event, row in pending:
        by_organization.setdefault(event.organizationid, []).append((event, row))
    claims: dict[uuid.UUID, set[str]] = session.info.setdefault(_CLAIMS_TO_SUMMARIZE, {})
    for organization_id, items in by_organization.items():
        await set_tenant(session, organization_id)
        new = await repository.add_facts(session, items)
        stored = [(event, row) for event, row in items if event.id in new]
        if not stored:
            continue
        latest = max(event.businessdate for event, _ in stored)
        await repository.touch_organization(session, organization_id, latest)
        touched = {row.claim_id for _, row in stored if row.claim_id is not None}
        if touched:
            claims.setdefault(organization_id, set()).update(touched)
            defer_until_commit(session, _CLAIMS_TO_SUMMARIZE, refresh_claim_summaries)


async def refresh_claim_summaries(session: AsyncSession) -> None:
    """Re-derive the searchable summary of every claim touched in this unit of work from all of its facts."""
    claims: dict[uuid.UUID, set[str]] = session.info.pop(_CLAIMS_TO_SUMMARIZE, {})
    for organization_id, claim_ids in claims.items():
        await set_tenant(session, organization_id)
        facts_by_claim = await repository.claims_facts(session, sorted(claim_ids))
        summaries = [summary for facts in facts_by_claim.values() if (summary := summarize(facts)) is not None]
        await repository.upsert_claim_summaries(session, organization_id, summaries)


def authorization_policies(raw: dict[uuid.UUID, list[dict[str, Any]]]) -> dict[uuid.UUID, list[AuthorizationPolicy]]:
    """Payer authorization rules from the reference replica's payer profiles."""
    return {
        payer_id: [
            AuthorizationPolicy(
                effective_from=date.fromisoformat(p["effective_from"]),
                mode=p.get("mode", "none"),
                codes=tuple(p.get("codes") or ()),
                unmanaged_visits=p.get("unmanaged_visits"),
            )
            for p in profiles
        ]
        for payer_id, profiles in raw.items()
    }


async def ledger_as_of(session: AsyncSession, as_of: date, *, off_loop: bool = False) -> Ledger:
    """The session organization's facts known by D, with its payers' authorization rules.

    `off_loop`: each batch of rows is added in a worker thread (rows are still read on the event loop), so
    consumers sharing the process keep going while a large organization's ledger is built.
    """
    ledger = Ledger()
    async with contextlib.aclosing(repository.fact_batches(session, as_of)) as batches:
        async for batch in batches:
            if off_loop:
                await asyncio.to_thread(extend_ledger, ledger, batch)
            else:
                extend_ledger(ledger, batch)
    ledger.authorization_policies = authorization_policies(await repository.payer_authorization_policies(session))
    return ledger


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
    return day, all_kpis(ledger, as_of=day, window_days=window_days, scope=scope)


async def claim_timeline(session: AsyncSession, claim_id: str) -> list[dict[str, Any]]:
    """The events seen for a claim (and its charge and encounter), in business-date order; empty when unknown."""
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
