"""Recording a clearinghouse answer in one transaction: attempts sent, 999/277CA outcomes, and their events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.charge import ChargeFacts
from shared.events.claim import ClaimAcknowledged, ClaimLine, ClaimSubmitted, ScrubEdit
from shared.outbox import add_event
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


async def record_answer(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, control_number: int, answer: GatewayAnswer
) -> None:
    """In one transaction: attempts sent, acks stored, claim.submitted and claim.acknowledged emitted."""
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
            )
        ).all()
        await note_business_date(session, organization_id, submitted_date)
        for row in rows:
            await _record_claim(session, organization_id, control_number, submitted_date, row, read)
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


async def _record_claim(
    session: AsyncSession,
    organization_id: uuid.UUID,
    control_number: int,
    submitted_date: date,
    row: Any,
    read: ReadAnswer,
) -> None:
    """One claim of an acknowledged batch: attempt sent, claim status from its acks, and its events in order."""
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
    topic, event = build_event(
        "claim.submitted", submitted, business_date=submitted_date, causation_id=row.source_event_id, **context
    )
    await add_event(session, infra, topic, event)
    submitted_id = event.id
    status, reason = "sent", None
    acks: list[tuple[str, str, str, str | None, date]] = []
    if read.set_ack is not None:
        ack_date = read.ack_999_date or submitted_date
        acks.append(("999", read.set_ack.code, read.set_ack.outcome, read.set_ack.reason(), ack_date))
        if read.set_ack.outcome == "rejected":
            status, reason = "rejected", read.set_ack.reason()
    claim_status = read.statuses.get(row.claim_id)
    if claim_status is not None and claim_status.category:
        ack_date = claim_status.status_date or read.ack_277_date or submitted_date
        acks.append(("277CA", claim_status.category, claim_status.outcome, claim_status.reason(), ack_date))
        if claim_status.outcome == "rejected":
            status, reason = "rejected", claim_status.reason()
    for kind, code, outcome, ack_reason, ack_date in acks:
        inserted = await session.scalar(
            pg_insert(acknowledgements)
            .values(
                organization_id=organization_id,
                claim_id=row.claim_id,
                attempt_number=row.attempt_number,
                batch_control_number=control_number,
                kind=kind,
                status_code=code,
                outcome=outcome,
                reason=ack_reason,
                acknowledged_date=ack_date,
            )
            .on_conflict_do_nothing()
            .returning(acknowledgements.c.id)
        )
        if inserted is None:
            continue
        payload = ClaimAcknowledged(
            claim_id=row.claim_id,
            attempt_number=row.attempt_number,
            payer_id=coverage.payer_id,
            acknowledgement=kind,
            outcome=outcome,
            status_code=code,
            reason=ack_reason,
            acknowledged_date=ack_date,
        )
        topic, acknowledged = build_event(
            "claim.acknowledged", payload, business_date=ack_date, causation_id=submitted_id, **context
        )
        await add_event(session, infra, topic, acknowledged)
    await session.execute(
        update(claim_attempts)
        .where(
            claim_attempts.c.claim_id == row.claim_id,
            claim_attempts.c.attempt_number == row.attempt_number,
        )
        .values(status="rejected" if status == "rejected" else "sent", submitted_date=submitted_date)
    )
    if status == "rejected":
        await _open_rejection(session, organization_id, row.claim_id, row.attempt_number, acks)
    elif row.frequency_code == "8":
        status, reason = "voided", "void (frequency 8) accepted by the clearinghouse"
    values: dict[str, Any] = {"status": status, "status_reason": reason, "updated_at": func.now()}
    if claim_status is not None and claim_status.payer_claim_number and claim_status.outcome == "accepted":
        # The 835's CLP07 (learned from remittance) stays authoritative; the 277CA number fills the gap until then.
        values["payer_claim_number"] = func.coalesce(claims.c.payer_claim_number, claim_status.payer_claim_number)
    await session.execute(update(claims).where(claims.c.claim_id == row.claim_id).values(**values))


async def _open_rejection(
    session: AsyncSession,
    organization_id: uuid.UUID,
    claim_id: str,
    attempt_number: int,
    acks: list[tuple[str, str, str, str | None, date]],
) -> None:
    """Put a rejected attempt in the rejection queue; a second rejection for the same reason goes to a supervisor."""
    kind, code, _, reason, ack_date = next(ack for ack in acks if ack[2] == "rejected")
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
