"""Posting one matched CLP: posting row, denial row, and the remittance/denial events in the same transaction."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import denial_rules, domain
from remittance.era import ClaimPayment
from remittance.escalations import escalate_new_denial
from remittance.models import claims, denials, infra, postings
from remittance.underpayments import cancel_underpayments, flag_underpayments
from shared.db import bound, bound_insert_for_each, prefixed
from shared.events.catalogue import build_event
from shared.events.remittance import Adjustment, ClaimDenied, RemittanceLine, RemittancePosted, RemittanceReversed
from shared.outbox import OUTBOX_COLUMNS, add_event, outbox_row


@dataclass(frozen=True)
class PaymentContext:
    """The payment (BPR/TRN) a CLP arrived in."""

    file_id: uuid.UUID
    payment_id: uuid.UUID
    trace_number: str
    payment_date: date


@dataclass(frozen=True)
class PostedClaim:
    """What posting one CLP produced, for the ERA receipt."""

    claim_id: str
    posting_id: uuid.UUID
    kind: str
    claim_status_code: str
    paid_amount: Decimal
    denied_amount: Decimal
    is_denial: bool
    root_cause: str | None
    first_adjudication: bool
    unclassified_codes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "claim_id": self.claim_id,
            "posting_id": str(self.posting_id),
            "kind": self.kind,
            "claim_status_code": self.claim_status_code,
            "paid_amount": str(self.paid_amount),
            "denied_amount": str(self.denied_amount),
            "is_denial": self.is_denial,
            "root_cause": self.root_cause,
            "first_adjudication": self.first_adjudication,
            "unclassified_codes": list(self.unclassified_codes),
        }


def _adjustments(assessment: domain.ClaimAssessment) -> list[Adjustment]:
    return [
        Adjustment(
            group_code=a.group_code,
            reason_code=a.reason_code,
            amount=a.amount,
            quantity=a.quantity,
            adjustment_class=a.adjustment_class,
            line_number=a.line_number,
        )
        for a in assessment.adjustments
    ]


def _lines(claim: ClaimPayment, sign: int) -> list[RemittanceLine]:
    return [
        RemittanceLine(
            line_number=line.line_number,
            procedure_code=line.procedure_code,
            modifiers=list(line.modifiers),
            charge_amount=domain.cents(line.charge_amount * sign),
            paid_amount=domain.cents(line.paid_amount * sign),
            units=line.units,
            remark_codes=list(line.remark_codes),
        )
        for line in claim.lines
    ]


def posted_before_of(claim_id: Any) -> Any:
    """Whether a claim (an id, or the claim_id column of a query about claims) has a posting already; a CLP posted
    to a claim without one is its first adjudication."""
    return exists().where(postings.c.claim_id == claim_id, postings.c.kind == "posted")


async def post_claim(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    known: Row[Any],
    claim: ClaimPayment,
    payment: PaymentContext,
    causation_id: str,
    posted_before: bool | None = None,
) -> PostedClaim | None:
    """Post a matched CLP once (None when this CLP was already posted) and queue its events.

    `posted_before`: whether the claim has a posting already, when the caller read it with the claim."""
    assessment = domain.assess_claim(claim)
    sign = -1 if assessment.sign_corrected else 1
    earlier = posted_before
    if earlier is None:
        earlier = await session.scalar(select(posted_before_of(known.claim_id)))
    first_adjudication = not earlier and not assessment.is_reversal
    reversed_posting_id = None
    if assessment.is_reversal:
        reversed_posting_id = await session.scalar(
            select(postings.c.posting_id)
            .where(postings.c.claim_id == known.claim_id, postings.c.kind == "posted")
            .order_by(postings.c.created_at.desc())
            .limit(1)
        )
    posting_id = uuid.uuid4()
    adjustments = _adjustments(assessment)
    lines = _lines(claim, sign)
    kind = "reversed" if assessment.is_reversal else "posted"
    facts: dict[str, Any] = {
        "claim_id": known.claim_id,
        "charge_id": known.charge_id,
        "payer_id": known.payer_id,
        "payer_claim_number": claim.payer_claim_number,
        "claim_status_code": claim.status_code,
        "remittance_id": payment.file_id,
        "trace_number": payment.trace_number,
        "payment_date": payment.payment_date,
        "charge_amount": assessment.charge_amount,
        "paid_amount": assessment.paid_amount,
        "patient_responsibility": assessment.patient_responsibility,
        "contractual_amount": assessment.contractual_amount,
        "denied_amount": assessment.denied_amount,
        "patient_denied_amount": assessment.patient_denied_amount,
        "adjustments": adjustments,
        "lines": lines,
        "remark_codes": list(assessment.remark_codes),
        "is_denial": assessment.is_denial,
        "first_adjudication": first_adjudication,
    }
    common: dict[str, Any] = {
        "source": "remittance",
        "subject": known.claim_id,
        "organization_id": organization_id,
        "business_date": payment.payment_date,
        "correlation_id": known.correlation_id,
        "causation_id": causation_id,
        "practice_id": known.practice_id,
    }
    if assessment.is_reversal:
        topic, event = build_event(
            "remittance.reversed", RemittanceReversed(**facts, reversed_posting_id=reversed_posting_id), **common
        )
    else:
        topic, event = build_event("remittance.posted", RemittancePosted(**facts), **common)
    # The posting row: the event's facts (but the file id under its column's name, and the adjustments and lines
    # as JSON) and where the CLP sits.
    posting = {
        **{name: value for name, value in facts.items() if name not in ("remittance_id", "adjustments", "lines")},
        "posting_id": posting_id,
        "organization_id": organization_id,
        "file_id": payment.file_id,
        "payment_id": payment.payment_id,
        "clp_position": claim.position,
        "practice_id": known.practice_id,
        "kind": kind,
        "adjustments": [a.model_dump(mode="json") for a in adjustments],
        "lines": [line.model_dump(mode="json") for line in lines],
        "reversed_posting_id": reversed_posting_id,
    }
    # The posting, its event and the payer's claim number (first learned here) in one statement: the event and the
    # number are written only when this CLP was not posted before.
    numbering = bool(claim.payer_claim_number and not known.payer_claim_number)
    parameters = prefixed("posting_", posting) | prefixed("event_", outbox_row(topic, event))
    if numbering:
        parameters |= {"numbered_claim_id": known.claim_id, "numbered_payer_claim_number": claim.payer_claim_number}
    inserted = await session.scalar(_store_posting(tuple(posting), numbering), parameters)
    if inserted is None:
        return None
    if assessment.is_reversal:
        await cancel_underpayments(session, reversed_posting_id)
    else:
        await flag_underpayments(session, organization_id, known, claim, posting_id, payment.payment_date)
    if assessment.is_denial and assessment.root_cause is not None:
        await _record_denial(
            session, organization_id, known, assessment, posting_id, first_adjudication, payment, common
        )
    return PostedClaim(
        claim_id=known.claim_id,
        posting_id=posting_id,
        kind=kind,
        claim_status_code=claim.status_code,
        paid_amount=assessment.paid_amount,
        denied_amount=assessment.denial_amount_total,
        is_denial=assessment.is_denial,
        root_cause=assessment.root_cause.name if assessment.root_cause else None,
        first_adjudication=first_adjudication,
        unclassified_codes=assessment.unclassified_codes,
    )


@functools.cache
def _store_posting(columns: tuple[str, ...], numbering: bool) -> Select[tuple[uuid.UUID]]:
    """A CLP's posting with its event (and, when `numbering`, the payer's claim number on the claim) in one
    statement, built once (every CLP sends it): the other writes happen only with the posting."""
    stored = (
        pg_insert(postings)
        .values(bound(postings, "posting_", columns))
        .on_conflict_do_nothing()
        .returning(postings.c.posting_id)
        .cte("stored_posting")
    )
    writes: list[Any] = [bound_insert_for_each(infra.outbox, stored, "event_", OUTBOX_COLUMNS).cte("queued_event")]
    if numbering:
        writes.append(
            update(claims)
            .where(
                claims.c.claim_id == bindparam("numbered_claim_id", type_=claims.c.claim_id.type),
                select(stored.c.posting_id).exists(),
            )
            .values(payer_claim_number=bindparam("numbered_payer_claim_number", type_=claims.c.payer_claim_number.type))
            .cte("numbered_claim")
        )
    return select(stored.c.posting_id).add_cte(*writes)


async def _record_denial(
    session: AsyncSession,
    organization_id: uuid.UUID,
    known: Row[Any],
    assessment: domain.ClaimAssessment,
    posting_id: uuid.UUID,
    initial: bool,
    payment: PaymentContext,
    common: dict[str, Any],
) -> None:
    """The denial work-queue row and its claim.denied event."""
    root_cause = assessment.root_cause
    assert root_cause is not None
    denial_id = uuid.uuid4()
    reason_codes = list(assessment.reason_codes) or [f"CLP02-{assessment.status_code}"]
    await session.execute(
        pg_insert(denials).values(
            denial_id=denial_id,
            organization_id=organization_id,
            posting_id=posting_id,
            claim_id=known.claim_id,
            charge_id=known.charge_id,
            payer_id=known.payer_id,
            practice_id=known.practice_id,
            root_cause=root_cause.name,
            owner=root_cause.owner,
            first_action=root_cause.first_action,
            reason_codes=reason_codes,
            remark_codes=list(assessment.remark_codes),
            denied_amount=assessment.denial_amount_total,
            patient_billable=assessment.patient_billable,
            initial=initial,
            payment_date=payment.payment_date,
            status="open",
            queue=denial_rules.work_queue(root_cause.name),
            escalation_rules=[],
        )
    )
    payload = ClaimDenied(
        claim_id=known.claim_id,
        charge_id=known.charge_id,
        payer_id=known.payer_id,
        denial_id=denial_id,
        root_cause=root_cause.name,
        reason_codes=reason_codes,
        remark_codes=list(assessment.remark_codes),
        denied_amount=assessment.denial_amount_total,
        patient_billable=assessment.patient_billable,
        initial=initial,
        payment_date=payment.payment_date,
    )
    topic, event = build_event("claim.denied", payload, **common)
    await add_event(session, infra, topic, event)
    await escalate_new_denial(
        session,
        organization_id=organization_id,
        denial_id=denial_id,
        claim_id=known.claim_id,
        practice_id=known.practice_id,
        payer_id=known.payer_id,
        root_cause=root_cause.name,
        denied_amount=assessment.denial_amount_total,
        payment_date=payment.payment_date,
        common=common,
    )
