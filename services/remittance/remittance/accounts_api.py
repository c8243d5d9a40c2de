"""Remittance HTTP endpoints for money after the 835: patient payments, write-offs, balances, underpayments."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import accounts, denial_work
from remittance.models import denials, infra, underpayments
from remittance.schemas import (
    ClaimBalanceView,
    PatientPaymentRequest,
    PatientPaymentView,
    UnderpaymentView,
    WriteOffRequest,
    WriteOffView,
)
from remittance.web import INVALID, NOT_FOUND, Reader, Writer, ensure_practice_access, respond_idempotently
from shared.dates import CalendarDate
from shared.db import unit_of_work
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Order, Page, visible_practices
from shared.problems import Problem
from shared.replica import refuse_unknown_references

router = APIRouter(prefix="/v1", tags=["accounts"])


def _invalid(field: str, reason: str) -> Problem:
    return Problem(
        422,
        "Request is invalid",
        f"{field}: {reason}",
        errors=[{"field": field, "pointer": f"/{field}", "reason": reason}],
        problem_type="urn:claimflow:problem:validation",
    )


@router.post(
    "/patient-payments",
    status_code=201,
    summary="Post a patient payment (copay collected, statement paid)",
    response_model=PatientPaymentView,
    responses={**NOT_FOUND, **INVALID},
)
async def post_patient_payment(request: Request, body: PatientPaymentRequest, principal: Writer) -> JSONResponse:
    """Take a payment off the claim's patient balance; emits patient-payment.posted."""
    posted_date = body.posted_date or request.app.state.clock.today()

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        claim = await accounts.locked_claim(session, body.claim_id, field="claim_id")
        ensure_practice_access(principal, claim.practice_id, f"claim {body.claim_id}")
        result = await accounts.post_patient_payment(
            session,
            organization_id=principal.organization_id,
            claim_id=body.claim_id,
            amount=body.amount,
            method=body.method,
            reference=body.reference,
            posted_date=posted_date,
            causation_id=f"patient-payment:{principal.key_id}",
        )
        return 201, PatientPaymentView.model_validate(result)

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/write-offs",
    status_code=201,
    summary="Write off a balance (small balance, bad debt, denial, timely filing)",
    response_model=WriteOffView,
    responses={**NOT_FOUND, **INVALID},
)
async def post_write_off(request: Request, body: WriteOffRequest, principal: Writer) -> JSONResponse:
    """Take an amount off the payer or patient balance; emits balance.written-off (a denial is resolved too)."""
    if body.reason == "bad_debt" and body.balance != "patient":
        raise _invalid("balance", "bad debt is written off the patient balance only")
    if body.reason == "denial" and body.denial_id is None:
        raise _invalid("denial_id", "is required when the reason is denial")
    if body.reason != "denial" and body.denial_id is not None:
        raise _invalid("denial_id", "is only allowed when the reason is denial")
    written_off_date: CalendarDate = body.written_off_date or request.app.state.clock.today()

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        claim = await accounts.locked_claim(session, body.claim_id, field="claim_id")
        ensure_practice_access(principal, claim.practice_id, f"claim {body.claim_id}")
        if body.denial_id is not None:
            return 201, await _denial_write_off(session, principal.organization_id, body, written_off_date)
        result = await accounts.write_off_balance(
            session,
            organization_id=principal.organization_id,
            claim=claim,
            bucket=body.balance,
            reason=body.reason,
            amount=body.amount,
            written_off_date=written_off_date,
            causation_id=f"write-off:{principal.key_id}",
            note=body.note,
        )
        return 201, WriteOffView.model_validate(result)

    return await respond_idempotently(request, principal, use_case)


async def _denial_write_off(
    session: AsyncSession, organization_id: uuid.UUID, body: WriteOffRequest, written_off_date: CalendarDate
) -> WriteOffView:
    """A denial write-off resolves the denial with the outcome written_off."""
    assert body.denial_id is not None
    denial = (
        await session.execute(
            select(denials.c.claim_id, denials.c.patient_billable).where(denials.c.denial_id == body.denial_id)
        )
    ).first()
    if denial is None or denial.claim_id != body.claim_id:
        raise _invalid("denial_id", f"is not a denial of claim {body.claim_id}")
    expected_bucket = "patient" if denial.patient_billable else "payer"
    if body.balance != expected_bucket:
        raise _invalid("balance", f"this denial's amount is in the {expected_bucket} balance")
    resolution = await denial_work.resolve(
        session,
        organization_id=organization_id,
        denial_id=body.denial_id,
        outcome="written_off",
        recovered_amount=Decimal("0"),
        written_off_amount=body.amount,
        resolved_date=written_off_date,
        causation_id=f"write-off:{body.denial_id}",
        note=body.note,
        amount_field="amount",
    )
    return WriteOffView.model_validate(resolution["write_off"])


@router.get(
    "/claims/{claim_id}/balance",
    summary="A claim's billed amount, what settled it and what is open",
    responses=NOT_FOUND,
)
async def get_claim_balance(request: Request, claim_id: str, principal: Reader) -> ClaimBalanceView:
    """billed = paid + contractual + payer write-offs + patient responsibility + payer open balance."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        claim = await accounts.locked_claim(session, claim_id)
        ensure_practice_access(principal, claim.practice_id, f"claim {claim_id}")
        balance = await accounts.balance_of(session, claim)
    return ClaimBalanceView.model_validate(accounts.balance_view(balance))


# Biggest difference first: the money most worth recovering is on top.
UNDERPAYMENT_ORDER = Order(
    "underpayments",
    (
        (underpayments.c.difference, True),
        (underpayments.c.created_at, False),
        (underpayments.c.underpayment_id, False),
    ),
)


@router.get("/underpayments", summary="Lines paid below the payer's contracted fee", responses=INVALID)
async def list_underpayments(
    request: Request,
    principal: Reader,
    payer_id: uuid.UUID | None = None,
    practice_id: uuid.UUID | None = None,
    claim_id: str | None = Query(default=None, max_length=50),
    status: Literal["open", "cancelled"] = "open",
    payment_date_from: CalendarDate | None = None,
    payment_date_to: CalendarDate | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[UnderpaymentView]:
    """Underpayments of the caller's organization, biggest difference first."""
    query = select(underpayments).where(underpayments.c.status == status)
    for column, value in (("payer_id", payer_id), ("practice_id", practice_id), ("claim_id", claim_id)):
        if value is not None:
            query = query.where(underpayments.c[column] == value)
    if payment_date_from is not None:
        query = query.where(underpayments.c.payment_date >= payment_date_from)
    if payment_date_to is not None:
        query = query.where(underpayments.c.payment_date <= payment_date_to)
    practices = visible_practices(underpayments.c.practice_id, principal)
    if practices is not None:
        query = query.where(practices)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await refuse_unknown_references(
            session, infra, principal.practice_ids, practice_id=("practice", practice_id), payer_id=("payer", payer_id)
        )
        rows = (await session.execute(UNDERPAYMENT_ORDER.apply(query, cursor=cursor, limit=limit))).all()
    page, next_cursor = UNDERPAYMENT_ORDER.page(rows, limit)
    return Page[UnderpaymentView](
        items=[UnderpaymentView.model_validate(r._mapping) for r in page], next_cursor=next_cursor
    )
