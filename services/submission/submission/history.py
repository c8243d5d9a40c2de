"""The stored history a claim is scrubbed against, read in one query together with the claim already stored for
its charge (so a redelivered charge event is recognised before any scrubbing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.charge import ChargeFacts
from shared.events.encounter import CoverageSnapshot
from submission import scrub_input
from submission.models import authorization_usage, claims, visits


async def claim_history(
    session: AsyncSession, *, charge: ChargeFacts, claim_id: str | None
) -> scrub_input.ClaimHistory:
    """The stored counters a claim is scrubbed against: the patient's other visits with this payer, units of the
    authorization consumed by other claims, and whether the primary claim of the charge is adjudicated."""
    _, history = await claim_context(session, charge=charge, claim_id=claim_id)
    return history


async def claim_context(
    session: AsyncSession, *, charge: ChargeFacts, claim_id: str | None
) -> tuple[str | None, scrub_input.ClaimHistory]:
    """In one query: the claim already stored for the charge and its payer priority (None when there is none yet) and
    the claim history it is scrubbed against (see `claim_history`)."""
    coverage = charge.coverage
    if coverage is None:
        return None, scrub_input.ClaimHistory()
    rows = (await session.execute(_context_query(charge, coverage, claim_id))).all()
    prior = tuple(
        scrub_input.PriorVisit(
            claim_id=row.claim_id,
            charge_id=row.charge_id,
            date_of_service=row.date_of_service,
            provider_id=row.provider_id,
            procedure_codes=tuple(row.procedure_codes),
            billed=row.billed,
        )
        for row in rows
        if row.claim_id is not None and row.claim_id != claim_id
    )
    counters = rows[0]
    return counters.existing_claim_id, scrub_input.ClaimHistory(
        prior_visits=prior,
        authorization_units_consumed=int(counters.consumed),
        primary_adjudicated=bool(counters.primary_adjudicated),
    )


def _context_query(charge: ChargeFacts, coverage: CoverageSnapshot, claim_id: str | None) -> Select[Any]:
    """One row of counters (stored claim, authorization units consumed by other claims, primary adjudicated) joined
    to the patient's other visits with the payer in the history window: at least one row, visit columns null when
    there is no such visit."""
    existing = select(claims.c.claim_id).where(
        claims.c.charge_id == charge.charge_id, claims.c.payer_priority == coverage.priority
    )
    consumed: Any = literal(0)
    if charge.authorization is not None:
        consumed = (
            select(func.coalesce(func.sum(authorization_usage.c.units), 0))
            .where(
                authorization_usage.c.authorization_id == charge.authorization.authorization_id,
                authorization_usage.c.released_date.is_(None),
                authorization_usage.c.claim_id != (claim_id or ""),
            )
            .scalar_subquery()
        )
    primary_adjudicated: Any = false()
    if coverage.priority != "primary":
        primary_adjudicated = (
            select(claims.c.claim_id)
            .where(
                claims.c.charge_id == charge.charge_id,
                claims.c.payer_priority == "primary",
                claims.c.adjudicated_date.is_not(None),
            )
            .exists()
        )
    counters = select(
        existing.scalar_subquery().label("existing_claim_id"),
        consumed.label("consumed"),
        primary_adjudicated.label("primary_adjudicated"),
    ).subquery("counters")
    first, last = scrub_input.history_window(charge.date_of_service)
    history = and_(
        visits.c.patient_id == charge.patient.patient_id,
        visits.c.payer_id == coverage.payer_id,
        visits.c.voided.is_(False),
        visits.c.charge_id != charge.charge_id,
        visits.c.date_of_service.between(first, last),
    )
    return select(
        counters,
        visits.c.claim_id,
        visits.c.charge_id,
        visits.c.date_of_service,
        visits.c.provider_id,
        visits.c.procedure_codes,
        visits.c.billed,
    ).select_from(counters.outerjoin(visits, history))
