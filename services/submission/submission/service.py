"""Submission use cases on charge events: build one claim per charge, scrub it, hold it or queue it for sending."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import ChargeCreatedEvent, ChargeVoidedEvent, build_event
from shared.events.charge import HoldReason
from shared.events.claim import ClaimHeld, ClaimVoided
from shared.outbox import add_event
from shared.replica import reference_entity
from submission import domain
from submission.models import claim_attempts, claims, infra, send_queue, skipped_charges

SOURCE = "submission"
UNSENT = ("held", "queued")


async def create_claim_for_charge(session: AsyncSession, event: ChargeCreatedEvent) -> None:
    """Create the primary claim of a new charge once, scrub it, and hold it or queue its first attempt."""
    charge = event.data
    coverage = charge.coverage
    if coverage is None:
        await session.execute(
            pg_insert(skipped_charges)
            .values(
                organization_id=event.organizationid,
                charge_id=charge.charge_id,
                reason="no coverage on file: nothing to bill to a payer (self-pay)",
                business_date=event.businessdate,
                source_event_id=event.id,
            )
            .on_conflict_do_nothing()
        )
        return
    existing = await session.scalar(
        select(claims.c.claim_id).where(
            claims.c.charge_id == charge.charge_id, claims.c.payer_priority == coverage.priority
        )
    )
    if existing is not None:
        return
    payer = await reference_entity(session, infra, "payer", str(coverage.payer_id))
    scrub = domain.scrub_claim(
        domain.ScrubInput(
            charge=charge,
            submission_date=event.businessdate,
            timely_filing_days=domain.timely_filing_days(payer, charge.date_of_service),
        )
    )
    claim_id = domain.new_claim_id()
    status = "queued" if scrub.passed else "held"
    billed = sum((line.amount for line in charge.lines), Decimal("0"))
    edits = [edit.model_dump(mode="json") for edit in scrub.edits]
    inserted = await session.scalar(
        pg_insert(claims)
        .values(
            claim_id=claim_id,
            organization_id=event.organizationid,
            practice_id=charge.practice.practice_id,
            charge_id=charge.charge_id,
            payer_priority=coverage.priority,
            payer_id=coverage.payer_id,
            provider_id=charge.provider.provider_id,
            patient_id=charge.patient.patient_id,
            program=charge.program,
            date_of_service=charge.date_of_service,
            charge_posted_date=charge.charge_posted_date,
            billed_amount=billed,
            status=status,
            status_reason=None if scrub.passed else "; ".join(e.reason for e in scrub.edits if e.severity == "error"),
            scrub_edits=edits,
            charge=charge.model_dump(mode="json"),
            correlation_id=event.correlationid,
            source_event_id=event.id,
            created_date=event.businessdate,
        )
        .on_conflict_do_nothing()
        .returning(claims.c.claim_id)
    )
    if inserted is None:
        return
    await session.execute(
        claim_attempts.insert().values(
            claim_id=claim_id,
            attempt_number=1,
            organization_id=event.organizationid,
            frequency_code="1",
            status=status,
            business_date=event.businessdate,
            scrub_passed="true" if scrub.passed else "false",
        )
    )
    if scrub.passed:
        await session.execute(
            send_queue.insert().values(claim_id=claim_id, attempt_number=1, organization_id=event.organizationid)
        )
        return
    payload = ClaimHeld(
        claim_id=claim_id,
        charge_id=charge.charge_id,
        payer_id=coverage.payer_id,
        provider_id=charge.provider.provider_id,
        patient_id=charge.patient.patient_id,
        program=charge.program,
        date_of_service=charge.date_of_service,
        charge_posted_date=charge.charge_posted_date,
        billed_amount=billed,
        payer_priority=coverage.priority,
        attempt_number=1,
        held_date=event.businessdate,
        scrub_edits=list(scrub.edits),
        reasons=[HoldReason(rule_id=e.rule_id, reason=e.reason) for e in scrub.edits if e.severity == "error"],
    )
    topic, held = build_event("claim.held", payload, **_event_context(event, claim_id, charge.practice.practice_id))
    await add_event(session, infra, topic, held)


async def void_claims_of_charge(session: AsyncSession, event: ChargeVoidedEvent) -> None:
    """Void the claims of a withdrawn charge that have not been sent (a sent claim needs a frequency-8 attempt)."""
    rows = (
        await session.execute(
            select(claims.c.claim_id, claims.c.practice_id, claims.c.status).where(
                claims.c.charge_id == event.data.charge_id
            )
        )
    ).all()
    for row in rows:
        if row.status not in UNSENT:
            continue
        reason = f"charge voided: {event.data.reason}"
        await session.execute(
            update(claims).where(claims.c.claim_id == row.claim_id).values(status="voided", status_reason=reason)
        )
        await session.execute(
            update(claim_attempts)
            .where(claim_attempts.c.claim_id == row.claim_id, claim_attempts.c.status.in_(UNSENT))
            .values(status="voided")
        )
        await session.execute(delete(send_queue).where(send_queue.c.claim_id == row.claim_id))
        payload = ClaimVoided(
            claim_id=row.claim_id, charge_id=event.data.charge_id, voided_date=event.businessdate, reason=reason
        )
        topic, voided = build_event("claim.voided", payload, **_event_context(event, row.claim_id, row.practice_id))
        await add_event(session, infra, topic, voided)


def _event_context(event: Any, claim_id: str, practice_id: Any) -> dict[str, Any]:
    """The envelope attributes of an event caused by an incoming charge event."""
    return {
        "source": SOURCE,
        "subject": claim_id,
        "organization_id": event.organizationid,
        "business_date": event.businessdate,
        "correlation_id": event.correlationid,
        "causation_id": event.id,
        "practice_id": practice_id,
    }
