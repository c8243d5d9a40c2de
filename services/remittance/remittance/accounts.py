"""Claim balances, patient payments and write-offs, with their events in the same transaction."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import ledger
from remittance.domain import cents
from remittance.models import claims, infra, patient_payments, postings, write_offs
from shared.events.catalogue import build_event
from shared.events.remittance import BalanceWrittenOff, PatientPaymentPosted
from shared.outbox import add_event
from shared.problems import Problem

CENT = Decimal("0.01")


async def locked_claim(session: AsyncSession, claim_id: str, *, field: str | None = None) -> Row[Any]:
    """The claim row, locked so concurrent payments and write-offs see each other's effect.

    An unknown claim (or another organization's) answers 404 when the id is the resource, and 422 naming the
    field when it came inside a request body.
    """
    row = (await session.execute(select(claims).where(claims.c.claim_id == claim_id).with_for_update())).first()
    if row is None and field is not None:
        reason = f"no claim {claim_id} in this organization"
        raise Problem(
            422,
            "Request is invalid",
            f"{field}: {reason}",
            errors=[{"field": field, "reason": reason}],
            problem_type="urn:claimflow:problem:validation",
        )
    if row is None:
        raise Problem(404, "Not Found", f"claim {claim_id} not found")
    return row


async def balance_of(session: AsyncSession, claim: Row[Any]) -> ledger.ClaimBalance:
    """The claim's balance from its postings, patient payments and write-offs."""
    posted = (
        await session.execute(
            select(postings.c.paid_amount, postings.c.contractual_amount, postings.c.patient_responsibility).where(
                postings.c.claim_id == claim.claim_id
            )
        )
    ).all()
    paid_by_patient = (
        await session.scalars(select(patient_payments.c.amount).where(patient_payments.c.claim_id == claim.claim_id))
    ).all()
    offs = (
        await session.execute(
            select(write_offs.c.balance, write_offs.c.amount).where(write_offs.c.claim_id == claim.claim_id)
        )
    ).all()
    return ledger.claim_balance(
        claim.billed_amount,
        [ledger.PostedAmounts(r.paid_amount, r.contractual_amount, r.patient_responsibility) for r in posted],
        patient_payments=list(paid_by_patient),
        write_offs=[(o.balance, o.amount) for o in offs],
    )


def _over_balance(balance: ledger.ClaimBalance, bucket: ledger.Bucket, amount: Decimal, field: str) -> None:
    reason = ledger.over_balance_reason(balance, bucket, amount)
    if reason is not None:
        raise Problem(
            422,
            "Amount exceeds the open balance",
            f"{field} {amount} {reason}",
            errors=[{"field": field, "pointer": f"/{field}", "reason": reason}],
            problem_type="urn:claimflow:problem:over-balance",
        )


def _common(claim: Row[Any], organization_id: uuid.UUID, business_date: date, causation_id: str) -> dict[str, Any]:
    return {
        "source": "remittance",
        "subject": claim.claim_id,
        "organization_id": organization_id,
        "business_date": business_date,
        "correlation_id": claim.correlation_id,
        "causation_id": causation_id,
        "practice_id": claim.practice_id,
    }


async def post_patient_payment(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    amount: Decimal,
    method: str,
    reference: str | None,
    posted_date: date,
    causation_id: str,
) -> dict[str, Any]:
    """Post a patient payment against the claim's patient balance and queue patient-payment.posted."""
    amount = cents(amount)
    claim = await locked_claim(session, claim_id)
    balance = await balance_of(session, claim)
    _over_balance(balance, "patient", amount, "amount")
    payment_id = uuid.uuid4()
    await session.execute(
        pg_insert(patient_payments).values(
            patient_payment_id=payment_id,
            organization_id=organization_id,
            claim_id=claim_id,
            amount=amount,
            method=method,
            reference=reference,
            posted_date=posted_date,
        )
    )
    payload = PatientPaymentPosted(
        claim_id=claim_id,
        charge_id=claim.charge_id,
        amount=amount,
        posted_date=posted_date,
        method=method,
        patient_payment_id=payment_id,
        reference=reference,
    )
    topic, event = build_event(
        "patient-payment.posted", payload, **_common(claim, organization_id, posted_date, causation_id)
    )
    await add_event(session, infra, topic, event)
    after = await balance_of(session, claim)
    return {
        "patient_payment_id": payment_id,
        "claim_id": claim_id,
        "amount": amount,
        "method": method,
        "reference": reference,
        "posted_date": posted_date,
        "balance": balance_view(after),
    }


async def write_off_balance(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim: Row[Any],
    bucket: ledger.Bucket,
    reason: str,
    amount: Decimal,
    written_off_date: date,
    causation_id: str,
    denial_id: uuid.UUID | None = None,
    note: str | None = None,
    field: str = "amount",
) -> dict[str, Any]:
    """Write an amount off one bucket of a locked claim and queue balance.written-off."""
    amount = cents(amount)
    balance = await balance_of(session, claim)
    _over_balance(balance, bucket, amount, field)
    write_off_id = uuid.uuid4()
    await session.execute(
        pg_insert(write_offs).values(
            write_off_id=write_off_id,
            organization_id=organization_id,
            claim_id=claim.claim_id,
            balance=bucket,
            reason=reason,
            amount=amount,
            written_off_date=written_off_date,
            denial_id=denial_id,
            note=note,
        )
    )
    payload = BalanceWrittenOff(
        claim_id=claim.claim_id,
        charge_id=claim.charge_id,
        amount=amount,
        balance=bucket,
        reason=reason,
        written_off_date=written_off_date,
        write_off_id=write_off_id,
        denial_id=denial_id,
    )
    topic, event = build_event(
        "balance.written-off", payload, **_common(claim, organization_id, written_off_date, causation_id)
    )
    await add_event(session, infra, topic, event)
    after = await balance_of(session, claim)
    return {
        "write_off_id": write_off_id,
        "claim_id": claim.claim_id,
        "balance": bucket,
        "reason": reason,
        "amount": amount,
        "written_off_date": written_off_date,
        "denial_id": denial_id,
        "claim_balance": balance_view(after),
    }


def balance_view(balance: ledger.ClaimBalance) -> dict[str, Decimal]:
    """The balance as the API shows it, in cents."""
    amounts = {
        "billed": balance.billed,
        "paid": balance.paid,
        "contractual": balance.contractual,
        "patient_responsibility": balance.patient_responsibility,
        "patient_paid": balance.patient_paid,
        "payer_written_off": balance.payer_written_off,
        "patient_written_off": balance.patient_written_off,
        "payer_open": balance.payer_open,
        "patient_open": balance.patient_open,
        "open_balance": balance.open_balance,
    }
    return {name: amount.quantize(CENT) for name, amount in amounts.items()}
