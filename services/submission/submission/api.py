"""Submission HTTP endpoints: claims, work queues with reasons and actions, corrections, voids and sweeps."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.idempotency import UseCase, respond_idempotently
from shared.openapi import link, links
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Page
from shared.problems import Problem
from submission import lists
from submission.corrections import correct_and_resubmit, void_claim
from submission.models import acknowledgements, claim_attempts, claims, idempotency_keys, work_items
from submission.queues import business_date, sweep
from submission.schemas import (
    AcknowledgementView,
    AttemptView,
    ClaimCorrectionRequest,
    ClaimStatusName,
    ClaimView,
    QueueName,
    SweepRequest,
    SweepResult,
    VoidRequest,
    WorkItemView,
)

router = APIRouter(prefix="/v1", tags=["claims"])
# Declared for the API description; shared.idempotency reads and checks the header itself.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry-safe key: the same key and body replay the first answer; another body is refused (422)",
    ),
]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Biller = Annotated[Principal, Depends(require_scope("claims:write"))]
ClaimId = Annotated[str, Path(min_length=1, max_length=20, description="The claim id (CLM01)")]
SUMMARY_COLUMNS = [column for column in claims.c if column.name not in ("charge", "organization_id")]

# Links from a list of claims to what a biller does with the first (oldest) one.
CLAIM_LINKS = {
    "GetClaim": link(
        "GET",
        "/v1/claims/{claim_id}",
        description="Read the first (oldest) claim of the page",
        parameters={"path.claim_id": "$response.body#/items/0/claim_id"},
    ),
    "CorrectClaim": link(
        "POST",
        "/v1/claims/{claim_id}/corrections",
        description="Correct and resubmit it",
        parameters={"path.claim_id": "$response.body#/items/0/claim_id"},
    ),
    "VoidClaim": link(
        "POST",
        "/v1/claims/{claim_id}/void",
        description="Void it",
        parameters={"path.claim_id": "$response.body#/items/0/claim_id"},
    ),
}


@router.get(
    "/claims/{claim_id}",
    summary="One claim with its attempts, scrub edits and acknowledgements",
    responses={404: {"description": "No such claim in this organization"}},
)
async def get_claim(request: Request, claim_id: ClaimId, principal: Reader) -> ClaimView:
    """A claim of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        return await _claim_view(session, claim_id, principal)


async def _claim_view(session: AsyncSession, claim_id: str, principal: Principal) -> ClaimView:
    """A claim with its attempts and acknowledgements, 404 outside the caller's organization or practices."""
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


@router.get(
    "/claims",
    summary="Claims, filtered (status, practice, payer, provider, patient, dates of service), oldest first, a page "
    "at a time",
    responses=links(200, **CLAIM_LINKS),
)
async def list_claims(
    request: Request,
    principal: Reader,
    filters: Annotated[lists.ClaimFilters, Depends()],
    status: Annotated[ClaimStatusName | None, Query(description="Only claims in this status (all when omitted)")] = (
        None
    ),
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ClaimView]:
    """Claims of the caller's organization (and practices) matching every filter given, by the business date they
    were created on, then claim id. Pass next_cursor back as `cursor` for the next page."""
    conditions = filters.conditions(principal)
    if status is not None:
        conditions.append(claims.c.status == status)
    query = lists.CLAIMS.apply(select(*SUMMARY_COLUMNS).where(*conditions), cursor=cursor, limit=limit)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await filters.refuse_unknown(session, principal)
        rows = (await session.execute(query)).all()
    page, next_cursor = lists.CLAIMS.page(rows, limit)
    return Page(items=[ClaimView.model_validate(row._mapping) for row in page], next_cursor=next_cursor)


@router.get(
    "/work-queues/{queue}",
    summary="Claims in a work queue with the reason and the action to take, filtered, oldest first, a page at a time",
)
async def list_work_queue(
    request: Request,
    principal: Reader,
    queue: Annotated[QueueName, Path(description="scrubber_hold, rejection, no_response, correction, ...")],
    filters: Annotated[lists.ClaimFilters, Depends()],
    opened: Annotated[lists.OpenedFilters, Depends()],
    status: Annotated[
        Literal["open", "resolved"],
        Query(description="open: items still to work (the default, as a queue is read); resolved: closed ones"),
    ] = "open",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[WorkItemView]:
    """Items of one queue whose claims match every filter given, by the business date they were opened on, then
    item id. Pass next_cursor back as `cursor` for the next page."""
    conditions = [
        work_items.c.queue == queue,
        work_items.c.status == status,
        *filters.conditions(principal),
        *opened.conditions(),
    ]
    query = select(
        work_items,
        claims.c.status.label("claim_status"),
        claims.c.payer_id,
        claims.c.date_of_service,
        claims.c.billed_amount,
        claims.c.practice_id,
    ).join(claims, claims.c.claim_id == work_items.c.claim_id)
    query = lists.WORK_ITEMS.apply(query.where(*conditions), cursor=cursor, limit=limit)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await filters.refuse_unknown(session, principal)
        rows = (await session.execute(query)).all()
    page, next_cursor = lists.WORK_ITEMS.page(rows, limit)
    return Page(items=[WorkItemView.model_validate(row._mapping) for row in page], next_cursor=next_cursor)


@router.post(
    "/claims/{claim_id}/corrections",
    status_code=202,
    response_model=ClaimView,
    summary="Correct a claim (fields and lines) and resubmit it; recorded as a manual touch",
    responses={
        404: {"description": "No such claim"},
        409: {"description": "The claim cannot be reworked now"},
        422: {"description": "Invalid correction, or an Idempotency-Key reused with another body"},
    },
)
async def correct_claim(
    request: Request, claim_id: ClaimId, body: ClaimCorrectionRequest, principal: Biller, key: IdempotencyKey = None
) -> JSONResponse:
    """Scrub the corrected claim and queue a new attempt: original (1) until the payer holds it, else
    replacement (7) with the payer's claim number; held again when an edit still fails."""

    async def use_case(session: AsyncSession) -> tuple[int, ClaimView]:
        await correct_and_resubmit(
            session,
            organization_id=principal.organization_id,
            claim_id=claim_id,
            changes=body.model_dump(exclude_none=True, mode="json"),
            today=request.app.state.clock.today(),
            practice_ids=principal.practice_ids or None,
        )
        return 202, await _claim_view(session, claim_id, principal)

    return await _respond(request, principal, use_case)


@router.post(
    "/claims/{claim_id}/void",
    status_code=202,
    response_model=ClaimView,
    summary="Void a claim: cancelled when not yet with the payer, else a frequency-8 attempt",
    responses={
        404: {"description": "No such claim"},
        409: {"description": "The claim is being sent"},
        422: {"description": "Invalid request, or an Idempotency-Key reused with another body"},
    },
)
async def void(
    request: Request, claim_id: ClaimId, body: VoidRequest, principal: Biller, key: IdempotencyKey = None
) -> JSONResponse:
    """Withdraw a claim; authorization units it consumed are given back."""

    async def use_case(session: AsyncSession) -> tuple[int, ClaimView]:
        await void_claim(
            session,
            organization_id=principal.organization_id,
            claim_id=claim_id,
            reason=body.reason,
            today=request.app.state.clock.today(),
            manual=True,
            practice_ids=principal.practice_ids or None,
        )
        return 202, await _claim_view(session, claim_id, principal)

    return await _respond(request, principal, use_case)


@router.post(
    "/work-queues/sweep",
    response_model=SweepResult,
    summary="Open the no-response and timely-filing-risk items due on a business date",
    responses={422: {"description": "Invalid date, or an Idempotency-Key reused with another body"}},
)
async def run_sweep(
    request: Request, body: SweepRequest, principal: Biller, key: IdempotencyKey = None
) -> JSONResponse:
    """Sweep the organization's unpaid claims as of a business date (its latest one by default)."""

    async def use_case(session: AsyncSession) -> tuple[int, SweepResult]:
        as_of = body.as_of or await business_date(session, request.app.state.clock.today())
        opened = await sweep(session, organization_id=principal.organization_id, as_of=as_of)
        return 200, SweepResult(as_of=as_of, opened=opened)

    return await _respond(request, principal, use_case)


async def _respond(request: Request, principal: Principal, use_case: UseCase) -> JSONResponse:
    """Run a POST's use case once per Idempotency-Key in one transaction (run again when PostgreSQL ends it for a
    deadlock or a serialization failure, as every service's POSTs are)."""
    return await respond_idempotently(request, principal.organization_id, use_case, idempotency_keys)
