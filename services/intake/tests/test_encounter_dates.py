"""Dates at intake's front door: bounded, written as dates, a visit never after the business date; the clock unpins."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from deploy.client import Tenant
from services.intake.tests.test_encounters_support import Clinic

pytestmark = pytest.mark.stack

NOT_DATES = ["0", "1700000000", "20260504", "0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31", "2026-02-30"]


@pytest.fixture
async def clinic(organization: Tenant, stack_env: dict[str, str]) -> Clinic:
    """A practice with a provider and a covered patient, the business date pinned to 2026-10-01."""
    await organization.set_business_date(date(2026, 10, 1))
    return await Clinic.create(organization, stack_env)


def named(response: object, field: str) -> bool:
    """Whether a 422 problem names the field."""
    body = response.json()  # type: ignore[attr-defined]
    return any(error["field"] == field for error in body.get("errors", []))


@pytest.mark.parametrize("written", NOT_DATES)
async def test_a_date_of_service_that_is_a_number_or_out_of_bounds_is_refused_and_nothing_stored(
    clinic: Clinic, written: str
) -> None:
    response = await clinic.post("/v1/encounters", clinic.encounter(date_of_service=written))
    assert response.status_code == 422, response.text
    assert named(response, "date_of_service")
    assert await clinic.encounter_rows() == []


async def test_a_visit_dated_after_the_business_date_is_refused_and_one_on_it_is_accepted(clinic: Clinic) -> None:
    later = await clinic.post(
        "/v1/encounters", clinic.encounter(ehr_encounter_id="EHR-1", date_of_service="2026-10-02")
    )
    assert later.status_code == 422, later.text
    assert named(later, "date_of_service")
    assert "2026-10-01" in later.json()["detail"]
    far = await clinic.post("/v1/encounters", clinic.encounter(ehr_encounter_id="EHR-2", date_of_service="2030-01-01"))
    assert far.status_code == 422
    same_day = await clinic.post(
        "/v1/encounters", clinic.encounter(ehr_encounter_id="EHR-3", date_of_service="2026-10-01")
    )
    assert same_day.status_code == 202, same_day.text
    assert [row["ehr_encounter_id"] for row in await clinic.encounter_rows()] == ["EHR-3"]


async def test_a_batch_refuses_only_its_items_with_bad_dates(clinic: Clinic) -> None:
    items = [
        clinic.encounter(ehr_encounter_id="EHR-B1"),
        clinic.encounter(ehr_encounter_id="EHR-B2", date_of_service="9999-12-31"),
        clinic.encounter(ehr_encounter_id="EHR-B3", date_of_service="2027-01-01"),
    ]
    response = await clinic.post("/v1/encounters/batch", {"encounters": items})
    assert response.status_code in (200, 207), response.text
    stored = {row["ehr_encounter_id"] for row in await clinic.encounter_rows()}
    assert stored == {"EHR-B1"}


async def test_an_amendment_cannot_move_a_visit_after_the_business_date(clinic: Clinic) -> None:
    accepted = await clinic.post("/v1/encounters", clinic.encounter())
    assert accepted.status_code == 202, accepted.text
    encounter_id = accepted.json()["encounter_id"]
    amended = await clinic.post(
        f"/v1/encounters/{encounter_id}/amendments", {"date_of_service": "2026-11-15", "reason": "moved"}
    )
    assert amended.status_code == 422, amended.text
    assert named(amended, "date_of_service")


@pytest.mark.parametrize("field", ["birth_date"])
@pytest.mark.parametrize("written", ["0", "9999-12-31", "1850-01-01"])
async def test_a_patient_date_that_is_a_number_or_out_of_bounds_is_refused(
    clinic: Clinic, field: str, written: str
) -> None:
    body = {
        "practice_id": clinic.ids["practice"],
        "first_name": "Lee",
        "last_name": "Stone",
        "birth_date": "1990-01-01",
        "sex": "M",
        "address": {"line1": "1 Lake Rd", "city": "Springfield", "state": "IL", "postal_code": "62701"},
        field: written,
    }
    response = await clinic.post("/v1/patients", body)
    assert response.status_code == 422, response.text
    assert named(response, field)


@pytest.mark.parametrize("field", ["start_date", "end_date"])
async def test_a_coverage_date_out_of_bounds_is_refused(clinic: Clinic, field: str) -> None:
    body = {
        "patient_id": clinic.ids["patient"],
        "payer_id": clinic.ids["payer"],
        "member_id": "M0009999",
        "priority": "secondary",
        "relationship": "self",
        "start_date": "2026-01-01",
        field: "9999-12-31",
    }
    response = await clinic.post("/v1/coverages", body)
    assert response.status_code == 422, response.text
    assert named(response, field)


async def test_the_business_clock_unpins_and_visits_then_carry_the_wall_date(clinic: Clinic) -> None:
    pinned = await clinic.get("/v1/clock")
    assert pinned.json() == {"business_date": "2026-10-01", "pinned": True}
    unpinned = await clinic.tenant.request("DELETE", "intake", "/v1/clock")
    assert unpinned.status_code == 200, unpinned.text
    today = datetime.now(UTC).date()
    assert unpinned.json() == {"business_date": today.isoformat(), "pinned": False}
    assert (await clinic.get("/v1/clock")).json() == {"business_date": today.isoformat(), "pinned": False}
    accepted = await clinic.post("/v1/encounters", clinic.encounter(ehr_encounter_id="EHR-U1"))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["received_date"] == today.isoformat()
    again = await clinic.tenant.request("DELETE", "intake", "/v1/clock")
    assert again.status_code == 200
    assert again.json()["pinned"] is False


async def test_a_clock_pinned_ahead_of_the_wall_clock_is_not_unpinned_backwards(clinic: Clinic) -> None:
    ahead = datetime.now(UTC).date() + timedelta(days=30)
    pinned = await clinic.tenant.request("PUT", "intake", "/v1/clock", json={"business_date": ahead.isoformat()})
    assert pinned.status_code == 200
    refused = await clinic.tenant.request("DELETE", "intake", "/v1/clock")
    assert refused.status_code == 409, refused.text
    assert (await clinic.get("/v1/clock")).json() == {"business_date": ahead.isoformat(), "pinned": True}


async def test_the_sandbox_clock_unpins_back_to_the_dates_of_the_submitters_batches(clinic: Clinic) -> None:
    tenant = clinic.tenant
    answer = await tenant.sandbox("PUT", "/v1/clock", json={"submitter": tenant.organization_id, "date": None})
    assert answer.json() == {"submitter": tenant.organization_id, "date": None}


async def test_an_ehr_key_reads_back_the_encounters_and_patients_it_wrote_but_not_admin_data(
    clinic: Clinic, key_ready: Any
) -> None:
    issued = await clinic.post("/v1/api-keys", {"scopes": ["encounters:write"], "label": "ehr"})
    assert issued.status_code == 201, issued.text
    ehr = Tenant(clinic.tenant.client, clinic.tenant.organization_id, issued.json()["api_key"])
    await key_ready(ehr.api_key)
    accepted = await ehr.request("POST", "intake", "/v1/encounters", json=clinic.encounter(ehr_encounter_id="EHR-K1"))
    assert accepted.status_code == 202, accepted.text
    encounter = await ehr.request("GET", "intake", f"/v1/encounters/{accepted.json()['encounter_id']}")
    assert encounter.status_code == 200, encounter.text
    assert encounter.json()["ehr_encounter_id"] == "EHR-K1"
    assert (await ehr.request("GET", "intake", f"/v1/patients/{clinic.ids['patient']}")).status_code == 200
    assert (await ehr.request("GET", "intake", "/v1/coverages")).status_code == 200
    assert (await ehr.request("GET", "intake", "/v1/work-queues/eligibility")).status_code == 200
    assert (await ehr.request("GET", "intake", f"/v1/practices/{clinic.ids['practice']}")).status_code == 403
    assert (await ehr.request("GET", "intake", "/v1/api-keys")).status_code == 403
