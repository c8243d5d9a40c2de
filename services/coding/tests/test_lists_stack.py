"""Coding's collections over HTTP: charges (with or without an encounter id), holds and review samples, a month's
care-management outcomes; each with filters and cursor pages in a stable order, bounded and refused when forged."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from deploy.client import Tenant, seed_payers, seed_practice, wait_until
from shared.events.encounter import EncounterFacts

if TYPE_CHECKING:
    from conftest import Coding

pytestmark = pytest.mark.stack


class Office:
    """An organization with two practices in intake whose visits are delivered straight to coding."""

    def __init__(self, organization: Tenant, coding: Coding, visit: Callable[..., EncounterFacts]) -> None:
        self.organization = organization
        self.coding = coding
        coding.organization_id = uuid.UUID(organization.organization_id)
        self.visit = visit
        self.practices: list[uuid.UUID] = []
        self.patients = [uuid.uuid4(), uuid.uuid4()]

    async def setup(self) -> Office:
        """Two practices of the organization."""
        payers = await seed_payers(self.organization)
        for seed in (41, 42):
            practice = await seed_practice(
                self.organization, name=f"Practice {seed}", seed=seed, payer_ids=payers, providers=1, patients=1
            )
            self.practices.append(uuid.UUID(practice["practice_id"]))
        return self

    async def charge(self, practice: int, patient: int, day: int, minutes: int) -> str:
        """A psychotherapy visit of September coded into a charge (held under 16 minutes); its charge id."""
        facts = self.visit(
            psychotherapy=minutes,
            date_of_service=date(2026, 9, day),
            practice_id=self.practices[practice],
            patient_id=self.patients[patient],
        )
        await self.coding.receive(facts, business_date=date(2026, 9, 30))
        return str(facts.encounter_id)

    async def care(self, practice: int, patient: uuid.UUID, day: date, spent: int, model: str) -> None:
        """Care-management minutes."""
        facts = self.visit(
            "care_management",
            date_of_service=day,
            practice_id=self.practices[practice],
            patient_id=patient,
            care_management=spent,
            flags={"care_management_model": model},
        )
        await self.coding.receive(facts, business_date=day)

    async def get(self, path: str, caller: Tenant | None = None, **params: Any) -> Any:
        """A GET on coding answering 200; its body."""
        answer = await (caller or self.organization).request("GET", "coding", path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def ids(self, path: str, caller: Tenant | None = None, key: str = "charge_id", **params: Any) -> list[str]:
        """Ids of every item of a collection, read a page at a time."""
        found: list[str] = []
        cursor = None
        while True:
            page = await self.get(path, caller, **params, **({"cursor": cursor} if cursor else {}))
            found.extend(str(item[key]) for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    async def limited_to(self, practice: int) -> Tenant:
        """A read key limited to one practice, once coding knows it."""
        issued = await self.organization.request(
            "POST",
            "intake",
            "/v1/api-keys",
            json={"scopes": ["read"], "practice_ids": [str(self.practices[practice])]},
        )
        assert issued.status_code == 201, issued.text
        caller = Tenant(self.organization.client, self.organization.organization_id, issued.json()["api_key"])

        async def known() -> bool:
            return (await caller.request("GET", "coding", "/v1/holds")).status_code != 401

        await wait_until(known, timeout=30, what="coding to learn the practice-limited key")
        return caller


@pytest.fixture
async def office(organization: Tenant, coding: Coding, visit: Callable[..., EncounterFacts]) -> Office:
    """Two practices of a fresh organization."""
    return await Office(organization, coding, visit).setup()


def in_order(*charge_ids: tuple[int, str]) -> list[str]:
    """Charge ids as coding orders them: by date of service (day of September), then charge id."""
    return [charge_id for _, charge_id in sorted(charge_ids)]


async def test_charges_are_listed_without_an_encounter_id_by_practice_patient_status_and_date_of_service(
    office: Office,
) -> None:
    c1 = (1, await office.charge(0, 0, 1, 45))
    c2 = (2, await office.charge(0, 0, 2, 45))
    c3 = (2, await office.charge(1, 1, 2, 10))
    c4 = (3, await office.charge(0, 1, 3, 53))
    c5 = (4, await office.charge(1, 0, 4, 10))
    first, second = (str(p) for p in office.practices)
    ann, bob = (str(p) for p in office.patients)
    cases: list[tuple[dict[str, Any], list[tuple[int, str]]]] = [
        ({}, [c1, c2, c3, c4, c5]),
        ({"practice_id": first}, [c1, c2, c4]),
        ({"patient_id": ann}, [c1, c2, c5]),
        ({"practice_id": first, "patient_id": ann}, [c1, c2]),
        ({"status": "held"}, [c3, c5]),
        ({"status": "voided"}, []),
        ({"date_of_service_from": "2026-09-02", "date_of_service_to": "2026-09-03"}, [c2, c3, c4]),
        ({"date_of_service_from": "2026-09-04"}, [c5]),
        ({"date_of_service_to": "2026-09-01"}, [c1]),
        ({"encounter_id": c4[1]}, [c4]),
        ({"program": "outpatient_therapy", "practice_id": second, "patient_id": bob}, [c3]),
    ]
    for filters, expected in cases:
        assert await office.ids("/v1/charges", **filters) == in_order(*expected), filters
    assert await office.ids("/v1/holds") == in_order(c3, c5)
    assert await office.ids("/v1/holds", patient_id=bob) == [c3[1]]
    assert await office.ids("/v1/holds", reason="PT-UNDER-16", practice_id=second) == in_order(c3, c5)
    assert await office.ids("/v1/holds", reason="REVIEW-NEW-CLINICIAN") == []


@pytest.mark.parametrize("path", ["/v1/charges", "/v1/holds", "/v1/care-management/months/2026-09"])
async def test_every_collection_pages_in_a_stable_order_with_an_opaque_cursor(office: Office, path: str) -> None:
    months = path.startswith("/v1/care-management")
    key = "patient_id" if months else "charge_id"
    for day in range(1, 6):
        if months:
            await office.care(day % 2, uuid.uuid4(), date(2026, 9, day), 40, "collaborative_care")
        else:
            await office.charge(day % 2, 0, day, 10)
    everything = await office.ids(path, key=key, limit=200)
    assert len(everything) == 5
    first = await office.get(path, limit=2)
    assert [str(item[key]) for item in first["items"]] == everything[:2]
    assert first["next_cursor"] is not None
    # Rows that arrive meanwhile: one before the cursor is never shown on a later page, one after it is.
    if months:
        await office.care(0, uuid.UUID(int=0), date(2026, 9, 7), 40, "collaborative_care")
        await office.care(0, uuid.UUID(int=2**128 - 1), date(2026, 9, 7), 40, "collaborative_care")
        late = str(uuid.UUID(int=2**128 - 1))
    else:
        await office.charge(0, 0, 1, 10)
        await office.charge(0, 0, 8, 10)
        late = (await office.ids(path, date_of_service_from="2026-09-08"))[0]
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor is not None:
        page = await office.get(path, limit=2, cursor=cursor)
        assert len(page["items"]) <= 2
        rest.extend(str(item[key]) for item in page["items"])
        cursor = page["next_cursor"]
    assert rest == [*everything[2:], late]

    forged = [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": first["next_cursor"][:-4]}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
    ]
    other = "/v1/holds" if path == "/v1/charges" else "/v1/charges"
    if months:
        for day in (1, 2):
            await office.charge(0, 0, day, 10)
    foreign = (await office.get(other, limit=1))["next_cursor"]
    assert foreign is not None
    forged.append(({"cursor": foreign}, "cursor"))
    for params, field in forged:
        refused = await office.organization.request("GET", "coding", path, params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in refused.text, (params, refused.text)


@pytest.mark.parametrize(
    "params",
    [
        {"date_of_service_from": "0001-01-01"},
        {"date_of_service_to": "2101-01-01"},
        {"date_of_service_from": "2026-09-05", "date_of_service_to": "2026-09-04"},
        {"date_of_service_from": "20260901"},
        {"status": "lost"},
        {"review_sampled": "maybe"},
        {"practice_id": "not-a-uuid"},
    ],
)
async def test_filters_outside_their_range_are_refused_naming_the_field(office: Office, params: dict[str, str]) -> None:
    for path in ("/v1/charges", "/v1/holds"):
        refused = await office.organization.request("GET", "coding", path, params=params)
        if path == "/v1/holds" and "status" in params:
            continue  # the holds list has no status filter: every item is held
        assert refused.status_code == 422, (path, params, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert next(iter(params)) in refused.text


async def test_a_practice_limited_key_gets_full_pages_of_its_practice_only(office: Office) -> None:
    ours = [await office.charge(0, 0, day, 10) for day in (1, 3, 5)]
    for day in (2, 4):
        await office.charge(1, 0, day, 10)
    caller = await office.limited_to(0)
    for path in ("/v1/charges", "/v1/holds"):
        page = await office.get(path, caller, limit=2)
        assert [item["charge_id"] for item in page["items"]] == ours[:2]
        assert await office.ids(path, caller, limit=2) == ours
        # Another practice of the organization is not the key's: refused as intake refuses it, naming the field.
        refused = await caller.request("GET", "coding", path, params={"practice_id": str(office.practices[1])})
        assert refused.status_code == 422, refused.text
        assert [error["field"] for error in refused.json()["errors"]] == ["practice_id"]
    patient = uuid.uuid4()
    await office.care(0, patient, date(2026, 9, 10), 40, "collaborative_care")
    await office.care(1, uuid.uuid4(), date(2026, 9, 10), 40, "collaborative_care")
    assert await office.ids("/v1/care-management/months/2026-09", caller, key="patient_id") == [str(patient)]


async def test_a_months_outcomes_are_filtered_by_status_practice_and_patient(office: Office) -> None:
    charged, light, bhi, still_open = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await office.care(0, charged, date(2026, 9, 10), 40, "collaborative_care")
    await office.care(1, light, date(2026, 9, 11), 15, "collaborative_care")
    await office.care(0, bhi, date(2026, 9, 12), 25, "general_bhi")
    # September closes with October's fifth business day behind it; October's minutes stay open.
    await office.care(1, still_open, date(2026, 10, 8), 20, "collaborative_care")
    september = "/v1/care-management/months/2026-09"
    months = {row["patient_id"]: row for row in (await office.get(september))["items"]}
    assert {months[str(p)]["status"] for p in (charged, bhi)} == {"charged"}
    assert months[str(light)]["status"] == "no_charge"
    by = sorted
    assert await office.ids(september, key="patient_id", status="charged") == by([str(charged), str(bhi)])
    assert await office.ids(september, key="patient_id", status="no_charge") == [str(light)]
    assert await office.ids(september, key="patient_id", practice_id=str(office.practices[1])) == [str(light)]
    assert await office.ids(september, key="patient_id", patient_id=str(bhi)) == [str(bhi)]
    assert await office.ids(september, key="patient_id", status="open") == []
    (october,) = (await office.get("/v1/care-management/months/2026-10", status="open"))["items"]
    assert (october["patient_id"], october["collaborative_minutes"], october["bhi_minutes"]) == (str(still_open), 20, 0)
