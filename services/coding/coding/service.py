"""Coding use cases for encounters: code once, re-code on amendment, void on cancellation."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coding import domain, monthly, repository
from coding.charges import (
    ChargeDraft,
    EventContext,
    announce,
    charge_lines,
    revise_charge,
    revision_id,
    same_billing_party,
    settings,
    snapshot,
    store_and_announce,
    stored_signature,
    void_charge,
)
from coding.models import infra
from coding.months import close_due_months, close_patient_month
from coding.rulebook import FeeEntry, RuleBook, rule_book
from shared.db import defer_until_commit, set_tenant
from shared.events.catalogue import EncounterAmendedEvent, EncounterCancelledEvent, EncounterReceivedEvent
from shared.events.charge import HoldReason
from shared.events.encounter import EncounterFacts
from shared.replica import required_reference

AMENDED_AFTER_REVIEW = HoldReason(
    rule_id="AMENDED-AFTER-REVIEW",
    reason="the encounter was amended after a person resolved its charge; confirm the codes again",
)


async def coding_context(
    session: AsyncSession, facts: EncounterFacts, rules: RuleBook
) -> tuple[domain.CodingContext, tuple[FeeEntry, ...]]:
    """Payer policy, the patient's history and the provider's start date from coding's own data."""
    payer: dict[str, Any] | None = None
    if facts.coverage is not None:
        payer = (
            await required_reference(session, infra, "payer", str(facts.coverage.payer_id), organization_precedes=True)
            or {}
        )
    provider = (
        await required_reference(
            session, infra, "provider", str(facts.provider.provider_id), organization_precedes=True
        )
        or {}
    )
    first_service = provider.get("first_service_date")
    since = domain.years_before(facts.date_of_service, int(rules.policy["new_patient_lookback_years"]) + 1)
    rows = await repository.patient_history(
        session, facts.patient.patient_id, since=since, exclude_encounter=facts.encounter_id
    )
    history = tuple(
        domain.PriorService(
            charge_id=row.charge_id,
            date_of_service=row.date_of_service,
            procedure_code=line["procedure_code"],
            modifiers=tuple(line["modifiers"]),
            same_provider=row.provider_id == facts.provider.provider_id,
            same_specialty=row.provider_taxonomy == facts.provider.taxonomy,
            place_of_service=line["place_of_service"],
        )
        for row in rows
        for line in row.lines
    )
    configured = settings()
    context = domain.CodingContext(
        payer=domain.payer_policy(payer, facts.date_of_service, rules),
        history=history,
        provider_first_service_date=date.fromisoformat(first_service) if first_service else None,
        review_share=configured.review_sample_share,
        review_window_days=configured.review_window_days,
    )
    return context, await repository.practice_fees(session, facts.practice.practice_id)


async def draft_for(
    session: AsyncSession, facts: EncounterFacts, *, revision: int, amendment_number: int = 0
) -> tuple[ChargeDraft, domain.CodingOutcome]:
    """Code an encounter into a charge draft (priced lines, holds, notes)."""
    rules = rule_book(facts.date_of_service)
    context, fees = await coding_context(session, facts, rules)
    outcome = domain.code_encounter(facts, context, rules)
    payer_id = str(facts.coverage.payer_id) if facts.coverage else None
    lines, fee_holds = charge_lines(
        outcome.lines,
        diagnosis_count=len(facts.diagnoses),
        program=outcome.program,
        payer_id=payer_id,
        fees=fees,
        rules=rules,
    )
    holds = [HoldReason(rule_id=hold.rule_id, reason=hold.reason) for hold in outcome.holds] + fee_holds
    draft = ChargeDraft(
        charge_id=revision_id(str(facts.encounter_id), revision),
        encounter_id=facts.encounter_id,
        facts=snapshot(facts),
        date_of_service=facts.date_of_service,
        program=outcome.program,
        lines=lines,
        holds=holds,
        notes=list(outcome.notes),
        review_sampled=outcome.review_sampled,
        revision=revision,
        amendment_number=amendment_number,
    )
    return draft, outcome


async def code_received_encounter(session: AsyncSession, event: EncounterReceivedEvent) -> None:
    """Code an accepted encounter once: a charge, a hold, or minutes toward a care-management month."""
    context = EventContext.caused_by(event)
    await code_facts(session, context, event.data, amendment_number=0)
    await observe_business_date(session, context)


async def code_facts(
    session: AsyncSession, context: EventContext, facts: EncounterFacts, *, amendment_number: int
) -> None:
    """Code an encounter not coded before (or whose earlier charges are all voided)."""
    existing, minutes_counted = await repository.coded_before(session, facts.encounter_id)
    if amendment_number == 0 and (existing or minutes_counted):
        return
    revision = (existing[-1].revision + 1) if existing else 1
    draft, outcome = await draft_for(session, facts, revision=revision, amendment_number=amendment_number)
    if outcome.accumulate:
        await add_minutes(session, context, facts, amendment_number)
        return
    await store_and_announce(session, context, draft)


async def add_minutes(
    session: AsyncSession, context: EventContext, facts: EncounterFacts, amendment_number: int
) -> None:
    """Count a care-management encounter toward its patient-month; re-close that month if it already closed."""
    month = monthly.month_start(facts.date_of_service)
    await repository.upsert_minutes(
        session,
        {
            "organization_id": context.organization_id,
            "encounter_id": facts.encounter_id,
            "patient_id": facts.patient.patient_id,
            "practice_id": facts.practice.practice_id,
            "month": month,
            "model": facts.flags.care_management_model,
            "minutes": facts.minutes.care_management or 0,
            "date_of_service": facts.date_of_service,
            "facts": snapshot(facts),
            "cancelled": False,
            "amendment_number": amendment_number,
        },
    )
    await reclose_if_closed(session, context, facts.patient.patient_id, month)


async def recode_amended_encounter(session: AsyncSession, event: EncounterAmendedEvent) -> None:
    """Re-code an amended encounter: a changed result voids the previous charge and issues the next revision."""
    context = EventContext.caused_by(event)
    facts = EncounterFacts.model_validate(event.data.model_dump())
    number = event.data.amendment_number
    minutes = await repository.minutes_row(session, facts.encounter_id)
    existing = await repository.charges_of_encounter(session, facts.encounter_id)
    latest = existing[-1] if existing else None
    applied = max(minutes.amendment_number if minutes else 0, latest.amendment_number if latest else 0)
    if (minutes is not None or latest is not None) and number <= applied:
        return
    revision = latest.revision if latest is not None else 1
    draft, outcome = await draft_for(session, facts, revision=revision, amendment_number=number)
    if minutes is not None and not minutes.cancelled and not outcome.accumulate:
        await repository.cancel_minutes(session, facts.encounter_id)
        await reclose_if_closed(session, context, minutes.patient_id, minutes.month)
    if outcome.accumulate and minutes is not None and minutes.month != monthly.month_start(facts.date_of_service):
        await repository.cancel_minutes(session, facts.encounter_id)
        await reclose_if_closed(session, context, minutes.patient_id, minutes.month)
    if outcome.accumulate:
        if latest is not None and latest.status in repository.ACTIVE:
            await void_charge(session, context, latest, "encounter amended: now care-management minutes")
        await add_minutes(session, context, facts, number)
    elif latest is None:
        await store_and_announce(session, context, draft)
    elif latest.status == "held":
        await repository.update_charge(
            session,
            latest.charge_id,
            {
                "status": "held" if draft.holds else "created",
                "program": draft.program,
                "date_of_service": draft.date_of_service,
                "total_amount": draft.total,
                "lines": [line.model_dump(mode="json") for line in draft.lines],
                "hold_reasons": [hold.model_dump(mode="json") for hold in draft.holds],
                "notes": draft.notes,
                "review_sampled": draft.review_sampled,
                "facts": draft.facts,
                "amendment_number": number,
            },
        )
        draft.charge_id = latest.charge_id
        await announce(session, context, draft, "held" if draft.holds else "created")
    elif latest.status in ("created", "released") and stored_signature(latest) == draft.signature():
        await repository.update_charge(session, latest.charge_id, {"amendment_number": number, "facts": draft.facts})
    elif latest.status in ("created", "released") and same_billing_party(latest, draft):
        # Re-coded after it was billed: the same charge's next revision, which submission sends as a replacement.
        await revise_charge(session, context, latest, draft, after_review=AMENDED_AFTER_REVIEW)
    else:
        # Withdrawn earlier (voided, rejected), or now billed to another patient or payer: a charge of its own.
        if latest.status == "released":
            draft.holds.append(AMENDED_AFTER_REVIEW)
        draft.revision = latest.revision + 1
        draft.charge_id = revision_id(str(facts.encounter_id), draft.revision)
        if latest.status in ("created", "released"):
            await void_charge(session, context, latest, "encounter amended and re-coded", replaced_by=draft.charge_id)
        await store_and_announce(session, context, draft)
    await observe_business_date(session, context)


async def void_cancelled_encounter(session: AsyncSession, event: EncounterCancelledEvent) -> None:
    """Void the live charge of a cancelled encounter, or take its minutes out of their month."""
    context = EventContext.caused_by(event)
    encounter_id = event.data.encounter_id
    reason = f"encounter cancelled{': ' + event.data.reason if event.data.reason else ''}"
    for row in await repository.charges_of_encounter(session, encounter_id):
        if row.status in repository.ACTIVE:
            await void_charge(session, context, row, reason)
    minutes = await repository.minutes_row(session, encounter_id)
    if minutes is not None and not minutes.cancelled:
        await repository.cancel_minutes(session, encounter_id)
        await reclose_if_closed(session, context, minutes.patient_id, minutes.month)
    await observe_business_date(session, context)


_OBSERVED_DATES = "coding.observed-business-dates"


async def observe_business_date(session: AsyncSession, context: EventContext) -> None:
    """Note an event's business date: before the unit of work commits, the organization's clock moves and the
    care-management months it has passed close, once however many of its events the unit of work applied."""
    observed: dict[uuid.UUID, EventContext] = session.info.setdefault(_OBSERVED_DATES, {})
    latest = observed.get(context.organization_id)
    if latest is None or context.business_date > latest.business_date:
        observed[context.organization_id] = context
    defer_until_commit(session, _OBSERVED_DATES, _advance_clocks)


async def _advance_clocks(session: AsyncSession) -> None:
    """Move each observed organization's clock to the latest date its events carried and close its due months
    (the event carrying that date is the months' cause)."""
    observed: dict[uuid.UUID, EventContext] = session.info.pop(_OBSERVED_DATES, {})
    for organization_id, context in observed.items():
        await set_tenant(session, organization_id)
        today = await repository.advance_clock(session, organization_id, context.business_date)
        await close_due_months(session, context, today)


async def reclose_if_closed(session: AsyncSession, context: EventContext, patient_id: uuid.UUID, month: date) -> None:
    """Late or changed minutes of a closed month: close it again (re-coding its charge if the result changed)."""
    if await repository.month_record(session, patient_id, month) is not None:
        await close_patient_month(session, context, patient_id, month)
