"""Care-management months closed and closed again on the real database: minutes that arrive after a month was billed
revise its one charge, change nothing, or bill it for the first time; never a void and a second charge."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
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
SEPTEMBER = date(2026, 9, 1)
# September 2026 closes once its five business days of grace (October 1-7) are over.
CLOSED = date(2026, 10, 8)
LATE = date(2026, 10, 9)


def billed(event: dict[str, Any]) -> list[tuple[str, int]]:
    """(code, units) of a charge payload's lines."""
    return [(line["procedure_code"], line["units"]) for line in event["lines"]]


class Month:
    """One patient's September of collaborative care, posted minute by minute."""

    def __init__(self, coding: Coding, visit: Callable[..., EncounterFacts], model: str = "collaborative_care"):
        self.coding = coding
        self.visit = visit
        self.model = model
        self.patient_id = uuid.uuid4()
        self.practice_id = uuid.uuid4()
        self.charge_id = f"cm-{self.patient_id}-2026-09"

    def minutes(self, spent: int, day: int = 10, payer_id: uuid.UUID | None = None) -> EncounterFacts:
        """A care-management encounter of the month (billed to a payer when one is given)."""
        return self.visit(
            "care_management",
            date_of_service=date(2026, 9, day),
            patient_id=self.patient_id,
            practice_id=self.practice_id,
            payer_id=payer_id,
            care_management=spent,
            flags={"care_management_model": self.model},
        )

    async def post(
        self, spent: int, *, day: int = 10, on: date = date(2026, 9, 20), payer_id: uuid.UUID | None = None
    ) -> EncounterFacts:
        """Post minutes on a business date."""
        facts = self.minutes(spent, day, payer_id)
        await self.coding.receive(facts, business_date=on)
        return facts

    async def close(self) -> None:
        """Move the business clock past the grace period with another visit of the organization."""
        await self.coding.receive(self.visit(psychotherapy=40, practice_id=self.practice_id), business_date=CLOSED)

    async def events(self, charge_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Charge events of the month's charge (or of another charge id)."""
        return await self.coding.events(charge_id or self.charge_id)


async def test_minutes_within_the_grace_period_count_before_the_month_is_billed(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    month = Month(coding, visit)
    await month.post(40)
    # Documentation of September that arrives on the fifth business day of October is still on time.
    await month.post(50, day=28, on=date(2026, 10, 7))
    assert await month.events() == []
    assert await coding.month(month.patient_id, SEPTEMBER) is None
    await month.close()
    (kind, created), *more = await month.events()
    assert (kind, billed(created), more) == ("charge.created", [("99492", 1), ("99494", 1)], [])


@pytest.mark.parametrize(
    ("first", "late", "expected"),
    [
        pytest.param(40, 50, [("99492", 1), ("99494", 1)], id="an add-on unit"),
        pytest.param(90, 30, [("99492", 1), ("99494", 2)], id="one more add-on unit"),
        pytest.param(90, -50, [("99492", 1)], id="an amendment that takes minutes away"),
    ],
)
async def test_late_minutes_that_change_the_units_revise_the_months_one_charge(
    coding: Coding, visit: Callable[..., EncounterFacts], first: int, late: int, expected: list[tuple[str, int]]
) -> None:
    month = Month(coding, visit)
    facts = await month.post(first)
    await month.close()
    if late > 0:
        await month.post(late, day=29, on=LATE)
    else:
        await coding.amend(month.minutes(first + late).model_copy(update={"encounter_id": facts.encounter_id}), 1, LATE)
    events = await month.events()
    assert [kind for kind, _ in events] == ["charge.created", "charge.created"]
    revised = events[1][1]
    assert billed(revised) == expected
    assert (revised["charge_id"], revised["revision"]) == (month.charge_id, 2)
    assert revised["charge_posted_date"] == CLOSED.isoformat()
    assert await month.events(f"{month.charge_id}.2") == []
    stored = await coding.charge(month.charge_id)
    assert (stored.status, stored.revision) == ("created", 2)
    assert (await coding.month(month.patient_id, SEPTEMBER)).status == "charged"


@pytest.mark.parametrize(
    ("model", "first", "late"),
    [
        pytest.param("collaborative_care", 40, 5, id="collaborative care short of the add-on"),
        pytest.param("collaborative_care", 86, 29, id="collaborative care short of the next unit"),
        pytest.param("general_bhi", 25, 30, id="general BHI, billed once however long"),
    ],
)
async def test_late_minutes_that_change_neither_codes_nor_units_change_nothing(
    coding: Coding, visit: Callable[..., EncounterFacts], model: str, first: int, late: int
) -> None:
    month = Month(coding, visit, model)
    await month.post(first)
    await month.close()
    before = await month.events()
    await month.post(late, day=29, on=LATE)
    assert await month.events() == before
    assert len(before) == 1
    record = await coding.month(month.patient_id, SEPTEMBER)
    assert record.status == "charged"
    assert record.collaborative_minutes + record.bhi_minutes == first + late


@pytest.mark.parametrize(
    ("model", "first", "late", "code"),
    [
        pytest.param("collaborative_care", 15, 25, "99492", id="collaborative care reaching 36 minutes"),
        pytest.param("general_bhi", 10, 10, "99484", id="general BHI reaching 20 minutes"),
    ],
)
async def test_a_month_below_every_threshold_that_now_meets_one_is_billed_for_the_first_time(
    coding: Coding, visit: Callable[..., EncounterFacts], model: str, first: int, late: int, code: str
) -> None:
    month = Month(coding, visit, model)
    await month.post(first)
    await month.close()
    assert (await coding.month(month.patient_id, SEPTEMBER)).status == "no_charge"
    assert await month.events() == []
    await month.post(late, day=29, on=LATE)
    ((kind, created),) = await month.events()
    assert (kind, billed(created), created["revision"]) == ("charge.created", [(code, 1)], 1)
    assert (await coding.month(month.patient_id, SEPTEMBER)).status == "charged"


async def test_a_month_whose_minutes_were_all_cancelled_is_voided_and_billed_afresh_when_minutes_return(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    month = Month(coding, visit)
    facts = await month.post(40)
    await month.close()
    cancelled = EncounterCancelled(encounter_id=facts.encounter_id, reason="charted on the wrong patient")
    await coding.deliver("encounter.cancelled", cancelled, str(facts.encounter_id), LATE)
    assert [kind for kind, _ in await month.events()] == ["charge.created", "charge.voided"]
    assert (await coding.month(month.patient_id, SEPTEMBER)).status == "no_charge"
    # Minutes posted again bill the month under a charge of its own: the voided one stays voided.
    await month.post(45, day=29, on=date(2026, 10, 12))
    ((kind, created),) = await month.events(f"{month.charge_id}.2")
    assert (kind, billed(created), created["revision"]) == ("charge.created", [("99492", 1)], 2)
    assert (await coding.month(month.patient_id, SEPTEMBER)).charge_id == f"{month.charge_id}.2"


async def test_late_minutes_under_another_payers_coverage_void_the_months_charge_and_bill_a_new_one(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    month = Month(coding, visit)
    await month.post(40, payer_id=uuid.uuid4())
    await month.close()
    # The month's latest visit names its coverage: a claim already at one payer cannot be replaced at another.
    await month.post(50, day=29, on=LATE, payer_id=uuid.uuid4())
    assert [kind for kind, _ in await month.events()] == ["charge.created", "charge.voided"]
    ((kind, created),) = await month.events(f"{month.charge_id}.2")
    assert (kind, billed(created), created["revision"]) == ("charge.created", [("99492", 1), ("99494", 1)], 2)


async def test_a_month_revised_after_a_person_resolved_its_charge_goes_back_to_review(
    coding: Coding, visit: Callable[..., EncounterFacts]
) -> None:
    month = Month(coding, visit)
    await month.post(40)
    await month.post(25, day=12, on=date(2026, 9, 21))
    bhi = Month(coding, visit, "general_bhi")
    bhi.patient_id, bhi.practice_id, bhi.charge_id = month.patient_id, month.practice_id, month.charge_id
    await bhi.post(20, day=14)
    await month.close()
    ((kind, held),) = await month.events()
    assert (kind, [reason["rule_id"] for reason in held["reasons"]]) == ("charge.held", ["PAIR-99484-COCM"])
    reviewer = Principal(
        organization_id=coding.organization_id,
        key_id="coder1",
        scopes=frozenset({"claims:write"}),
        practice_ids=frozenset(),
    )
    decision = ResolveHoldIn(
        action="override", reason="BHI was charted by mistake", lines=[OverrideLineIn(procedure_code="99492")]
    )
    async with unit_of_work(coding.sessions, coding.organization_id) as session:
        await resolve_hold(session, reviewer, month.charge_id, decision, CLOSED)
    await month.post(30, day=29, on=LATE)
    kinds = [kind for kind, _ in await month.events()]
    assert kinds == ["charge.held", "charge.released", "charge.held"]
    stored = await coding.charge(month.charge_id)
    assert (stored.status, stored.revision) == ("held", 2)
    assert {hold["rule_id"] for hold in stored.hold_reasons} == {"PAIR-99484-COCM", "MONTH-REVISED-AFTER-REVIEW"}
    # Released again, the revision bills the claim's replacement; the charge keeps the date it was first posted.
    decision = ResolveHoldIn(
        action="override",
        reason="95 minutes of collaborative care",
        lines=[OverrideLineIn(procedure_code="99492"), OverrideLineIn(procedure_code="99494")],
    )
    async with unit_of_work(coding.sessions, coding.organization_id) as session:
        await resolve_hold(session, reviewer, month.charge_id, decision, date(2026, 10, 12))
    kind, released = (await month.events())[-1]
    assert (kind, released["revision"], billed(released)) == ("charge.released", 2, [("99492", 1), ("99494", 1)])
    first_release = (await month.events())[1][1]
    assert released["charge_posted_date"] == first_release["charge_posted_date"] == CLOSED.isoformat()
