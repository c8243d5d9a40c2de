"""Submission use cases on charge events: build one claim per charge, scrub it, hold it or queue it for sending."""

from __future__ import annotations

import functools
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import bound, bound_insert_for_each, prefixed
from shared.events.catalogue import ChargeCreatedEvent, ChargeReleasedEvent, build_event
from shared.events.charge import ChargeFacts, HoldReason
from shared.events.claim import ClaimHeld
from shared.outbox import add_event
from shared.replica import required_reference
from submission import domain, payer_edits, scrub_input, scrubber
from submission.history import claim_context, claim_history
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


async def scrub(
    session: AsyncSession,
    *,
    charge: ChargeFacts,
    claim_id: str | None,
    submission_date: date,
    history: scrub_input.ClaimHistory | None = None,
) -> scrubber.ScrubResult:
    """Scrub a claim against its payer's profile in force on the date of service, its provider and its history
    (read here unless the caller has it)."""
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
            history=history if history is not None else await claim_history(session, charge=charge, claim_id=claim_id),
        )
    )


async def record_visit(
    session: AsyncSession, *, organization_id: uuid.UUID, claim_id: str, charge: ChargeFacts, billed: bool
) -> None:
    """Store (or refresh after a correction) a claim's visit; a billed one counts in its benefit period."""
    values = _visit_values(organization_id, charge, billed=billed)
    statement = pg_insert(visits).values(claim_id=claim_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["claim_id"], set_=values))


def _visit_values(organization_id: uuid.UUID, charge: ChargeFacts, *, billed: bool) -> dict[str, Any]:
    """A claim's row in the visit history (all but its claim id)."""
    assert charge.coverage is not None  # claims exist only for charges with a coverage
    return {
        "organization_id": organization_id,
        "charge_id": charge.charge_id,
        "patient_id": charge.patient.patient_id,
        "payer_id": charge.coverage.payer_id,
        "provider_id": charge.provider.provider_id,
        "date_of_service": charge.date_of_service,
        "procedure_codes": [line.procedure_code for line in charge.lines],
        "billed": billed,
    }


async def consume_authorization(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    charge: ChargeFacts,
    on: date,
) -> None:
    """Record the authorization units a claim going out again consumes (replacing what an earlier attempt consumed;
    a new claim's are stored with it)."""
    auth = charge.authorization
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


async def create_claim_for_charge(session: AsyncSession, event: ChargeCreatedEvent | ChargeReleasedEvent) -> bool:
    """Create the claim of a new (or released) charge once, scrub it, and hold it or queue its first attempt; True
    when the charge already had its claim for that payer (nothing was created)."""
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
        return False
    claim_id = domain.new_claim_id()
    existing, history = await claim_context(session, charge=charge, claim_id=claim_id)
    if existing is not None:
        return True
    result = await scrub(session, charge=charge, claim_id=claim_id, submission_date=event.businessdate, history=history)
    units = payer_edits.authorization_units(charge) if result.passed else 0
    stored = await session.scalar(*_store_new_claim(event, claim_id, result, units))
    if stored is None:
        return True
    if result.passed:
        await check_authorization_burn_down(
            session,
            organization_id=event.organizationid,
            claim_id=claim_id,
            charge=charge,
            as_of=event.businessdate,
            consumed=history.authorization_units_consumed + units,
        )
        return False
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
    return False


def _store_new_claim(
    event: ChargeCreatedEvent | ChargeReleasedEvent, claim_id: str, result: scrubber.ScrubResult, units: int
) -> tuple[Select[Any], dict[str, Any]]:
    """One statement storing a new claim with its first attempt and its visit, and for a claim going out its
    authorization use and its place in the send queue (with its parameters); it returns the claim id, or nothing
    when a claim of the charge and payer priority was stored first (and then writes nothing else)."""
    charge = event.data
    coverage = charge.coverage
    assert coverage is not None
    status = "queued" if result.passed else "held"
    edits = [edit.model_dump(mode="json") for edit in result.edits]
    organization_id = event.organizationid
    claim = {
        "claim_id": claim_id,
        "organization_id": organization_id,
        "practice_id": charge.practice.practice_id,
        "charge_id": charge.charge_id,
        "payer_priority": coverage.priority,
        "payer_id": coverage.payer_id,
        "provider_id": charge.provider.provider_id,
        "patient_id": charge.patient.patient_id,
        "program": charge.program,
        "date_of_service": charge.date_of_service,
        "charge_posted_date": charge.charge_posted_date,
        "billed_amount": sum((line.amount for line in charge.lines), Decimal("0")),
        "status": status,
        "status_reason": None if result.passed else "; ".join(e.reason for e in result.errors),
        "scrub_edits": edits,
        "charge": charge.model_dump(mode="json"),
        "correlation_id": event.correlationid,
        "source_event_id": event.id,
        "created_date": event.businessdate,
        "manually_touched": charge.manually_touched,
    }
    attempt = {
        "attempt_number": 1,
        "organization_id": organization_id,
        "frequency_code": "1",
        "status": status,
        "business_date": event.businessdate,
        "scrub_passed": "true" if result.passed else "false",
        "scrub_edits": edits,
        "manually_touched": charge.manually_touched,
    }
    visit = _visit_values(organization_id, charge, billed=result.passed)
    parameters = prefixed("claim_", claim) | prefixed("attempt_", attempt) | prefixed("visit_", visit)
    usage: dict[str, Any] = {}
    if units and charge.authorization is not None:
        usage = {
            "authorization_id": charge.authorization.authorization_id,
            "organization_id": organization_id,
            "units": units,
            "consumed_date": event.businessdate,
        }
        parameters |= prefixed("usage_", usage)
    if result.passed:
        parameters |= prefixed("queue_", {"attempt_number": 1, "organization_id": organization_id})
    statement = _new_claim_statement(tuple(claim), tuple(attempt), tuple(visit), tuple(usage), result.passed)
    return statement, parameters


@functools.cache
def _new_claim_statement(
    claim: tuple[str, ...], attempt: tuple[str, ...], visit: tuple[str, ...], usage: tuple[str, ...], queued: bool
) -> Select[Any]:
    """`_store_new_claim`'s statement for the columns given, built once (every new claim sends it)."""
    stored = (
        pg_insert(claims)
        .values(bound(claims, "claim_", claim))
        .on_conflict_do_nothing()
        .returning(claims.c.claim_id)
        .cte("stored_claim")
    )
    # Rows keyed by claim, each written only when the claim itself was stored (its id carried from the insert).
    key = ("claim_id",)
    writes = [
        bound_insert_for_each(claim_attempts, stored, "attempt_", attempt, carry=key),
        bound_insert_for_each(visits, stored, "visit_", visit, carry=key),
    ]
    if usage:
        writes.append(bound_insert_for_each(authorization_usage, stored, "usage_", usage, carry=key))
    if queued:
        queue = ("attempt_number", "organization_id")
        writes.append(bound_insert_for_each(send_queue, stored, "queue_", queue, carry=key))
    return select(stored.c.claim_id).add_cte(*(write.cte(f"{write.table.name}_row") for write in writes))


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
