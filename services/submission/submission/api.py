"""Submission HTTP endpoints: read claims and the work queues (held, rejected, queued, sent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.problems import Problem
from submission.models import acknowledgements, claim_attempts, claims
from submission.schemas import AcknowledgementView, AttemptView, ClaimStatusName, ClaimView

router = APIRouter(prefix="/v1", tags=["claims"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
SUMMARY_COLUMNS = [column for column in claims.c if column.name not in ("charge", "organization_id")]


@router.get(
    "/claims/{claim_id}",
    summary="One claim with its attempts, scrub edits and acknowledgements",
    responses={404: {"description": "No such claim in this organization"}},
)
async def get_claim(request: Request, claim_id: str, principal: Reader) -> ClaimView:
    """A claim of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        row = (await session.execute(select(*SUMMARY_COLUMNS).where(claims.c.claim_id == claim_id))).first()
        if row is None or not principal.may_access_practice(row.practice_id):
            raise Problem(404, "Not Found", f"claim {claim_id} not found")
        attempts = (
            await session.execute(
                select(claim_attempts)
                .where(claim_attempts.c.claim_id == claim_id)
                .order_by(claim_attempts.c.attempt_number)
            )
        ).all()
        acks = (
            await session.execute(
                select(acknowledgements).where(acknowledgements.c.claim_id == claim_id).order_by(acknowledgements.c.id)
            )
        ).all()
    view = ClaimView.model_validate(row._mapping)
    view.attempts = [AttemptView.model_validate(a._mapping) for a in attempts]
    view.acknowledgements = [AcknowledgementView.model_validate(a._mapping) for a in acks]
    return view


@router.get("/claims", summary="Claims in a work queue (held, rejected, queued, sent), oldest first, with reasons")
async def list_claims(
    request: Request,
    principal: Reader,
    status: Annotated[ClaimStatusName, Query(description="Work queue to list")] = "held",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClaimView]:
    """Claims of the caller's organization in one status, oldest first."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        rows = (
            await session.execute(
                select(*SUMMARY_COLUMNS)
                .where(claims.c.status == status)
                .order_by(claims.c.created_date, claims.c.claim_id)
                .limit(limit)
            )
        ).all()
    return [ClaimView.model_validate(row._mapping) for row in rows if principal.may_access_practice(row.practice_id)]
