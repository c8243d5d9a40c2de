"""Coding review: a person releases, overrides or rejects a held charge; the decision travels in the charge events."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coding import domain, repository
from coding.charges import EventContext, charge_lines, emit, revised_in_place
from coding.rulebook import rule_book
from coding.schemas import OverrideLineIn, ResolveHoldIn
from shared.auth import Principal
from shared.events.charge import ChargeLine, ChargeOverride, ChargeReleased, ChargeVoided, HoldReason
from shared.events.encounter import EncounterFacts
from shared.problems import Problem, invalid_fields


def invalid(errors: list[tuple[str, str]]) -> Problem:
    """A 422 naming each bad field of the request."""
    return invalid_fields(errors)


def visit_place_of_service(facts: dict[str, Any], proposed: list[dict[str, Any]]) -> str:
    """The place of service an override line defaults to: the proposed lines', else the visit's."""
    if proposed:
        return str(proposed[0]["place_of_service"])
    if "place_of_care" not in facts:
        return "11"
    encounter = EncounterFacts.model_validate(facts)
    rules = rule_book(encounter.date_of_service)
    return domain.place_of_service(encounter.place_of_care, encounter.patient_at_home, domain.PayerPolicy(), rules)


async def override_lines(session: AsyncSession, row: Any, body_lines: list[OverrideLineIn]) -> list[ChargeLine]:
    """Price and check the lines a coder sent; 422 for combinations no payer accepts."""
    facts = dict(row.facts or {})
    rules = rule_book(row.date_of_service)
    diagnosis_count = len(facts.get("diagnoses", []))
    default_pointers = domain.diagnosis_pointers(diagnosis_count, rules)
    pos = visit_place_of_service(facts, list(row.lines))
    coded = [
        domain.CodedLine(
            line.procedure_code,
            tuple(line.modifiers),
            line.units,
            line.place_of_service or pos,
            ("OVERRIDE",),
            f"set by coding review: {line.procedure_code}",
        )
        for line in body_lines
    ]
    pointers = [line.diagnosis_pointers or default_pointers for line in body_lines]
    problems = domain.override_problems(coded, pointers, diagnosis_count, rules)
    if problems:
        raise invalid(problems)
    coverage = facts.get("coverage") or {}
    fees = await repository.practice_fees(session, row.practice_id)
    priced, fee_holds = charge_lines(
        coded,
        diagnosis_count=diagnosis_count,
        program=row.program,
        payer_id=coverage.get("payer_id"),
        fees=fees,
        rules=rules,
    )
    if fee_holds:
        raise invalid([(f"lines.{i}.procedure_code", hold.reason) for i, hold in enumerate(fee_holds)])
    return [line.model_copy(update={"diagnosis_pointers": pointers[i]}) for i, line in enumerate(priced)]


async def resolve_hold(
    session: AsyncSession, principal: Principal, charge_id: str, body: ResolveHoldIn, business_date: date
) -> Any:
    """Release (as coded or overridden) or reject a held charge; returns the updated row."""
    if body.action == "override" and not body.lines:
        raise invalid([("lines", "override needs the lines to bill")])
    if body.action != "override" and body.lines:
        raise invalid([("lines", f"{body.action} takes no lines; use override to change codes")])
    row = await repository.charge(session, charge_id, for_update=True)
    if row is None or not principal.may_access_practice(row.practice_id):
        raise Problem(404, "Not Found", f"charge {charge_id} not found")
    if row.status != "held":
        raise Problem(409, "Charge not held", f"charge {charge_id} is {row.status}; only held charges are resolved")
    context = EventContext(
        organization_id=principal.organization_id,
        business_date=business_date,
        correlation_id=str(row.encounter_id or row.charge_id),
    )
    resolved_by = str(principal.user_id or principal.key_id)
    original = [line["procedure_code"] for line in row.lines]
    decision = ChargeOverride(
        action=body.action,
        reason=body.reason,
        resolved_by=resolved_by,
        resolved_date=business_date,
        original_codes=original,
    )
    if body.action == "reject":
        await repository.update_charge(
            session, charge_id, {"status": "rejected", "resolution": decision.model_dump(mode="json")}
        )
        voided = ChargeVoided(
            charge_id=charge_id, reason=f"rejected in coding review: {body.reason}", encounter_id=row.encounter_id
        )
        await emit(session, context, "charge.voided", voided, charge_id, row.practice_id)
        return await repository.charge(session, charge_id)
    if body.action == "release":
        if not row.lines:
            raise invalid([("action", "nothing was coded to confirm; use override with the lines to bill")])
        lines = [ChargeLine.model_validate(line) for line in row.lines]
    else:
        lines = await override_lines(session, row, body.lines or [])
    facts = dict(row.facts or {})
    total = sum((line.amount for line in lines), Decimal("0"))
    # A charge is posted when it becomes billable; one revised in place after it was billed keeps its first posting.
    posted = row.charge_posted_date if revised_in_place(row) else business_date
    released = ChargeReleased.model_validate(
        {
            "charge_id": charge_id,
            "encounter_id": row.encounter_id,
            "date_of_service": row.date_of_service,
            "charge_posted_date": posted,
            "program": row.program,
            "practice": facts["practice"],
            "provider": facts["provider"],
            "patient": facts["patient"],
            "coverage": facts.get("coverage"),
            "authorization": facts.get("authorization"),
            "diagnoses": facts["diagnoses"],
            "lines": lines,
            "total_amount": total,
            "manually_touched": True,
            "review_sampled": row.review_sampled,
            "hold_reasons": [HoldReason.model_validate(hold) for hold in row.hold_reasons],
            "override": decision if body.action == "override" else None,
            "notes": list(row.notes),
            "revision": row.revision,
            "care_management_month": row.care_management_month.strftime("%Y-%m") if row.care_management_month else None,
            "reviewer_note": body.reason,
            "resolution": "overridden" if body.action == "override" else "confirmed",
        }
    )
    await repository.update_charge(
        session,
        charge_id,
        {
            "status": "released",
            "lines": [line.model_dump(mode="json") for line in lines],
            "total_amount": total,
            "charge_posted_date": posted,
            "resolution": decision.model_dump(mode="json"),
        },
    )
    await emit(session, context, "charge.released", released, charge_id, uuid.UUID(str(row.practice_id)))
    return await repository.charge(session, charge_id)
