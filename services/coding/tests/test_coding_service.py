"""Coding use cases on the real database: once-only charges, re-coding, voids, month closes, sampling, payer data."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from coding.holds import resolve_hold
from coding.schemas import OverrideLineIn, ResolveHoldIn

from shared.auth import Principal
from shared.db import unit_of_work
from shared.events.encounter import EncounterCancelled, EncounterFacts

if TYPE_CHECKING:
    from conftest import Coding

pytestmark = pytest.mark.stack
SEPTEMBER = date(2026, 9, 15)


def codes(event: dict[str, Any]) -> list[str]:
    """Rendered lines of a charge payload: code, xunits, -modifiers."""
    return [
        line["procedure_code"]
        + (f"x{line['units']}" if line["units"] > 1 else "")
        + "".join(f"-{m}" for m in line["modifiers"])
        for line in event["lines"]
    ]


async def test_a_redelivered_encounter_creates_no_second_charge(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    facts = visit(psychotherapy=53)
    await coding.receive(facts)
    await coding.receive(facts)
    assert len(await coding.charges(facts.encounter_id)) == 1
    events = await coding.events(str(facts.encounter_id))
    assert [kind for kind, _ in events] == ["charge.created"]
    created = events[0][1]
    assert codes(created) == ["90837"]
    assert created["lines"][0]["explanation"] == "53 min psychotherapy → 90837"
    assert created["lines"][0]["rule_ids"] == ["PT-60"]
    assert created["lines"][0]["amount"] == "200.00"
    assert created["lines"][0]["diagnosis_pointers"] == [1, 2]
    assert created["program"] == "outpatient_therapy"


async def test_an_amendment_that_changes_the_coding_revises_the_charge_under_its_own_id(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    facts = visit(psychotherapy=45)
    first = str(facts.encounter_id)
    await coding.receive(facts)
    longer = facts.model_copy(update={"minutes": facts.minutes.model_copy(update={"psychotherapy": 53})})
    await coding.amend(longer, 1)
    await coding.amend(longer, 1)  # the same amendment again changes nothing
    await coding.amend(longer, 2)  # a later amendment with the same coding changes nothing either
    events = await coding.events(first)
    assert [kind for kind, _ in events] == ["charge.created", "charge.created"]
    assert codes(events[1][1]) == ["90837"]
    assert (events[1][1]["revision"], events[1][1]["charge_posted_date"]) == (2, events[0][1]["charge_posted_date"])
    assert await coding.events(f"{first}.2") == []
    assert [(row.charge_id, row.status, row.revision) for row in await coding.charges(facts.encounter_id)] == [
        (first, "created", 2)
    ]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("payer", id="billed to another payer"),
        pytest.param("patient", id="charted for another patient"),
    ],
)
async def test_an_amendment_that_bills_another_party_voids_the_charge_and_issues_a_new_one(
    coding: Coding, visit: Callable[..., EncounterFacts], change: str
) -> None:
    facts = visit(psychotherapy=45, payer_id=uuid.uuid4())
    first = str(facts.encounter_id)
    await coding.receive(facts)
    other = visit(psychotherapy=53, payer_id=uuid.uuid4(), encounter_id=facts.encounter_id)
    field, value = ("coverage", other.coverage) if change == "payer" else ("patient", other.patient)
    moved = facts.model_copy(update={"minutes": other.minutes, field: value})
    await coding.amend(moved, 1)
    events = await coding.events(first)
    assert [kind for kind, _ in events] == ["charge.created", "charge.voided"]
    assert events[1][1]["replaced_by"] == f"{first}.2"
    assert [kind for kind, _ in await coding.events(f"{first}.2")] == ["charge.created"]


async def test_an_amendment_with_the_missing_minutes_completes_the_held_charge(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    facts = visit()
    await coding.receive(facts)
    held = await coding.events(str(facts.encounter_id))
    assert [kind for kind, _ in held] == ["charge.held"]
    assert [reason["rule_id"] for reason in held[0][1]["reasons"]] == ["MINUTES-MISSING"]
    await coding.amend(facts.model_copy(update={"minutes": facts.minutes.model_copy(update={"psychotherapy": 40})}), 1)
    events = await coding.events(str(facts.encounter_id))
    assert [kind for kind, _ in events] == ["charge.held", "charge.created"]
    assert codes(events[1][1]) == ["90834"]


async def test_a_cancelled_encounter_voids_its_charge(coding: Coding, visit: Callable[..., EncounterFacts]) -> None:
    facts = visit(psychotherapy=30)
    await coding.receive(facts)
    await coding.deliver(
        "encounter.cancelled",
        EncounterCancelled(encounter_id=facts.encounter_id, reason="entered in error"),
        str(facts.encounter_id),
        date(2026, 10, 3),
    )
    events = await coding.events(str(facts.encounter_id))
    assert [kind for kind, _ in events] == ["charge.created", "charge.voided"]
    assert events[1][1]["reason"] == "encounter cancelled: entered in error"
    assert (await coding.charge(str(facts.encounter_id))).status == "voided"


async def test_care_management_minutes_are_charged_once_when_the_month_closes(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    practice, provider = uuid.uuid4(), uuid.uuid4()
    enrolled, light = uuid.uuid4(), uuid.uuid4()
    september = date(2026, 9, 1)

    def minutes(patient: uuid.UUID, day: date, spent: int) -> EncounterFacts:
        return visit(
            "care_management",
            date_of_service=day,
            patient_id=patient,
            practice_id=practice,
            provider_id=provider,
            care_management=spent,
            flags={"care_management_model": "collaborative_care"},
        )

    await coding.receive(minutes(enrolled, date(2026, 9, 5), 20), business_date=date(2026, 9, 5))
    await coding.receive(minutes(enrolled, date(2026, 9, 20), 20), business_date=date(2026, 9, 20))
    await coding.receive(minutes(light, date(2026, 9, 21), 15), business_date=date(2026, 9, 21))
    charge_id = f"cm-{enrolled}-2026-09"
    assert await coding.events(charge_id) == []
    assert await coding.month(enrolled, september) is None

    # September closes once its grace period of 5 business days (October 1-7) is over on the business clock.
    await coding.receive(visit(psychotherapy=40, practice_id=practice), business_date=date(2026, 10, 7))
    assert await coding.events(charge_id) == []
    await coding.receive(visit(psychotherapy=40, practice_id=practice), business_date=date(2026, 10, 8))
    events = await coding.events(charge_id)
    assert [kind for kind, _ in events] == ["charge.created"]
    created = events[0][1]
    assert codes(created) == ["99492"]
    assert created["date_of_service"] == "2026-09-30"
    assert created["care_management_month"] == "2026-09"
    assert created["program"] == "collaborative_care"
    assert Decimal(created["total_amount"]) == Decimal("170.00")
    assert created["lines"][0]["explanation"] == "40 min collaborative care in a first month (≥ 36) → 99492"
    no_charge = await coding.month(light, september)
    assert no_charge.status == "no_charge"
    assert no_charge.charge_id is None
    assert "15 min collaborative care" in no_charge.reason

    # Late minutes for the closed month re-close it: 90 minutes → 99492 + one 99494, the next revision of the same
    # charge (never a void and a second charge).
    await coding.receive(minutes(enrolled, date(2026, 9, 28), 50), business_date=date(2026, 10, 9))
    events = await coding.events(charge_id)
    assert [kind for kind, _ in events] == ["charge.created", "charge.created"]
    assert codes(events[1][1]) == ["99492", "99494"]
    assert events[1][1]["revision"] == 2
    assert events[1][1]["charge_posted_date"] == "2026-10-08"
    assert await coding.events(f"{charge_id}.2") == []
    assert (await coding.month(enrolled, september)).charge_id == charge_id


async def test_the_second_month_of_collaborative_care_is_99493(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    patient = uuid.uuid4()
    for day, spent in ((date(2026, 8, 10), 40), (date(2026, 9, 10), 31)):
        facts = visit(
            "care_management",
            date_of_service=day,
            patient_id=patient,
            care_management=spent,
            flags={"care_management_model": "collaborative_care"},
        )
        await coding.receive(facts, business_date=day)
    await coding.receive(visit(psychotherapy=40), business_date=date(2026, 10, 8))
    assert codes((await coding.events(f"cm-{patient}-2026-08"))[0][1]) == ["99492"]
    assert codes((await coding.events(f"cm-{patient}-2026-09"))[0][1]) == ["99493"]


async def test_a_share_of_a_new_clinicians_first_90_days_is_held_for_review(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    provider, practice = uuid.uuid4(), uuid.uuid4()
    await coding.reference(
        provider,
        {
            "entity_type": "provider",
            "practice_id": str(practice),
            "first_name": "New",
            "last_name": "Clinician",
            "npi": "1234567893",
            "taxonomy": "101YM0800X",
            "license_type": "LCSW",
            "first_service_date": "2026-09-01",
        },
    )
    sampled, billed = [], []
    for number in range(12):
        encounter_id = uuid.uuid5(uuid.NAMESPACE_URL, f"sampling-{number}")
        # 20% by default (policy.yaml): the first 16 hex digits of sha256(encounter id) as a fraction of 16**16.
        fraction = int(hashlib.sha256(str(encounter_id).encode()).hexdigest()[:16], 16) / 16**16
        (sampled if fraction < 0.2 else billed).append(encounter_id)
        facts = visit(psychotherapy=45, encounter_id=encounter_id, provider_id=provider, practice_id=practice)
        await coding.receive(facts)
    assert sampled, "the fixed ids include at least one sampled encounter"
    assert billed
    for encounter_id in sampled:
        (kind, held), *_ = await coding.events(str(encounter_id))
        assert kind == "charge.held"
        assert [reason["rule_id"] for reason in held["reasons"]] == ["REVIEW-NEW-CLINICIAN"]
        assert held["review_sampled"] is True
        assert codes(held) == ["90834"]
    for encounter_id in billed:
        assert [kind for kind, _ in await coding.events(str(encounter_id))] == ["charge.created"]
    after_window = visit(
        psychotherapy=45,
        provider_id=provider,
        practice_id=practice,
        date_of_service=date(2026, 11, 30),
    )
    await coding.receive(after_window)
    assert [kind for kind, _ in await coding.events(str(after_window.encounter_id))] == ["charge.created"]


async def test_payer_profile_and_practice_fee_schedule_set_pos_modifier_and_amount(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    payer, practice = uuid.uuid4(), uuid.uuid4()
    await coding.reference(
        payer,
        {
            "entity_type": "payer",
            "name": "Medicare",
            "x12_payer_id": "MCARE",
            "profiles": [
                {"effective_from": "2020-01-01", "payer_type": "medicare", "telehealth": {"video_modifier": "95"}},
                {"effective_from": "2026-01-01", "payer_type": "medicare", "telehealth": {"video_modifier": None}},
            ],
        },
    )
    for entity_id, payer_id, amount in ((uuid.uuid4(), None, "180.00"), (uuid.uuid4(), str(payer), "175.00")):
        await coding.reference(
            entity_id,
            {
                "entity_type": "fee_schedule_entry",
                "practice_id": str(practice),
                "payer_id": payer_id,
                "code": "90837",
                "amount": amount,
                "effective_from": "2026-01-01",
            },
        )
    facts = visit(psychotherapy=60, place="telehealth_video", home=True, practice_id=practice, payer_id=payer)
    await coding.receive(facts)
    (kind, created), *_ = await coding.events(str(facts.encounter_id))
    assert kind == "charge.created"
    assert codes(created) == ["90837"]
    assert created["lines"][0]["place_of_service"] == "10"
    assert created["lines"][0]["amount"] == "175.00"
    assert created["program"] == "telehealth"
    earlier = visit(
        psychotherapy=60,
        place="telehealth_video",
        home=True,
        practice_id=practice,
        payer_id=payer,
        date_of_service=date(2025, 12, 1),
    )
    await coding.receive(earlier)
    (_, created_2025), *_ = await coding.events(str(earlier.encounter_id))
    assert codes(created_2025) == ["90837-95"]
    assert created_2025["lines"][0]["amount"] == "200.00"


async def test_family_therapy_after_same_day_psychotherapy_takes_modifier_59(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    patient, provider = uuid.uuid4(), uuid.uuid4()
    await coding.receive(visit(psychotherapy=45, patient_id=patient, provider_id=provider))
    family = visit("family", family=50, flags={"family_present": True}, patient_id=patient, provider_id=provider)
    await coding.receive(family)
    (_, created), *_ = await coding.events(str(family.encounter_id))
    assert codes(created) == ["90847-59"]
    crisis = visit("crisis", crisis=60, patient_id=patient, provider_id=provider)
    await coding.receive(crisis)
    (kind, held), *_ = await coding.events(str(crisis.encounter_id))
    assert kind == "charge.held"
    assert "PAIR-90834-90839" in [reason["rule_id"] for reason in held["reasons"]]


async def test_a_patient_seen_within_three_years_is_established(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    patient, provider = uuid.uuid4(), uuid.uuid4()
    first = visit(
        "office_visit",
        evaluation_and_management=30,
        license_type="MD",
        date_of_service=date(2024, 1, 10),
        patient_id=patient,
        provider_id=provider,
    )
    await coding.receive(first)
    (_, created), *_ = await coding.events(str(first.encounter_id))
    assert codes(created) == ["99203"]
    again = visit(
        "office_visit", evaluation_and_management=30, license_type="MD", patient_id=patient, provider_id=provider
    )
    await coding.receive(again)
    (_, created), *_ = await coding.events(str(again.encounter_id))
    assert codes(created) == ["99214"]


async def test_an_amendment_after_a_person_resolved_the_charge_goes_back_to_review(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    facts = visit()
    await coding.receive(facts)
    reviewer = Principal(
        organization_id=coding.organization_id,
        key_id="coder1",
        scopes=frozenset({"claims:write"}),
        practice_ids=frozenset(),
    )
    decision = ResolveHoldIn(
        action="override",
        reason="documented 40 minutes on paper",
        lines=[OverrideLineIn(procedure_code="90834")],
    )
    async with unit_of_work(coding.sessions, coding.organization_id) as session:
        row = await resolve_hold(session, reviewer, str(facts.encounter_id), decision, date(2026, 10, 2))
    assert row.status == "released"
    released = (await coding.events(str(facts.encounter_id)))[-1]
    assert released[0] == "charge.released"
    assert codes(released[1]) == ["90834"]
    assert released[1]["override"]["resolved_by"] == "coder1"

    await coding.amend(facts.model_copy(update={"minutes": facts.minutes.model_copy(update={"psychotherapy": 55})}), 1)
    kind, held = (await coding.events(str(facts.encounter_id)))[-1]
    assert kind == "charge.held"
    assert held["revision"] == 2
    assert [reason["rule_id"] for reason in held["reasons"]] == ["AMENDED-AFTER-REVIEW"]
    assert codes(held) == ["90837"]
