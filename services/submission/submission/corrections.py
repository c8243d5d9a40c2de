"""Reworking a claim: a person's correction and resubmission, and voids (DOMAIN.md 1: attempts 1, 7 and 8).

A correction becomes a new attempt of the same claim: an original (1) again while the payer never adjudicated it, a
replacement (7) with REF*F8 once it did. A void cancels a claim not yet sent, or sends a frequency-8 attempt with the
payer's claim number once the payer has it. Every such attempt names the attempt it reworks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import (
    ChargeCreatedEvent,
    ChargeReleasedEvent,
    ChargeVoidedEvent,
    RemittancePostedEvent,
    build_event,
)
from shared.events.charge import ChargeFacts, ChargeLine
from shared.events.claim import ClaimVoided
from shared.outbox import add_event
from shared.problems import Problem
from submission import domain
from submission.correction_checks import checked_correction
from submission.models import claim_attempts, claims, infra, send_queue, visits
from submission.queues import (
    QUEUE_ACTIONS,
    RESOLVED_BY_RESUBMISSION,
    business_date,
    check_authorization_burn_down,
    note_business_date,
    open_work_item,
    record_adjudication,
    resolve_work_items,
)
from submission.service import (
    SOURCE,
    consume_authorization,
    create_claim_for_charge,
    hold_claim,
    record_visit,
    release_authorization,
    scrub,
)

IN_FLIGHT = ("queued", "batched")
# Statuses in which the payer holds the claim under its own claim number (accepted into adjudication or answered).
PAYER_HOLDS = ("sent", "adjudicated")
VOID_PENDING = "VOID-PENDING"
REPLACEMENT_PENDING = "REPLACEMENT-PENDING"


def apply_correction(charge: ChargeFacts, changes: dict[str, Any]) -> ChargeFacts:
    """The charge with a person's corrections applied (diagnoses, lines, authorization number, member and group
    ids), marked as manually touched; raises pydantic's ValidationError when the result is not a valid charge."""
    facts = charge.model_dump(mode="json")
    if changes.get("diagnoses") is not None:
        facts["diagnoses"] = changes["diagnoses"]
    if changes.get("lines") is not None:
        facts["lines"] = [ChargeLine.model_validate(line).model_dump(mode="json") for line in changes["lines"]]
        facts["total_amount"] = str(sum(ChargeLine.model_validate(line).amount for line in changes["lines"]))
    if changes.get("authorization_number") is not None:
        if facts.get("authorization") is None:
            raise Problem(
                422,
                "Request is invalid",
                "authorization_number: the claim has no authorization on file to number",
                errors=[{"field": "authorization_number", "reason": "no authorization on file for this claim"}],
            )
        facts["authorization"]["number"] = changes["authorization_number"]
    for field in ("member_id", "group_number"):
        if changes.get(field) is not None and facts.get("coverage") is not None:
            facts["coverage"][field] = changes[field]
    facts["manually_touched"] = True
    return ChargeFacts.model_validate(facts)


async def _claim_for_update(session: AsyncSession, claim_id: str, practice_ids: Any) -> Any:
    """The claim row locked for rework, or a 404 problem (another organization's claim is simply not found)."""
    row = (await session.execute(select(claims).where(claims.c.claim_id == claim_id).with_for_update())).first()
    if row is None or (practice_ids is not None and row.practice_id not in practice_ids):
        raise Problem(404, "Not Found", f"claim {claim_id} not found")
    return row


async def _last_attempt(session: AsyncSession, claim_id: str) -> Any:
    """The claim's newest attempt."""
    return (
        await session.execute(
            select(claim_attempts)
            .where(claim_attempts.c.claim_id == claim_id)
            .order_by(claim_attempts.c.attempt_number.desc())
            .limit(1)
        )
    ).one()


async def correct_and_resubmit(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    changes: dict[str, Any],
    today: date,
    practice_ids: Any = None,
) -> Any:
    """Apply a person's correction, scrub again and queue a new attempt (or hold it again); a manual touch.

    A re-coded charge still waiting to replace the claim is what the person corrects."""
    claim = await _claim_for_update(session, claim_id, practice_ids)
    if claim.status in IN_FLIGHT or claim.status == "voided":
        raise Problem(
            409, "Conflict", f"claim {claim_id} is {claim.status}; only held, rejected or answered claims are reworked"
        )
    if claim.adjudicated_date is not None and not claim.payer_claim_number:
        raise Problem(
            409, "Conflict", "the payer's claim number is not known, so a replacement (REF*F8) cannot be sent yet"
        )
    replaces = claim.status in PAYER_HOLDS and claim.payer_claim_number is not None
    stored = ChargeFacts.model_validate(claim.pending_charge or claim.charge)
    changes = checked_correction(
        changes,
        date_of_service=stored.date_of_service,
        diagnoses=stored.diagnoses,
        lines=[line.model_dump() for line in stored.lines],
    )
    charge = apply_correction(stored, changes)
    note = f": {changes['note']}" if changes.get("note") else ""
    await resubmit(
        session,
        organization_id=organization_id,
        claim=claim,
        charge=charge,
        replaces=replaces,
        manual=True,
        on=await business_date(session, today),
        resolution=lambda attempt_number: f"corrected as attempt {attempt_number}{note}",
    )
    return claim_id


async def resubmit(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim: Any,
    charge: ChargeFacts,
    replaces: bool,
    manual: bool,
    on: date,
    resolution: Callable[[int], str],
) -> int:
    """Scrub a claim's new charge and queue it as the claim's next attempt (held again when the scrubber says so):
    a replacement (7) when the payer has the claim, else an original; an attempt not yet sent gives way to it.
    Returns the new attempt's number."""
    claim_id = claim.claim_id
    last = await _last_attempt(session, claim_id)
    attempt_number = last.attempt_number + 1
    result = await scrub(session, charge=charge, claim_id=claim_id, submission_date=on)
    status = "queued" if result.passed else "held"
    edits = [edit.model_dump(mode="json") for edit in result.edits]
    await session.execute(
        update(claim_attempts)
        .where(claim_attempts.c.claim_id == claim_id, claim_attempts.c.status.in_(("held", "queued")))
        .values(status="superseded")
    )
    await session.execute(delete(send_queue).where(send_queue.c.claim_id == claim_id))
    await session.execute(
        claim_attempts.insert().values(
            claim_id=claim_id,
            attempt_number=attempt_number,
            organization_id=organization_id,
            frequency_code=domain.next_frequency(payer_has_claim=replaces),
            status=status,
            business_date=on,
            scrub_passed="true" if result.passed else "false",
            scrub_edits=edits,
            manually_touched=manual,
            rework_of_attempt=last.attempt_number,
        )
    )
    await session.execute(
        update(claims)
        .where(claims.c.claim_id == claim_id)
        .values(
            charge=charge.model_dump(mode="json"),
            pending_charge=None,
            billed_amount=sum((line.amount for line in charge.lines), 0),
            scrub_edits=edits,
            status=status,
            status_reason=None if result.passed else "; ".join(e.reason for e in result.errors),
            manually_touched=claims.c.manually_touched | manual,
            updated_at=func.now(),
        )
    )
    await record_visit(session, organization_id=organization_id, claim_id=claim_id, charge=charge, billed=result.passed)
    await resolve_work_items(
        session,
        claim_id=claim_id,
        queues=RESOLVED_BY_RESUBMISSION,
        resolved_date=on,
        resolution=resolution(attempt_number),
    )
    if result.passed:
        await consume_authorization(session, organization_id=organization_id, claim_id=claim_id, charge=charge, on=on)
        await check_authorization_burn_down(
            session, organization_id=organization_id, claim_id=claim_id, charge=charge, as_of=on
        )
        await session.execute(
            send_queue.insert().values(
                claim_id=claim_id, attempt_number=attempt_number, organization_id=organization_id
            )
        )
    else:
        await hold_claim(
            session,
            organization_id=organization_id,
            claim_id=claim_id,
            attempt_number=attempt_number,
            charge=charge,
            result=result,
            held_date=on,
            context=_context(organization_id, claim, on),
        )
    return int(attempt_number)


async def void_claim(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    reason: str,
    today: date,
    manual: bool,
    practice_ids: Any = None,
    causation_id: str | None = None,
) -> str:
    """Withdraw a claim: cancel it when the payer never got it, else send a void (8); returns the claim status."""
    claim = await _claim_for_update(session, claim_id, practice_ids)
    on = await business_date(session, today)
    if claim.status == "voided":
        return "voided"
    if claim.status in IN_FLIGHT and claim.status != "queued":
        raise Problem(409, "Conflict", f"claim {claim_id} is being sent; void it once it is acknowledged")
    payer_has_it = claim.status in PAYER_HOLDS
    if payer_has_it and not claim.payer_claim_number:
        await open_work_item(
            session,
            organization_id=organization_id,
            claim_id=claim_id,
            queue="correction",
            reason_code=VOID_PENDING,
            reason=f"void requested ({reason}); the payer's claim number is not known yet, so the void (frequency 8) "
            "goes out when the 835 or 277CA brings it",
            opened_date=on,
        )
        return str(claim.status)
    await session.execute(update(visits).where(visits.c.claim_id == claim_id).values(voided=True))
    await release_authorization(session, claim_id=claim_id, on=on)
    await resolve_work_items(
        session, claim_id=claim_id, queues=tuple(QUEUE_ACTIONS), resolved_date=on, resolution=f"voided: {reason}"
    )
    if payer_has_it:
        last = await _last_attempt(session, claim_id)
        await session.execute(
            claim_attempts.insert().values(
                claim_id=claim_id,
                attempt_number=last.attempt_number + 1,
                organization_id=organization_id,
                frequency_code=domain.next_frequency(payer_has_claim=True, void=True),
                status="queued",
                business_date=on,
                scrub_passed="true",
                scrub_edits=[],
                manually_touched=manual,
                rework_of_attempt=last.attempt_number,
            )
        )
        await session.execute(
            send_queue.insert().values(
                claim_id=claim_id, attempt_number=last.attempt_number + 1, organization_id=organization_id
            )
        )
        status = "queued"
    else:
        await session.execute(
            update(claim_attempts)
            .where(claim_attempts.c.claim_id == claim_id, claim_attempts.c.status.in_(("held", "queued", "rejected")))
            .values(status="voided")
        )
        await session.execute(delete(send_queue).where(send_queue.c.claim_id == claim_id))
        status = "voided"
    await session.execute(
        update(claims)
        .where(claims.c.claim_id == claim_id)
        .values(status=status, status_reason=f"void: {reason}", updated_at=func.now())
    )
    payload = ClaimVoided(claim_id=claim_id, charge_id=claim.charge_id, voided_date=on, reason=reason)
    topic, voided = build_event(
        "claim.voided", payload, **{**_context(organization_id, claim, on), "causation_id": causation_id}
    )
    await add_event(session, infra, topic, voided)
    return status


async def void_claims_of_charge(session: AsyncSession, event: ChargeVoidedEvent) -> None:
    """A withdrawn charge voids its claims: cancelled when not yet sent, a frequency-8 attempt once the payer has it."""
    await note_business_date(session, event.organizationid, event.businessdate)
    rows = (
        await session.execute(
            select(claims.c.claim_id).where(claims.c.charge_id == event.data.charge_id).order_by(claims.c.claim_id)
        )
    ).all()
    for row in rows:
        await void_claim(
            session,
            organization_id=event.organizationid,
            claim_id=row.claim_id,
            reason=f"charge voided: {event.data.reason}",
            today=event.businessdate,
            manual=False,
            causation_id=event.id,
        )


async def bill_charge(session: AsyncSession, event: ChargeCreatedEvent | ChargeReleasedEvent) -> None:
    """A charge ready to bill: its claim the first time; a later revision of the same charge replaces that claim."""
    if await create_claim_for_charge(session, event) and event.data.revision > 1:
        await replace_claim_of_charge(session, event)


async def replace_claim_of_charge(session: AsyncSession, event: ChargeCreatedEvent | ChargeReleasedEvent) -> None:
    """A charge re-coded after its claim was billed (care-management minutes that came after the month closed)
    goes out again as an attempt of the same claim, never as a void and a new claim (DOMAIN.md 6: a replaced claim
    stays one claim): a replacement (7, REF*F8) once the payer has the claim, an original again while it never did.
    While an attempt is being sent, or the payer's claim number is not known yet, it waits on the claim and goes out
    when the 835 brings the number; a redelivered or older revision changes nothing."""
    charge = event.data
    assert charge.coverage is not None  # only charges with a coverage have claims
    claim = (
        await session.execute(
            select(claims)
            .where(claims.c.charge_id == charge.charge_id, claims.c.payer_priority == charge.coverage.priority)
            .with_for_update()
        )
    ).first()
    if claim is None or claim.status == "voided":
        return
    known = ChargeFacts.model_validate(claim.pending_charge or claim.charge)
    if charge.revision <= known.revision:
        return
    on = await business_date(session, event.businessdate)
    payer_has_it = claim.status in PAYER_HOLDS or claim.adjudicated_date is not None
    if claim.status in IN_FLIGHT or (payer_has_it and not claim.payer_claim_number):
        await session.execute(
            update(claims)
            .where(claims.c.claim_id == claim.claim_id)
            .values(pending_charge=charge.model_dump(mode="json"), updated_at=func.now())
        )
        await open_work_item(
            session,
            organization_id=event.organizationid,
            claim_id=claim.claim_id,
            queue="correction",
            reason_code=REPLACEMENT_PENDING,
            reason=f"charge {charge.charge_id} was re-coded (revision {charge.revision}) after it was billed; the "
            "replacement (frequency 7) goes out when the payer's claim number is known",
            opened_date=on,
            source_event_id=event.id,
        )
        return
    await resubmit(
        session,
        organization_id=event.organizationid,
        claim=claim,
        charge=charge,
        replaces=payer_has_it,
        manual=charge.manually_touched,  # a coder released this revision
        on=on,
        resolution=lambda attempt: f"re-coded charge (revision {charge.revision}) sent as attempt {attempt}",
    )


async def send_pending_replacement(
    session: AsyncSession, *, organization_id: uuid.UUID, claim_id: str, today: date
) -> None:
    """Send the re-coded charge that waited on a claim for the payer's claim number, as a replacement (7)."""
    claim = await _claim_for_update(session, claim_id, None)
    if claim.pending_charge is None or not claim.payer_claim_number or claim.status in IN_FLIGHT:
        return
    charge = ChargeFacts.model_validate(claim.pending_charge)
    await resubmit(
        session,
        organization_id=organization_id,
        claim=claim,
        charge=charge,
        replaces=True,
        manual=charge.manually_touched,
        on=await business_date(session, today),
        resolution=lambda attempt: f"re-coded charge (revision {charge.revision}) sent as attempt {attempt}",
    )


async def on_remittance_posted(session: AsyncSession, event: RemittancePostedEvent) -> None:
    """Record the adjudication, then send a void or a replacement that waited for the payer's claim number."""
    waiting = await record_adjudication(session, event, open_reason_codes=(VOID_PENDING, REPLACEMENT_PENDING))
    if REPLACEMENT_PENDING in waiting and VOID_PENDING not in waiting:
        await send_pending_replacement(
            session, organization_id=event.organizationid, claim_id=event.data.claim_id, today=event.businessdate
        )
    if VOID_PENDING in waiting:
        await void_claim(
            session,
            organization_id=event.organizationid,
            claim_id=event.data.claim_id,
            reason="void requested before the payer's claim number was known",
            today=event.businessdate,
            manual=False,
            causation_id=event.id,
        )


def _context(organization_id: uuid.UUID, claim: Any, on: date) -> dict[str, Any]:
    """Envelope attributes of an event about a reworked claim."""
    return {
        "source": SOURCE,
        "subject": claim.claim_id,
        "organization_id": organization_id,
        "business_date": on,
        "correlation_id": claim.correlation_id,
        "practice_id": claim.practice_id,
    }
