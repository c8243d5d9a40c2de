"""Coding use cases: turn an accepted encounter into a charge (or a hold) and queue its event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from coding import domain
from coding.models import charges, infra
from shared.events.catalogue import EncounterReceivedEvent, build_event
from shared.events.charge import ChargeCreated, ChargeHeld, ChargeLine, HoldReason
from shared.outbox import add_event
from shared.replica import reference_entity


async def fee_for(session: AsyncSession, *, practice_id: str, code: str, on: date) -> Decimal:
    """The practice's fee for a code on a date, from the replicated fee schedule (default table otherwise)."""
    table = infra.reference_entities
    rows = (
        await session.execute(
            select(table.c.attributes).where(
                table.c.entity_type == "fee_schedule_entry",
                table.c.deleted.is_(False),
                table.c.attributes["practice_id"].astext == practice_id,
                table.c.attributes["code"].astext == code,
            )
        )
    ).all()
    for (attributes,) in rows:
        starts = date.fromisoformat(attributes["effective_from"])
        ends = date.fromisoformat(attributes["effective_to"]) if attributes.get("effective_to") else None
        if starts <= on and (ends is None or on <= ends) and not attributes.get("payer_id"):
            return Decimal(str(attributes["amount"]))
    return domain.DEFAULT_FEES.get(code, Decimal("100.00"))


async def code_received_encounter(session: AsyncSession, event: EncounterReceivedEvent) -> None:
    """Code an accepted encounter once: a charge with priced lines, or a hold with reasons."""
    encounter = event.data
    payer_modifier: str | None = "95"
    if encounter.coverage is not None:
        payer = await reference_entity(session, infra, "payer", str(encounter.coverage.payer_id))
        payer_modifier = _telehealth_modifier(payer, encounter.date_of_service)
    outcome = domain.code_encounter(
        service_type=encounter.service_type,
        minutes=encounter.minutes.psychotherapy,
        place_of_care=encounter.place_of_care,
        patient_at_home=encounter.patient_at_home,
        payer_modifier=payer_modifier,
    )
    charge_id = str(encounter.encounter_id)
    lines = [
        ChargeLine(
            line_number=number,
            procedure_code=line.procedure_code,
            modifiers=list(line.modifiers),
            units=line.units,
            diagnosis_pointers=[1],
            place_of_service=line.place_of_service,
            amount=await fee_for(
                session,
                practice_id=str(encounter.practice.practice_id),
                code=line.procedure_code,
                on=encounter.date_of_service,
            )
            * line.units,
            rule_ids=list(line.rule_ids),
            explanation=line.explanation,
        )
        for number, line in enumerate(outcome.lines, start=1)
    ]
    holds = [HoldReason(rule_id=rule_id, reason=reason) for rule_id, reason in outcome.holds]
    total = sum((line.amount for line in lines), Decimal("0"))
    status = "held" if holds else "created"
    inserted = await session.scalar(
        pg_insert(charges)
        .values(
            charge_id=charge_id,
            organization_id=event.organizationid,
            practice_id=encounter.practice.practice_id,
            encounter_id=encounter.encounter_id,
            status=status,
            date_of_service=encounter.date_of_service,
            charge_posted_date=event.businessdate,
            program=outcome.program,
            total_amount=total,
            lines=[line.model_dump(mode="json") for line in lines],
            hold_reasons=[hold.model_dump(mode="json") for hold in holds],
            source_event_id=event.id,
        )
        .on_conflict_do_nothing()
        .returning(charges.c.charge_id)
    )
    if inserted is None:
        return
    common: dict[str, Any] = {
        "source": "coding",
        "subject": charge_id,
        "organization_id": event.organizationid,
        "business_date": event.businessdate,
        "correlation_id": event.correlationid,
        "causation_id": event.id,
        "practice_id": encounter.practice.practice_id,
    }
    if holds:
        payload: ChargeHeld | ChargeCreated = ChargeHeld(
            charge_id=charge_id,
            encounter_id=encounter.encounter_id,
            date_of_service=encounter.date_of_service,
            reasons=holds,
        )
        topic, charge_event = build_event("charge.held", payload, **common)
    else:
        payload = ChargeCreated(
            charge_id=charge_id,
            encounter_id=encounter.encounter_id,
            date_of_service=encounter.date_of_service,
            charge_posted_date=event.businessdate,
            program=outcome.program,
            practice=encounter.practice,
            provider=encounter.provider,
            patient=encounter.patient,
            coverage=encounter.coverage,
            authorization=encounter.authorization,
            diagnoses=encounter.diagnoses,
            lines=lines,
            total_amount=total,
        )
        topic, charge_event = build_event("charge.created", payload, **common)
    await add_event(session, infra, topic, charge_event)


def _telehealth_modifier(payer: dict[str, Any] | None, on: date) -> str | None:
    """The payer profile's telehealth modifier in force on a date (95 when the payer is unknown)."""
    if not payer:
        return "95"
    profiles = sorted(payer.get("profiles", []), key=lambda p: p["effective_from"])
    current = [p for p in profiles if date.fromisoformat(p["effective_from"]) <= on]
    return current[-1].get("telehealth_modifier") if current else "95"
