"""Underpayment flags: posted lines paid below the payer's contracted fee (fee_schedule_entry in the replica)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.era import ClaimPayment
from remittance.models import infra, underpayments
from remittance.underpayment_rules import ContractedFee, find_underpayments
from shared.replica import remembered


def _fee(entity_id: str, attributes: dict[str, Any]) -> ContractedFee | None:
    """A replicated fee schedule entry, or None when it is not usable (then it is simply not compared)."""
    try:
        return ContractedFee(
            entry_id=entity_id,
            payer_id=attributes.get("payer_id"),
            code=str(attributes["code"]),
            modifier=attributes.get("modifier") or None,
            amount=Decimal(str(attributes["amount"])),
            effective_from=date.fromisoformat(attributes["effective_from"]),
            effective_to=date.fromisoformat(attributes["effective_to"]) if attributes.get("effective_to") else None,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return None


async def contracted_fees(
    session: AsyncSession, practice_id: uuid.UUID, payer_id: uuid.UUID, codes: set[str]
) -> list[ContractedFee]:
    """The practice's fee schedule entries for this payer and these codes (the practice's whole schedule with the
    payer is read once per unit of work: an 835 pays many claims of the same practice)."""
    schedule = await remembered(
        session, ("fee_schedule", practice_id, payer_id), lambda: _fee_schedule(session, practice_id, payer_id)
    )
    return [fee for fee in schedule if fee.code in codes]


async def _fee_schedule(session: AsyncSession, practice_id: uuid.UUID, payer_id: uuid.UUID) -> list[ContractedFee]:
    table = infra.reference_entities
    rows = (
        await session.execute(
            select(table.c.entity_id, table.c.attributes).where(
                table.c.entity_type == "fee_schedule_entry",
                table.c.deleted.is_(False),
                table.c.attributes["practice_id"].astext == str(practice_id),
                table.c.attributes["payer_id"].astext == str(payer_id),
            )
        )
    ).all()
    return [fee for row in rows if (fee := _fee(row.entity_id, dict(row.attributes))) is not None]


async def flag_underpayments(
    session: AsyncSession,
    organization_id: uuid.UUID,
    known: Row[Any],
    claim: ClaimPayment,
    posting_id: uuid.UUID,
    payment_date: date,
) -> int:
    """Record every line of a posting paid below contract; returns how many were flagged."""
    codes = {line.procedure_code for line in claim.lines if line.paid_amount > 0}
    if not codes or known.practice_id is None or known.payer_id is None:
        return 0
    fees = await contracted_fees(session, known.practice_id, known.payer_id, codes)
    if not fees:
        return 0
    fallback = known.date_of_service or payment_date
    found = find_underpayments(claim, fees, payer_id=str(known.payer_id), fallback_date=fallback)
    for flagged in found:
        await session.execute(
            pg_insert(underpayments)
            .values(
                underpayment_id=uuid.uuid4(),
                organization_id=organization_id,
                posting_id=posting_id,
                claim_id=known.claim_id,
                line_number=flagged.line_number,
                procedure_code=flagged.procedure_code,
                modifier=flagged.modifier,
                practice_id=known.practice_id,
                payer_id=known.payer_id,
                fee_schedule_entry_id=flagged.entry_id,
                paid_amount=flagged.paid_amount,
                patient_responsibility=flagged.patient_responsibility,
                allowed_amount=flagged.allowed_amount,
                contracted_amount=flagged.contracted_amount,
                difference=flagged.difference,
                payment_date=payment_date,
                status="open",
            )
            .on_conflict_do_nothing()
        )
    return len(found)


async def cancel_underpayments(session: AsyncSession, reversed_posting_id: uuid.UUID | None) -> None:
    """A reversed posting's underpayments no longer need follow-up."""
    if reversed_posting_id is None:
        return
    await session.execute(
        update(underpayments)
        .where(underpayments.c.posting_id == reversed_posting_id, underpayments.c.status == "open")
        .values(status="cancelled")
    )
