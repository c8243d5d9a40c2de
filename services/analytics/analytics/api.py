"""Analytics HTTP endpoints: KPIs as of a business date, and a claim's timeline."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from analytics import service
from analytics.domain import DEFAULT_WINDOW_DAYS, Scope
from analytics.schemas import ClaimTimeline, KpiReport, KpiView, TimelineEntry
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["kpis"])
Reader = Annotated[Principal, Depends(require_scope("read"))]


def _practice_for(principal: Principal, practice_id: uuid.UUID | None) -> uuid.UUID | None:
    """The practice to slice by, checked against a key limited to some practices."""
    if practice_id is not None:
        if not principal.may_access_practice(practice_id):
            raise Problem(403, "Forbidden", "this API key is not allowed to read that practice")
        return practice_id
    if len(principal.practice_ids) == 1:
        return next(iter(principal.practice_ids))
    if principal.practice_ids:
        raise Problem(403, "Forbidden", "this API key is limited to some practices: pass practice_id")
    return None


@router.get(
    "/kpis",
    summary="KPIs as of a business date (DOMAIN.md section 6 definitions)",
    responses={404: {"description": "The organization has no events yet and no as_of was given"}},
)
async def get_kpis(
    request: Request,
    principal: Reader,
    as_of: Annotated[date | None, Query(description="Business date D; default: the latest one in the events")] = None,
    practice_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    payer_id: uuid.UUID | None = None,
    program: str | None = None,
    window_days: Annotated[int, Query(ge=1, le=366)] = DEFAULT_WINDOW_DAYS,
) -> KpiReport:
    """Clean claim rates, initial denial rate and days in A/R, each with numerator and denominator."""
    practice = _practice_for(principal, practice_id)
    scope = Scope(practice_id=practice, provider_id=provider_id, payer_id=payer_id, program=program)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        computed = await service.compute_kpis(
            session, organization_id=principal.organization_id, as_of=as_of, window_days=window_days, scope=scope
        )
    if computed is None:
        raise Problem(404, "Not Found", "no business events for this organization yet; pass as_of")
    day, values = computed
    return KpiReport(
        organization_id=principal.organization_id,
        as_of=day,
        window_days=window_days,
        practice_id=practice,
        provider_id=provider_id,
        payer_id=payer_id,
        program=program,
        kpis=[KpiView.model_validate(asdict(value)) for value in values],
    )


@router.get(
    "/claims/{claim_id}/timeline",
    summary="The events seen for a claim, in business-date order",
    responses={404: {"description": "No such claim in this organization"}},
)
async def get_claim_timeline(request: Request, claim_id: str, principal: Reader) -> ClaimTimeline:
    """A claim of the caller's organization with its charge, claim, acknowledgement and remittance events."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        entries = await service.claim_timeline(session, claim_id)
    practices = {e["practice_id"] for e in entries if e["practice_id"] is not None}
    if not entries or any(not principal.may_access_practice(p) for p in practices):
        raise Problem(404, "Not Found", f"claim {claim_id} not found")
    return ClaimTimeline(claim_id=claim_id, events=[TimelineEntry.model_validate(e) for e in entries])
