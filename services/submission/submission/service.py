"""Submission use cases on charge events: build one claim per charge, scrub it, hold it or queue it for sending."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import ChargeCreatedEvent, ChargeReleasedEvent, build_event
from shared.events.charge import ChargeFacts, HoldReason
from shared.events.claim import ClaimHeld
from shared.outbox import add_event
from shared.replica import required_reference
from submission import domain, payer_edits, scrub_input, scrubber
from submission.models import (
    authorization_usage,
    claim_attempts,
    claims,
    infra,
    send_queue,
    skipped_charges,
    visits,
)
from submission.queues import SCRUBBER_HOLD, check_authorization_burn_down, note_business_date, open_work_item

SOURCE = "submission"
UNSENT = ("held", "queued")


async def claim_history(
    session: AsyncSession, *, charge: ChargeFacts, claim_id: str | None
) -> scrub_input.ClaimHistory:
    """The stored counters a claim is scrubbed against: the patient's other visits with this payer, units of the
    authorization consumed by other claims, and whether the primary claim of the charge is adjudicated."""
    coverage = charge.coverage
    if coverage is None:
        return scrub_input.ClaimHistory()
    first, last = scrub_input.history_window(charge.date_of_service)
    rows = (
        await session.execute(
            select(visits).where(
                visits.c.patient_id == charge.patient.patient_id,
                visits.c.payer_id == coverage.payer_id,
                visits.c.voided.is_(False),
                visits.c.charge_id != charge.charge_id,
                visits.c.date_of_service.between(first, last),
            )
        )
    ).all()
    prior = tuple(
        scrub_input.PriorVisit(
            claim_id=row.claim_id,
            charge_id=row.charge_id,
            date_of_service=row.date_of_service,
            provider_id=row.provider_id,
            procedure_codes=tuple(row.procedure_codes),
            billed=row.billed,
        )
        for row in rows
        if row.claim_id != claim_id
    )
    consumed = 0
    if charge.authorization is not None:
        consumed = int(
            await session.scalar(
                select(func.coalesce(func.sum(authorization_usage.c.units), 0)).where(
                    authorization_usage.c.authorization_id == charge.authorization.authorization_id,
                    authorization_usage.c.released_date.is_(None),
                    authorization_usage.c.claim_id != (claim_id or ""),
                )
            )
            or 0
        )
    primary_adjudicated = False
    if coverage.priority != "primary":
        primary_adjudicated = (
            await session.scalar(
                select(func.count()).where(
                    claims.c.charge_id == charge.charge_id,
                    claims.c.payer_priority == "primary",
                    claims.c.adjudicated_date.is_not(None),
                )
            )
            or 0
        ) > 0
    return scrub_input.ClaimHistory(
        prior_visits=prior, authorization_units_consumed=consumed, primary_adjudicated=primary_adjudicated
    )


async def scrub(
    session: AsyncSession, *, charge: ChargeFacts, claim_id: str | None, submission_date: date
) -> scrubber.ScrubResult:
    """Scrub a claim against its payer's profile in force on the date of service, its provider and its history."""
    coverage = charge.coverage
    payer = None
    if coverage is not None:
        payer = domain.payer_from_replica(await required_reference(session, infra, "payer", str(coverage.payer_id)))
    provider = domain.provider_from_replica(
        await required_reference(session, infra, "provider", str(charge.provider.provider_id))
    )
    return scrubber.scrub_claim(
        scrub_input.ScrubInput(
            charge=charge,
            submission_date=submission_date,
            payer=payer,
            profile=domain.profile_in_force(payer, charge.date_of_service),
            provider=provider,
            history=await claim_history(session, charge=charge, claim_id=claim_id),
        )
    )


async def record_visit(
    session: AsyncSession, *, organization_id: uuid.UUID, claim_id: str, charge: ChargeFacts, billed: bool
) -> None:
    """Store (or refresh after a correction) a claim's visit; a billed one counts in its benefit period."""
    assert charge.coverage is not None  # claims exist only for charges with a coverage
    values: dict[str, Any] = {
        "organization_id": organization_id,
        "charge_id": charge.charge_id,
        "patient_id": charge.patient.patient_id,
        "payer_id": charge.coverage.payer_id,
        "provider_id": charge.provider.provider_id,
        "date_of_service": charge.date_of_service,
        "procedure_codes": [line.procedure_code for line in charge.lines],
        "billed": billed,
    }
    statement = pg_insert(visits).values(claim_id=claim_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["claim_id"], set_=values))


async def consume_authorization(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    charge: ChargeFacts,
    on: date,
    first_attempt: bool = False,
) -> None:
    """Record the authorization units a claim going out consumes (replacing what an earlier attempt consumed;
    a claim's first attempt has none to replace)."""
    auth = charge.authorization
    if not first_attempt:
        await session.execute(
            delete(authorization_usage).where(
                authorization_usage.c.claim_id == claim_id, authorization_usage.c.released_date.is_(None)
            )
        )
    units = payer_edits.authorization_units(charge)
    if auth is None or units == 0:
        return
    statement = pg_insert(authorization_usage).values(
        claim_id=claim_id,
        authorization_id=auth.authorization_id,
        organization_id=organization_id,
        units=units,
        consumed_date=on,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["claim_id", "authorization_id"],
            set_={"units": units, "consumed_date": on, "released_date": None},
        )
    )


async def release_authorization(session: AsyncSession, *, claim_id: str, on: date) -> None:
    """Give back the authorization units of a voided claim."""
    await session.execute(
        update(authorization_usage)
        .where(authorization_usage.c.claim_id == claim_id, authorization_usage.c.released_date.is_(None))
        .values(released_date=on)
    )


async def create_claim_for_charge(session: AsyncSession, event: ChargeCreatedEvent | ChargeReleasedEvent) -> None:
    """Create the claim of a new (or released) charge once, scrub it, and hold it or queue its first attempt."""
    charge = event.data
    coverage = charge.coverage
    await note_business_date(session, event.organizationid, event.businessdate)
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
    claim_id = domain.new_claim_id()
    result = await scrub(session, charge=charge, claim_id=claim_id, submission_date=event.businessdate)
    status = "queued" if result.passed else "held"
    billed = sum((line.amount for line in charge.lines), Decimal("0"))
    edits = [edit.model_dump(mode="json") for edit in result.edits]
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
            status_reason=None if result.passed else "; ".join(e.reason for e in result.errors),
            scrub_edits=edits,
            charge=charge.model_dump(mode="json"),
            correlation_id=event.correlationid,
            source_event_id=event.id,
            created_date=event.businessdate,
            manually_touched=charge.manually_touched,
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
            scrub_passed="true" if result.passed else "false",
            scrub_edits=edits,
            manually_touched=charge.manually_touched,
        )
    )
    await record_visit(
        session, organization_id=event.organizationid, claim_id=claim_id, charge=charge, billed=result.passed
    )
    if result.passed:
        await consume_authorization(
            session,
            organization_id=event.organizationid,
            claim_id=claim_id,
            charge=charge,
            on=event.businessdate,
            first_attempt=True,
        )
        await check_authorization_burn_down(
            session, organization_id=event.organizationid, claim_id=claim_id, charge=charge, as_of=event.businessdate
        )
        await session.execute(
            send_queue.insert().values(claim_id=claim_id, attempt_number=1, organization_id=event.organizationid)
        )
        return
    await hold_claim(
        session,
        organization_id=event.organizationid,
        claim_id=claim_id,
        attempt_number=1,
        charge=charge,
        result=result,
        held_date=event.businessdate,
        context=_event_context(event, claim_id, charge.practice.practice_id),
    )


async def hold_claim(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    attempt_number: int,
    charge: ChargeFacts,
    result: scrubber.ScrubResult,
    held_date: date,
    context: dict[str, Any],
) -> None:
    """Put a claim the scrubber held in the hold queue and emit claim.held with the reasons."""
    coverage = charge.coverage
    assert coverage is not None
    errors = result.errors
    await open_work_item(
        session,
        organization_id=organization_id,
        claim_id=claim_id,
        queue=SCRUBBER_HOLD,
        reason_code=",".join(sorted({e.rule_id for e in errors})),
        reason="; ".join(e.reason for e in errors),
        opened_date=held_date,
    )
    payload = ClaimHeld(
        claim_id=claim_id,
        charge_id=charge.charge_id,
        payer_id=coverage.payer_id,
        provider_id=charge.provider.provider_id,
        patient_id=charge.patient.patient_id,
        program=charge.program,
        date_of_service=charge.date_of_service,
        charge_posted_date=charge.charge_posted_date,
        billed_amount=sum((line.amount for line in charge.lines), Decimal("0")),
        payer_priority=coverage.priority,
        attempt_number=attempt_number,
        held_date=held_date,
        scrub_edits=list(result.edits),
        reasons=[HoldReason(rule_id=e.rule_id, reason=e.reason) for e in errors],
    )
    topic, held = build_event("claim.held", payload, **context)
    await add_event(session, infra, topic, held)


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
