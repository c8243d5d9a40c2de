"""Care-management months: close a patient-month on the business clock into a charge, a hold, or a no-charge."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coding import domain, monthly, repository
from coding.charges import ChargeDraft, EventContext, charge_lines, revision_id, store_and_announce, stored_signature
from coding.charges import void_charge as void_existing_charge
from coding.metrics import MONTHS_CLOSED
from coding.models import infra
from coding.rulebook import rule_book
from shared.events.charge import HoldReason
from shared.events.encounter import EncounterFacts
from shared.replica import reference_entity

PROGRAM = "collaborative_care"


def month_charge_base(patient_id: uuid.UUID, month: date) -> str:
    """Charge id of a patient-month: patient + month."""
    return f"cm-{patient_id}-{monthly.month_label(month)}"


def month_facts(rows: list[Any]) -> dict[str, Any]:
    """Billing facts of a month from its encounters: the latest one's snapshots, diagnoses of all (up to 12)."""
    latest = dict(rows[-1].facts)
    diagnoses: list[str] = []
    for row in reversed(rows):
        for code in row.facts["diagnoses"]:
            if code not in diagnoses:
                diagnoses.append(code)
    return {**latest, "diagnoses": diagnoses[:12], "authorization": None}


async def close_patient_month(
    session: AsyncSession, context: EventContext, patient_id: uuid.UUID, month: date
) -> dict[str, Any]:
    """Close (or re-close) one patient-month: bill it, hold it, or record why there is no charge."""
    rows = list(await repository.month_minutes(session, patient_id, month))
    record = await repository.month_record(session, patient_id, month)
    previous = await repository.charge(session, record.charge_id) if record is not None and record.charge_id else None
    collaborative = sum(row.minutes for row in rows if row.model == "collaborative_care")
    bhi = sum(row.minutes for row in rows if row.model == "general_bhi")
    end = monthly.month_end(month)
    rules = rule_book(end)
    draft: ChargeDraft | None = None
    reason: str | None
    if rows:
        facts = month_facts(rows)
        encounter = EncounterFacts.model_validate(rows[-1].facts)
        payer: dict[str, Any] | None = None
        if encounter.coverage is not None:
            payer = await reference_entity(session, infra, "payer", str(encounter.coverage.payer_id)) or {}
        policy = domain.payer_policy(payer, end, rules)
        earlier = await repository.earlier_collaborative_months(session, patient_id, month)
        outcome = monthly.code_month(
            collaborative_minutes=collaborative,
            bhi_minutes=bhi,
            first_month=monthly.is_first_month(month, earlier, rules),
            payer_type=policy.payer_type,
            rules=rules,
        )
        reason = outcome.no_charge_reason
        if outcome.lines or outcome.holds:
            fees = await repository.practice_fees(session, encounter.practice.practice_id)
            lines, fee_holds = charge_lines(
                outcome.lines,
                diagnosis_count=len(facts["diagnoses"]),
                program=PROGRAM,
                payer_id=str(encounter.coverage.payer_id) if encounter.coverage else None,
                fees=fees,
                rules=rules,
            )
            revision = previous.revision + 1 if previous is not None else 1
            draft = ChargeDraft(
                charge_id=revision_id(month_charge_base(patient_id, month), revision),
                encounter_id=None,
                facts=facts,
                date_of_service=monthly.date_of_service_for(
                    month,
                    rules,
                    payer_type=policy.payer_type,
                    threshold_met=monthly.threshold_date(
                        [(row.date_of_service, row.minutes) for row in rows],
                        monthly.billed_minimum(outcome.lines[0].procedure_code, rules) if outcome.lines else 0,
                    ),
                ),
                program=PROGRAM,
                lines=lines,
                holds=[HoldReason(rule_id=h.rule_id, reason=h.reason) for h in outcome.holds] + fee_holds,
                revision=revision,
                care_management_month=month,
            )
    else:
        reason = "every care-management minute of the month was cancelled"
    live_previous = previous is not None and previous.status in repository.ACTIVE
    charge_id = previous.charge_id if previous is not None and live_previous else None
    if draft is not None and live_previous and previous is not None and stored_signature(previous) == draft.signature():
        draft = None
    elif live_previous and previous is not None:
        replaced_by = draft.charge_id if draft is not None else None
        await void_existing_charge(
            session, context, previous, "care-management month re-coded", replaced_by=replaced_by
        )
        charge_id = None
    if draft is not None:
        await store_and_announce(session, context, draft)
        charge_id = draft.charge_id
    status = "no_charge" if charge_id is None else ("held" if draft is not None and draft.holds else "charged")
    if draft is None and charge_id is not None and record is not None:
        status = record.status
    practice_id = rows[-1].practice_id if rows else (record.practice_id if record is not None else None)
    values = {
        "organization_id": context.organization_id,
        "patient_id": patient_id,
        "month": month,
        "practice_id": practice_id,
        "status": status,
        "charge_id": charge_id,
        "reason": reason if charge_id is None else None,
        "collaborative_minutes": collaborative,
        "bhi_minutes": bhi,
        "closed_date": context.business_date,
    }
    await repository.save_month(session, values)
    MONTHS_CLOSED.labels(status).inc()
    return values


async def close_due_months(session: AsyncSession, context: EventContext, today: date) -> int:
    """Close every patient-month that ended before the business date (less the grace days); how many closed."""
    grace = int(rule_book(today).time_bands["care_management"]["close_after_days"])
    due = await repository.months_due(session, before=monthly.month_start(today - timedelta(days=grace)))
    for row in due:
        await close_patient_month(session, context, row.patient_id, row.month)
    return len(due)


async def close_month(session: AsyncSession, context: EventContext, month: date) -> list[dict[str, Any]]:
    """Close one month for every patient with minutes in it (the month must be over on the business clock)."""
    due = await repository.months_due(session, before=monthly.month_end(month), month=month)
    return [await close_patient_month(session, context, row.patient_id, row.month) for row in due]
