"""The eligibility work queue intake owns: visits accepted with a coverage problem, and their resolution."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.amendments import store_amendment, stored_encounter, stored_input
from intake.common import audit, invalid
from intake.encounter_schemas import EligibilityItem, EligibilityPage, EncounterView, WorkQueueFlagOut
from intake.encounters import evaluate
from intake.models import encounters
from shared import icd10
from shared.auth import Principal
from shared.problems import Problem

ELIGIBILITY_FLAG = [{"queue": "eligibility"}]


def encode_cursor(encounter_id: uuid.UUID) -> str:
    """An opaque cursor after an encounter."""
    return base64.urlsafe_b64encode(encounter_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """The encounter a cursor points after, or a 422 naming the parameter."""
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:
        raise invalid("query.cursor", "not a cursor this endpoint returned") from error


async def eligibility_queue(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> EligibilityPage:
    """One page of encounters with an open eligibility flag, oldest id order, each read audited."""
    query = (
        select(encounters)
        .where(encounters.c.status != "cancelled", encounters.c.work_queue_flags.contains(ELIGIBILITY_FLAG))
        .order_by(encounters.c.encounter_id)
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(encounters.c.encounter_id > decode_cursor(cursor))
    if principal.practice_ids:
        query = query.where(encounters.c.practice_id.in_(sorted(principal.practice_ids)))
    rows = (await session.execute(query)).all()
    page = rows[:limit]
    for row in page:
        await audit(session, principal, "read", "encounter", row.encounter_id)
    items = [
        EligibilityItem(
            encounter_id=row.encounter_id,
            ehr_encounter_id=row.ehr_encounter_id,
            practice_id=row.practice_id,
            patient_id=row.patient_id,
            date_of_service=row.date_of_service,
            received_date=row.received_date,
            reasons=[WorkQueueFlagOut.model_validate(f) for f in row.work_queue_flags if f["queue"] == "eligibility"],
        )
        for row in page
    ]
    return EligibilityPage(items=items, next_cursor=encode_cursor(page[-1].encounter_id) if len(rows) > limit else None)


async def resolve_eligibility(
    session: AsyncSession,
    principal: Principal,
    encounter_id: uuid.UUID,
    note: str,
    correlation_id: str,
    releases: Sequence[icd10.CodeRelease],
) -> EncounterView:
    """Re-check coverage after a fix; when it now passes, leave the queue and emit encounter.amended."""
    row = await stored_encounter(session, principal, encounter_id)
    if row.status == "cancelled":
        raise Problem(409, "Encounter cancelled", f"encounter {encounter_id} was cancelled")
    if not any(f["queue"] == "eligibility" for f in row.work_queue_flags):
        raise Problem(409, "Not in the queue", f"encounter {encounter_id} is not in the eligibility work queue")
    current = stored_input(row.snapshot)
    facts = await evaluate(session, principal, current, releases, encounter_id)
    still = [f for f in facts["work_queue_flags"] if f.queue == "eligibility"]
    if still:
        raise Problem(
            409,
            "Eligibility problem remains",
            "; ".join(f.reason for f in still) + "; fix the coverage, then resolve again",
            errors=[{"field": "coverage", "reason": f.reason, "reason_code": f.reason_code} for f in still],
        )
    return await store_amendment(
        session, principal, row, current, facts, kind="resolved", note=note, correlation_id=correlation_id
    )
