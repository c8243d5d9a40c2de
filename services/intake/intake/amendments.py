"""Amendments and cancellations of encounters: the stored visit changed by the EHR, re-published downstream."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.common import audit, business_today, invalid
from intake.encounter_models import encounter_changes
from intake.encounter_schemas import (
    EncounterAmendmentIn,
    EncounterIn,
    EncounterView,
)
from intake.encounters import encounter_view, evaluate, intake_event
from intake.models import encounters, infra
from shared import icd10
from shared.auth import Principal
from shared.events.encounter import (
    EncounterAmended,
    EncounterCancelled,
)
from shared.outbox import add_event
from shared.problems import Problem, field_errors, invalid_fields


async def stored_encounter(session: AsyncSession, principal: Principal, encounter_id: uuid.UUID) -> Any:
    """A stored encounter of the caller (locked for update), or 404."""
    row = (
        await session.execute(select(encounters).where(encounters.c.encounter_id == encounter_id).with_for_update())
    ).first()
    if row is None or not principal.may_access_practice(row.practice_id):
        raise Problem(404, "Not Found", f"encounter {encounter_id} not found")
    return row


def stored_input(snapshot: dict[str, Any]) -> EncounterIn:
    """The native request a stored snapshot corresponds to (the base an amendment applies to)."""
    return EncounterIn.model_validate(
        {
            "ehr_encounter_id": snapshot["ehr_encounter_id"],
            "practice_id": snapshot["practice"]["practice_id"],
            "provider_id": snapshot["provider"]["provider_id"],
            "patient_id": snapshot["patient"]["patient_id"],
            "date_of_service": snapshot["date_of_service"],
            "service_type": snapshot["service_type"],
            "place_of_care": snapshot["place_of_care"],
            "patient_at_home": snapshot["patient_at_home"],
            "minutes": snapshot["minutes"],
            "mdm_level": snapshot["mdm_level"],
            "diagnoses": snapshot["diagnoses"],
            "flags": snapshot["flags"],
        }
    )


def amended_input(current: EncounterIn, amendment: EncounterAmendmentIn) -> EncounterIn:
    """The visit after an amendment: fields sent replace, minutes and flags merge by kind."""
    changes = amendment.model_dump(exclude_unset=True, exclude={"reason"})
    merged = current.model_dump()
    for nested in ("minutes", "flags"):
        sent = getattr(amendment, nested)
        if nested in changes and sent is not None:
            merged[nested] = {**merged[nested], **sent.model_dump(exclude_unset=True)}
            del changes[nested]
    try:
        return EncounterIn.model_validate({**merged, **changes})
    except ValidationError as error:
        # A field the visit needs cannot be cleared (`"date_of_service": null`): refuse the amendment, naming it.
        problems = field_errors(list(error.errors(include_input=False)))
        raise invalid_fields([(problem["field"], problem["reason"]) for problem in problems]) from None


async def _amendment_number(session: AsyncSession, encounter_id: uuid.UUID) -> int:
    """How many amendments the encounter has had."""
    number = await session.scalar(
        select(func.max(encounter_changes.c.amendment_number)).where(encounter_changes.c.encounter_id == encounter_id)
    )
    return int(number or 0)


async def store_amendment(
    session: AsyncSession,
    principal: Principal,
    row: Any,
    updated: EncounterIn,
    facts: dict[str, Any],
    *,
    kind: str,
    note: str | None,
    correlation_id: str,
) -> EncounterView:
    """Store a re-evaluated visit and emit encounter.amended with the next amendment number."""
    number = await _amendment_number(session, row.encounter_id) + 1
    amended = EncounterAmended.model_validate({**facts, "amendment_number": number})
    today = await business_today(session, principal.organization_id)
    await session.execute(
        encounters.update()
        .where(encounters.c.encounter_id == row.encounter_id)
        .values(
            status="amended",
            date_of_service=updated.date_of_service,
            snapshot=amended.model_dump(mode="json"),
            work_queue_flags=[f.model_dump(mode="json") for f in amended.work_queue_flags],
        )
    )
    await session.execute(
        encounter_changes.insert().values(
            organization_id=principal.organization_id,
            encounter_id=row.encounter_id,
            kind=kind,
            amendment_number=number,
            note=note,
            business_date=today,
            changes={"fields": sorted(_changed_fields(stored_input(row.snapshot), updated))},
        )
    )
    topic, event = intake_event(principal, "encounter.amended", amended, today, correlation_id, row.practice_id)
    await add_event(session, infra, topic, event)
    await audit(session, principal, "update", "encounter", row.encounter_id)
    view = await encounter_view(session, row.encounter_id)
    assert view is not None
    return view


def _changed_fields(before: EncounterIn, after: EncounterIn) -> set[str]:
    """Names of the fields an amendment changed (no values: the history carries no PHI)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {name for name in new if old.get(name) != new[name]}


async def amend_encounter(
    session: AsyncSession,
    principal: Principal,
    encounter_id: uuid.UUID,
    amendment: EncounterAmendmentIn,
    correlation_id: str,
    releases: Sequence[icd10.CodeRelease],
) -> EncounterView:
    """Apply the EHR's correction (late minutes, corrected diagnoses...) and emit encounter.amended."""
    row = await stored_encounter(session, principal, encounter_id)
    if row.status == "cancelled":
        raise Problem(409, "Encounter cancelled", f"encounter {encounter_id} was cancelled and cannot be amended")
    if not amendment.model_fields_set - {"reason"}:
        raise invalid("body", "an amendment must change at least one field")
    updated = amended_input(stored_input(row.snapshot), amendment)
    facts = await evaluate(session, principal, updated, releases, encounter_id)
    return await store_amendment(
        session, principal, row, updated, facts, kind="amended", note=amendment.reason, correlation_id=correlation_id
    )


async def cancel_encounter(
    session: AsyncSession, principal: Principal, encounter_id: uuid.UUID, reason: str, correlation_id: str
) -> EncounterView:
    """Withdraw a visit and emit encounter.cancelled (coding voids its charge, submission voids the claim)."""
    row = await stored_encounter(session, principal, encounter_id)
    if row.status == "cancelled":
        raise Problem(409, "Encounter cancelled", f"encounter {encounter_id} is already cancelled")
    today = await business_today(session, principal.organization_id)
    await session.execute(
        encounters.update().where(encounters.c.encounter_id == encounter_id).values(status="cancelled")
    )
    await session.execute(
        encounter_changes.insert().values(
            organization_id=principal.organization_id,
            encounter_id=encounter_id,
            kind="cancelled",
            amendment_number=await _amendment_number(session, encounter_id),
            note=reason,
            business_date=today,
            changes={},
        )
    )
    cancelled = EncounterCancelled(encounter_id=encounter_id, reason=reason)
    topic, event = intake_event(principal, "encounter.cancelled", cancelled, today, correlation_id, row.practice_id)
    await add_event(session, infra, topic, event)
    await audit(session, principal, "cancel", "encounter", encounter_id)
    view = await encounter_view(session, encounter_id)
    assert view is not None
    return view
