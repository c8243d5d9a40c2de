"""Care-management months: close a patient-month on the business clock into a charge, a hold, or a no-charge."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coding import domain, monthly, repository
from coding.charges import (
    ChargeDraft,
    EventContext,
    charge_lines,
    revise_charge,
    revision_id,
    same_billing_party,
    settings,
    store_and_announce,
)
from coding.charges import void_charge as void_existing_charge
from coding.metrics import MONTHS_CLOSED
from coding.models import infra
from coding.rulebook import rule_book
from shared.events.charge import HoldReason
from shared.events.encounter import EncounterFacts
from shared.replica import reference_entity

PROGRAM = "collaborative_care"
MONTH_REVISED_AFTER_REVIEW = HoldReason(
    rule_id="MONTH-REVISED-AFTER-REVIEW",
    reason="minutes arrived for the month after a person resolved its charge; confirm the codes again",
)


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
    previous = await repository.month_charge(session, patient_id, month)
    collaborative = sum(row.minutes for row in rows if row.model == "collaborative_care")
    bhi = sum(row.minutes for row in rows if row.model == "general_bhi")
    draft, reason = await month_draft(session, patient_id, month, rows, collaborative=collaborative, bhi=bhi)
    live = previous if previous is not None and previous.status in repository.ACTIVE else None
    if draft is None:
        if live is not None:
            await void_existing_charge(session, context, live, "care-management month re-coded: nothing to bill")
        charge_id = None
    elif live is not None and same_billing_party(live, draft):
        await revise_charge(session, context, live, draft, after_review=MONTH_REVISED_AFTER_REVIEW)
        charge_id = live.charge_id
    else:
        # A first charge; or one after the month's earlier charge was voided or rejected; or one billing another
        # payer now (a coverage changed), whose claim the old charge's void withdraws: a charge of its own.
        if live is not None:
            await void_existing_charge(session, context, live, "care-management month re-coded for another payer")
        draft.revision = previous.revision + 1 if previous is not None else 1
        draft.charge_id = revision_id(month_charge_base(patient_id, month), draft.revision)
        await store_and_announce(session, context, draft)
        charge_id = draft.charge_id
    if charge_id is None:
        status = "no_charge"
    else:
        stored = await repository.charge(session, charge_id)
        status = "held" if stored is not None and stored.status == "held" else "charged"
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


async def month_draft(
    session: AsyncSession, patient_id: uuid.UUID, month: date, rows: list[Any], *, collaborative: int, bhi: int
) -> tuple[ChargeDraft | None, str | None]:
    """The charge a patient-month's minutes make (None, with the reason, when they bill nothing)."""
    if not rows:
        return None, "every care-management minute of the month was cancelled"
    end = monthly.month_end(month)
    rules = rule_book(end)
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
    if not (outcome.lines or outcome.holds):
        return None, outcome.no_charge_reason
    fees = await repository.practice_fees(session, encounter.practice.practice_id)
    lines, fee_holds = charge_lines(
        outcome.lines,
        diagnosis_count=len(facts["diagnoses"]),
        program=PROGRAM,
        payer_id=str(encounter.coverage.payer_id) if encounter.coverage else None,
        fees=fees,
        rules=rules,
    )
    threshold_met = monthly.threshold_date(
        [(row.date_of_service, row.minutes) for row in rows],
        monthly.billed_minimum(outcome.lines[0].procedure_code, rules) if outcome.lines else 0,
    )
    draft = ChargeDraft(
        charge_id=month_charge_base(patient_id, month),
        encounter_id=None,
        facts=facts,
        date_of_service=monthly.date_of_service_for(
            month, rules, payer_type=policy.payer_type, threshold_met=threshold_met
        ),
        program=PROGRAM,
        lines=lines,
        holds=[HoldReason(rule_id=h.rule_id, reason=h.reason) for h in outcome.holds] + fee_holds,
        care_management_month=month,
    )
    return draft, outcome.no_charge_reason


async def close_due_months(session: AsyncSession, context: EventContext, today: date) -> int:
    """Close every patient-month whose grace period (business days after its end) is over; how many closed."""
    grace = settings().care_management_close_business_days
    due = await repository.months_due(session, before=monthly.first_open_month(today, grace))
    for row in due:
        await close_patient_month(session, context, row.patient_id, row.month)
    return len(due)


async def close_month(session: AsyncSession, context: EventContext, month: date) -> list[dict[str, Any]]:
    """Close one month for every patient with minutes in it (the month must be over on the business clock)."""
    due = await repository.months_due(session, before=monthly.month_end(month), month=month)
    return [await close_patient_month(session, context, row.patient_id, row.month) for row in due]
