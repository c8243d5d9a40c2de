"""Recording a clearinghouse answer in one transaction: attempts sent, 999/277CA outcomes, and their events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Integer, Text, column, delete, func, select, update, values
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.charge import ChargeFacts
from shared.events.claim import ClaimAcknowledged, ClaimLine, ClaimSubmitted, ScrubEdit
from shared.events.envelope import Envelope
from shared.outbox import add_events
from shared.x12 import X12Error
from submission.acks import AcknowledgementError, ClaimStatus, TransactionSetAck, parse_277ca, parse_999
from submission.gateway import GatewayAnswer
from submission.models import acknowledgements, batches, claim_attempts, claims, infra, send_queue
from submission.queues import note_business_date, open_work_item
from submission.x837 import control_numbers

log = structlog.get_logger()
SOURCE = "submission"


@dataclass(frozen=True)
class ReadAnswer:
    """The acknowledgements of one batch as read: the IK5 of our transaction set and each claim's 277CA status."""

    set_ack: TransactionSetAck | None
    ack_999_date: date | None
    statuses: dict[str, ClaimStatus]
    ack_277_date: date | None
    unreadable: str | None = None


def read_answer(answer: GatewayAnswer, control_number: int) -> ReadAnswer:
    """Find our transaction set in the 999 (by ST02, else the group's AK9) and the claims in the 277CA."""
    _, _, st02 = control_numbers(control_number)
    try:
        groups = parse_999(answer.ack_999)
        set_ack: TransactionSetAck | None = None
        for group in groups:
            for candidate in group.sets:
                if candidate.control_number.lstrip("0") == st02.lstrip("0"):
                    set_ack = candidate
            if set_ack is None and group.group_control_number.lstrip("0") == str(control_number):
                set_ack = TransactionSetAck("837", st02, group.group_code)
        statuses: dict[str, ClaimStatus] = {}
        ack_277_date = None
        if answer.ack_277ca:
            parsed = parse_277ca(answer.ack_277ca)
            statuses = {status.claim_id: status for status in parsed.claims}
            ack_277_date = parsed.file_date
        return ReadAnswer(set_ack, groups[0].acknowledged_date, statuses, ack_277_date)
    except (AcknowledgementError, X12Error) as error:
        return ReadAnswer(None, None, {}, None, unreadable=str(error))


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledgement of a claim's attempt as read from the 999 or the 277CA."""

    kind: str
    code: str
    outcome: str
    reason: str | None
    acknowledged_date: date


@dataclass(frozen=True)
class ClaimOutcome:
    """What an acknowledged batch means for one claim: its claim.submitted, its acknowledgements and new status."""

    claim_id: str
    attempt_number: int
    submitted: tuple[str, Envelope]
    context: dict[str, Any]
    payer_id: uuid.UUID
    acks: list[Acknowledgement]
    status: str
    reason: str | None
    payer_claim_number: str | None


async def record_answer(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, control_number: int, answer: GatewayAnswer
) -> None:
    """In one transaction: attempts sent, acks stored, claim.submitted and claim.acknowledged emitted.

    The batch's claims are written together, a statement per table rather than per claim: acknowledgements (those
    stored before are left, and not announced again), the events (each claim's claim.submitted before its
    acknowledgements), the attempts and the claims."""
    read = read_answer(answer, control_number)
    async with unit_of_work(sessions, organization_id) as session:
        batch = (
            await session.execute(
                select(batches.c.business_date, batches.c.status)
                .where(batches.c.control_number == control_number)
                .with_for_update()
            )
        ).first()
        if batch is None or batch.status != "built":
            return
        submitted_date: date = batch.business_date
        # Locks in the order every path of submission takes them: the business clock, then the claims, then their
        # attempts (a remittance consumer's batch and a void hold them in that order too).
        await note_business_date(session, organization_id, submitted_date)
        rows = (
            await session.execute(
                select(
                    claim_attempts,
                    claims.c.charge,
                    claims.c.scrub_edits.label("claim_scrub_edits"),
                    claims.c.payer_claim_number,
                    claims.c.correlation_id,
                    claims.c.source_event_id,
                )
                .join(claims, claims.c.claim_id == claim_attempts.c.claim_id)
                .where(claim_attempts.c.batch_control_number == control_number)
                .order_by(claim_attempts.c.claim_id)
                .with_for_update(of=claims)
            )
        ).all()
        outcomes = [_claim_outcome(organization_id, control_number, submitted_date, row, read) for row in rows]
        stored = await _store_acknowledgements(session, organization_id, control_number, outcomes)
        await add_events(session, infra, _events(outcomes, stored))
        await _store_statuses(session, outcomes, submitted_date)
        for outcome in outcomes:
            if outcome.status == "rejected":
                await _open_rejection(session, organization_id, outcome.claim_id, outcome.attempt_number, outcome.acks)
        await session.execute(delete(send_queue).where(send_queue.c.claim_id.in_([row.claim_id for row in rows])))
        await session.execute(
            update(batches)
            .where(batches.c.control_number == control_number)
            .values(
                status="acknowledged" if read.unreadable is None else "ack_unreadable",
                clearinghouse_batch_id=answer.batch_id,
                ack_999=answer.ack_999,
                ack_277ca=answer.ack_277ca,
                last_error=read.unreadable,
                sent_at=func.now(),
            )
        )
    if read.unreadable:
        log.warning("acknowledgements unreadable", control_number=control_number, error=read.unreadable)


def _claim_outcome(
    organization_id: uuid.UUID, control_number: int, submitted_date: date, row: Any, read: ReadAnswer
) -> ClaimOutcome:
    """One claim of an acknowledged batch: its claim.submitted, its acknowledgements and the status they give it."""
    charge = ChargeFacts.model_validate(row.charge)
    coverage = charge.coverage
    assert coverage is not None  # claims are only created for charges with a coverage
    context = {
        "source": SOURCE,
        "subject": row.claim_id,
        "organization_id": organization_id,
        "correlation_id": row.correlation_id,
        "practice_id": charge.practice.practice_id,
    }
    billed = sum((line.amount for line in charge.lines), Decimal("0"))
    submitted = ClaimSubmitted(
        claim_id=row.claim_id,
        charge_id=charge.charge_id,
        payer_id=coverage.payer_id,
        provider_id=charge.provider.provider_id,
        patient_id=charge.patient.patient_id,
        program=charge.program,
        date_of_service=charge.date_of_service,
        charge_posted_date=charge.charge_posted_date,
        billed_amount=billed,
        payer_priority=coverage.priority,
        attempt_number=row.attempt_number,
        frequency_code=row.frequency_code,
        submitted_date=submitted_date,
        scrub_passed=row.scrub_passed == "true",
        scrub_edits=[
            ScrubEdit.model_validate(edit)
            for edit in (row.scrub_edits if row.scrub_edits is not None else row.claim_scrub_edits)
        ],
        manually_touched=bool(row.manually_touched),
        rework_of_attempt=row.rework_of_attempt,
        payer_claim_number=row.payer_claim_number if row.frequency_code in ("7", "8") else None,
        member_id=coverage.member_id,
        batch_control_number=str(control_number),
        lines=[
            ClaimLine(
                line_number=line.line_number,
                procedure_code=line.procedure_code,
                modifiers=line.modifiers,
                units=line.units,
                amount=line.amount,
            )
            for line in charge.lines
        ],
    )
    submitted_event = build_event(
        "claim.submitted", submitted, business_date=submitted_date, causation_id=row.source_event_id, **context
    )
    status, reason = "sent", None
    acks: list[Acknowledgement] = []
    if read.set_ack is not None:
        ack_date = read.ack_999_date or submitted_date
        acks.append(Acknowledgement("999", read.set_ack.code, read.set_ack.outcome, read.set_ack.reason(), ack_date))
        if read.set_ack.outcome == "rejected":
            status, reason = "rejected", read.set_ack.reason()
    claim_status = read.statuses.get(row.claim_id)
    if claim_status is not None and claim_status.category:
        ack_date = claim_status.status_date or read.ack_277_date or submitted_date
        acks.append(
            Acknowledgement("277CA", claim_status.category, claim_status.outcome, claim_status.reason(), ack_date)
        )
        if claim_status.outcome == "rejected":
            status, reason = "rejected", claim_status.reason()
    if status != "rejected" and row.frequency_code == "8":
        status, reason = "voided", "void (frequency 8) accepted by the clearinghouse"
    payer_claim_number = None
    if claim_status is not None and claim_status.payer_claim_number and claim_status.outcome == "accepted":
        payer_claim_number = claim_status.payer_claim_number
    return ClaimOutcome(
        claim_id=row.claim_id,
        attempt_number=row.attempt_number,
        submitted=submitted_event,
        context=context,
        payer_id=coverage.payer_id,
        acks=acks,
        status=status,
        reason=reason,
        payer_claim_number=payer_claim_number,
    )


async def _store_acknowledgements(
    session: AsyncSession, organization_id: uuid.UUID, control_number: int, outcomes: list[ClaimOutcome]
) -> set[tuple[str, int, str]]:
    """Store the batch's acknowledgements in one statement; returns (claim, attempt, kind) of those new here."""
    rows = [
        {
            "organization_id": organization_id,
            "claim_id": outcome.claim_id,
            "attempt_number": outcome.attempt_number,
            "batch_control_number": control_number,
            "kind": ack.kind,
            "status_code": ack.code,
            "outcome": ack.outcome,
            "reason": ack.reason,
            "acknowledged_date": ack.acknowledged_date,
        }
        for outcome in outcomes
        for ack in outcome.acks
    ]
    if not rows:
        return set()
    stored = await session.execute(
        pg_insert(acknowledgements)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(acknowledgements.c.claim_id, acknowledgements.c.attempt_number, acknowledgements.c.kind)
    )
    return {(row.claim_id, row.attempt_number, row.kind) for row in stored}


def _events(outcomes: list[ClaimOutcome], stored: set[tuple[str, int, str]]) -> list[tuple[str, Envelope]]:
    """The batch's events in publication order: each claim's claim.submitted, then its acknowledgements new here."""
    events: list[tuple[str, Envelope]] = []
    for outcome in outcomes:
        events.append(outcome.submitted)
        for ack in outcome.acks:
            if (outcome.claim_id, outcome.attempt_number, ack.kind) not in stored:
                continue
            payload = ClaimAcknowledged(
                claim_id=outcome.claim_id,
                attempt_number=outcome.attempt_number,
                payer_id=outcome.payer_id,
                acknowledgement=ack.kind,
                outcome=ack.outcome,
                status_code=ack.code,
                reason=ack.reason,
                acknowledged_date=ack.acknowledged_date,
            )
            events.append(
                build_event(
                    "claim.acknowledged",
                    payload,
                    business_date=ack.acknowledged_date,
                    causation_id=outcome.submitted[1].id,
                    **outcome.context,
                )
            )
    return events


async def _store_statuses(session: AsyncSession, outcomes: list[ClaimOutcome], submitted_date: date) -> None:
    """Each attempt sent (or rejected) on the submission date and each claim's new status, a statement per table.

    The 835's CLP07 (learned from remittance) stays authoritative; a 277CA payer claim number fills the gap until
    then."""
    if not outcomes:
        return
    attempts = values(
        column("claim_id", Text), column("attempt_number", Integer), column("status", Text), name="attempt_outcome"
    ).data([(o.claim_id, o.attempt_number, "rejected" if o.status == "rejected" else "sent") for o in outcomes])
    await session.execute(
        update(claim_attempts)
        .where(
            claim_attempts.c.claim_id == attempts.c.claim_id,
            claim_attempts.c.attempt_number == attempts.c.attempt_number,
        )
        .values(status=attempts.c.status, submitted_date=submitted_date)
    )
    statuses = values(
        column("claim_id", Text),
        column("status", Text),
        column("status_reason", Text),
        column("payer_claim_number", Text),
        name="claim_outcome",
    ).data([(o.claim_id, o.status, o.reason, o.payer_claim_number) for o in outcomes])
    await session.execute(
        update(claims)
        .where(claims.c.claim_id == statuses.c.claim_id)
        .values(
            status=statuses.c.status,
            status_reason=statuses.c.status_reason,
            payer_claim_number=func.coalesce(claims.c.payer_claim_number, statuses.c.payer_claim_number),
            updated_at=func.now(),
        )
    )


async def _open_rejection(
    session: AsyncSession,
    organization_id: uuid.UUID,
    claim_id: str,
    attempt_number: int,
    acks: list[Acknowledgement],
) -> None:
    """Put a rejected attempt in the rejection queue; a second rejection for the same reason goes to a supervisor."""
    rejection = next(ack for ack in acks if ack.outcome == "rejected")
    kind, code, reason, ack_date = rejection.kind, rejection.code, rejection.reason, rejection.acknowledged_date
    text = reason or f"{kind} {code}: rejected"
    await open_work_item(
        session,
        organization_id=organization_id,
        claim_id=claim_id,
        queue="rejection",
        reason_code=f"{kind}-{code}",
        reason=text,
        opened_date=ack_date,
    )
    earlier = await session.scalar(
        select(func.count()).where(
            acknowledgements.c.claim_id == claim_id,
            acknowledgements.c.attempt_number != attempt_number,
            acknowledgements.c.kind == kind,
            acknowledgements.c.outcome == "rejected",
            acknowledgements.c.reason == reason,
        )
    )
    if earlier:
        await open_work_item(
            session,
            organization_id=organization_id,
            claim_id=claim_id,
            queue="repeat_rejection",
            reason_code=f"{kind}-{code}",
            reason=f"rejected again for the same reason: {text}",
            opened_date=ack_date,
        )
