"""Native JSON encounters on the stack: accepted, flagged for the right queue, or refused with nothing stored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy.client import ClaimflowClient, Tenant
from services.intake.tests.test_encounters_support import Clinic

pytestmark = pytest.mark.stack


@pytest.fixture
async def clinic(organization: Tenant, stack_env: dict[str, str]) -> Clinic:
    """A practice with a provider and a patient covered from 2026-01-01."""
    return await Clinic.create(organization, stack_env)


@pytest.fixture(scope="module")
async def refusing_clinic(stack_env: dict[str, str]) -> AsyncIterator[Clinic]:
    """One organization for the refusal cases, which store nothing (so they can share it)."""
    claimflow = ClaimflowClient(stack_env)
    tenant = await claimflow.create_tenant(f"intake-refusals-{uuid.uuid4().hex[:8]}")
    yield await Clinic.create(tenant, stack_env)
    await claimflow.close()


def queues(answer: dict[str, Any]) -> set[tuple[str, str]]:
    """(queue, reason code) of each work-queue flag in an answer."""
    return {(f["queue"], f["reason_code"]) for f in answer["work_queue_flags"]}


async def test_a_clean_visit_is_received_with_the_snapshot_downstream_needs(clinic: Clinic) -> None:
    response = await clinic.post("/v1/encounters", clinic.encounter(diagnoses=["f411", "F33.1"]))
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "received"
    assert answer["work_queue_flags"] == []

    [event] = await clinic.events("encounter.received")
    data = event["data"]
    assert event["subject"] == answer["encounter_id"]
    assert data["diagnoses"] == ["F41.1", "F33.1"]
    assert data["minutes"]["psychotherapy"] == 53
    assert data["coverage"]["coverage_id"] == clinic.ids["coverage"]
    assert data["coverage"]["active_on_date_of_service"] is True
    assert data["coverage"]["plan_start_date"] == "2026-01-01"
    assert data["coverage"]["x12_payer_id"] == "ACME1"
    assert data["authorization"] is None
    # Minimum necessary: the patient travels with what the 837P needs, nothing else (no EHR ids, no contact data).
    assert set(data["patient"]) == {"patient_id", "first_name", "last_name", "birth_date", "sex", "address"}
    assert set(data["provider"]) == {"provider_id", "npi", "first_name", "last_name", "taxonomy", "license_type"}

    read = await clinic.get(f"/v1/encounters/{answer['encounter_id']}")
    assert read.status_code == 200
    assert read.json()["diagnoses"] == ["F41.1", "F33.1"]
    assert read.json()["amendment_number"] == 0
    assert len(await clinic.audit_rows("create")) == 1
    assert len(await clinic.audit_rows("read")) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"diagnoses": ["F41.1", "F33.1", "F99.999"]}, "diagnoses.2"),
        ({"diagnoses": ["296.30"]}, "diagnoses.0"),
        ({"diagnoses": ["F41.1", "F411"]}, "diagnoses.1"),
        ({"provider_id": "00000000-0000-4000-8000-000000000001"}, "provider_id"),
        ({"patient_id": "00000000-0000-4000-8000-000000000002"}, "patient_id"),
        ({"practice_id": "00000000-0000-4000-8000-000000000003"}, "practice_id"),
        ({"copay": "20.00"}, "copay"),
        ({"flags": {"family_present": True, "upcode": True}}, "flags.upcode"),
        ({"minutes": {"psychotherapy": 53, "extra": 5}}, "minutes.extra"),
        ({"diagnoses": []}, "diagnoses"),
        ({"date_of_service": "2015-09-30"}, "date_of_service"),
    ],
)
async def test_a_wrong_request_is_refused_naming_the_field_and_nothing_is_stored(
    refusing_clinic: Clinic, changes: dict[str, Any], field: str
) -> None:
    clinic = refusing_clinic
    response = await clinic.post("/v1/encounters", clinic.encounter(**changes))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]]
    assert field in problem["detail"]
    assert await clinic.encounter_rows() == []
    assert await clinic.events() == []


async def test_another_organizations_patient_cannot_be_referenced(
    clinic: Clinic, other_organization: Tenant, stack_env: dict[str, str]
) -> None:
    other = await Clinic.create(other_organization, stack_env)
    response = await clinic.post("/v1/encounters", clinic.encounter(patient_id=other.ids["patient"]))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["patient_id"]
    assert await clinic.encounter_rows() == []


async def test_a_category_code_is_accepted_and_held_for_coding_with_the_reason(clinic: Clinic) -> None:
    response = await clinic.post("/v1/encounters", clinic.encounter(diagnoses=["F41.1", "F41"]))
    assert response.status_code == 202
    [flag] = response.json()["work_queue_flags"]
    assert (flag["queue"], flag["reason_code"]) == ("coding", "DX-NOT-BILLABLE")
    assert "F41" in flag["reason"]
    [event] = await clinic.events("encounter.received")
    assert event["data"]["work_queue_flags"] == [flag]


async def test_a_date_of_service_past_the_packaged_code_set_is_held_with_a_visible_warning(clinic: Clinic) -> None:
    response = await clinic.post("/v1/encounters", clinic.encounter(date_of_service="2026-11-16"))
    assert response.status_code == 202
    [flag] = response.json()["work_queue_flags"]
    assert (flag["queue"], flag["reason_code"]) == ("coding", "DX-CODE-SET-PENDING")
    assert "FY2026" in flag["reason"]


async def test_missing_psychotherapy_minutes_are_accepted_and_held_for_coding(clinic: Clinic) -> None:
    response = await clinic.post("/v1/encounters", clinic.encounter(minutes={}))
    assert response.status_code == 202
    assert queues(response.json()) == {("coding", "MINUTES-MISSING")}


async def test_an_office_visit_without_time_or_mdm_is_held_but_with_mdm_is_clean(clinic: Clinic) -> None:
    no_level = await clinic.post("/v1/encounters", clinic.encounter(service_type="office_visit", minutes={}))
    assert queues(no_level.json()) == {("coding", "MINUTES-MISSING")}
    with_level = await clinic.post(
        "/v1/encounters",
        clinic.encounter(ehr_encounter_id="EHR-2", service_type="office_visit", minutes={}, mdm_level="moderate"),
    )
    assert with_level.json()["work_queue_flags"] == []


async def test_inactive_coverage_goes_to_the_eligibility_queue_and_leaves_it_when_fixed(clinic: Clinic) -> None:
    clean = await clinic.post("/v1/encounters", clinic.encounter(ehr_encounter_id="EHR-clean"))
    assert clean.json()["work_queue_flags"] == []
    response = await clinic.post("/v1/encounters", clinic.encounter(date_of_service="2025-12-15"))
    assert response.status_code == 202
    assert queues(response.json()) == {("eligibility", "COVERAGE-INACTIVE")}
    encounter_id = response.json()["encounter_id"]

    queue = (await clinic.get("/v1/work-queues/eligibility")).json()
    assert [item["encounter_id"] for item in queue["items"]] == [encounter_id]
    [reason] = queue["items"][0]["reasons"]
    assert reason["reason_code"] == "COVERAGE-INACTIVE"
    assert "2025-12-15" in reason["reason"]

    still = await clinic.post(f"/v1/work-queues/eligibility/{encounter_id}/resolve", {"note": "called payer"})
    assert still.status_code == 409
    assert "not active" in still.json()["detail"]

    await clinic.add_coverage(start_date="2025-07-01", end_date="2025-12-31")
    resolved = await clinic.post(f"/v1/work-queues/eligibility/{encounter_id}/resolve", {"note": "old plan added"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["work_queue_flags"] == []
    assert resolved.json()["amendment_number"] == 1
    assert (await clinic.get("/v1/work-queues/eligibility")).json()["items"] == []
    [amended] = await clinic.events("encounter.amended")
    assert amended["subject"] == encounter_id
    assert amended["data"]["amendment_number"] == 1
    assert amended["data"]["coverage"]["active_on_date_of_service"] is True
    assert amended["data"]["coverage"]["plan_end_date"] == "2025-12-31"


async def test_the_eligibility_queue_pages_every_item_once(clinic: Clinic) -> None:
    posted = []
    for number in range(5):
        body = clinic.encounter(ehr_encounter_id=f"EHR-{number}", date_of_service="2025-11-0" + str(number + 1))
        posted.append((await clinic.post("/v1/encounters", body)).json()["encounter_id"])
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        page = (
            await clinic.get("/v1/work-queues/eligibility?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        ).json()
        seen += [item["encounter_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(posted)
    assert len(seen) == 5
    too_big = await clinic.get("/v1/work-queues/eligibility?limit=201")
    assert too_big.status_code == 422
    bad_cursor = await clinic.get("/v1/work-queues/eligibility?cursor=!!")
    assert bad_cursor.status_code == 422


async def test_an_authorization_on_file_travels_in_the_snapshot(
    organization: Tenant, stack_env: dict[str, str]
) -> None:
    clinic = await Clinic.create(organization, stack_env, authorization_policy={"mode": "all"})
    authorization_id = await organization.create(
        "authorizations",
        {
            "patient_id": clinic.ids["patient"],
            "payer_id": clinic.ids["payer"],
            "number": "AUTH-77",
            "service_codes": ["90834", "90837"],
            "units_approved": 12,
            "units_used": 3,
            "start_date": "2026-04-01",
            "end_date": "2026-06-30",
        },
    )
    covered = await clinic.post("/v1/encounters", clinic.encounter())
    assert covered.json()["work_queue_flags"] == []
    outside = await clinic.post(
        "/v1/encounters", clinic.encounter(ehr_encounter_id="EHR-9", date_of_service="2026-03-31")
    )
    assert queues(outside.json()) == {("authorization", "AUTH-MISSING")}
    received = await clinic.events("encounter.received")
    assert received[0]["data"]["authorization"] == {
        "authorization_id": authorization_id,
        "payer_id": clinic.ids["payer"],
        "number": "AUTH-77",
        "units_approved": 12,
        "units_used": 3,
        "start_date": "2026-04-01",
        "end_date": "2026-06-30",
        "service_codes": ["90834", "90837"],
    }
    assert received[1]["data"]["authorization"] is None


async def test_after_n_unmanaged_visits_the_next_one_needs_an_authorization(
    organization: Tenant, stack_env: dict[str, str]
) -> None:
    clinic = await Clinic.create(
        organization, stack_env, authorization_policy={"mode": "after_visits", "unmanaged_visits": 2}
    )
    answers = []
    for number, day in enumerate(["2026-02-02", "2026-02-09", "2026-02-16"]):
        body = clinic.encounter(ehr_encounter_id=f"EHR-{number}", date_of_service=day)
        answers.append((await clinic.post("/v1/encounters", body)).json())
    assert [queues(a) for a in answers] == [set(), set(), {("authorization", "AUTH-MISSING")}]
    assert "visit 3" in answers[2]["work_queue_flags"][0]["reason"]


async def test_an_idempotent_retry_after_a_lost_response_creates_nothing_twice(clinic: Clinic) -> None:
    body = clinic.encounter()
    await clinic.post("/v1/encounters", body, **{"Idempotency-Key": "visit-123"})  # the answer is lost
    retry = await clinic.post("/v1/encounters", body, **{"Idempotency-Key": "visit-123"})
    assert retry.status_code == 202
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(await clinic.encounter_rows()) == 1
    assert len(await clinic.events()) == 1
    assert retry.json()["encounter_id"] == str((await clinic.encounter_rows())[0]["encounter_id"])

    other_body = await clinic.post(
        "/v1/encounters", clinic.encounter(minutes={"psychotherapy": 30}), **{"Idempotency-Key": "visit-123"}
    )
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert len(await clinic.events()) == 1


async def test_a_repeated_ehr_encounter_id_answers_the_existing_encounter(clinic: Clinic) -> None:
    first = await clinic.post("/v1/encounters", clinic.encounter())
    again = await clinic.post("/v1/encounters", clinic.encounter(minutes={"psychotherapy": 40}))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["encounter_id"] == first.json()["encounter_id"]
    assert len(await clinic.encounter_rows()) == 1
    assert len(await clinic.events()) == 1


async def test_late_minutes_and_corrected_diagnoses_are_amendments(clinic: Clinic) -> None:
    posted = (await clinic.post("/v1/encounters", clinic.encounter(minutes={}))).json()
    encounter_id = posted["encounter_id"]
    assert queues(posted) == {("coding", "MINUTES-MISSING")}

    late = await clinic.post(
        f"/v1/encounters/{encounter_id}/amendments", {"reason": "late minutes", "minutes": {"psychotherapy": 45}}
    )
    assert late.status_code == 200, late.text
    assert late.json()["amendment_number"] == 1
    assert late.json()["work_queue_flags"] == []
    corrected = await clinic.post(f"/v1/encounters/{encounter_id}/amendments", {"diagnoses": ["F33.1", "F41.1"]})
    assert corrected.json()["amendment_number"] == 2

    amended = await clinic.events("encounter.amended")
    assert [e["data"]["amendment_number"] for e in amended] == [1, 2]
    assert amended[0]["data"]["minutes"]["psychotherapy"] == 45
    assert amended[1]["data"]["minutes"]["psychotherapy"] == 45
    assert amended[1]["data"]["diagnoses"] == ["F33.1", "F41.1"]
    assert all(e["subject"] == encounter_id for e in amended)

    refused = await clinic.post(f"/v1/encounters/{encounter_id}/amendments", {"diagnoses": ["F99.999"]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "diagnoses.0"
    assert (await clinic.get(f"/v1/encounters/{encounter_id}")).json()["amendment_number"] == 2
    unknown = await clinic.post(f"/v1/encounters/{encounter_id}/amendments", {"patient_id": clinic.ids["patient"]})
    assert unknown.status_code == 422
    assert len(await clinic.events("encounter.amended")) == 2


async def test_a_cancelled_encounter_cannot_be_amended(clinic: Clinic) -> None:
    encounter_id = (await clinic.post("/v1/encounters", clinic.encounter())).json()["encounter_id"]
    cancelled = await clinic.post(f"/v1/encounters/{encounter_id}/cancel", {"reason": "entered in error"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    [event] = await clinic.events("encounter.cancelled")
    assert event["data"] == {"encounter_id": encounter_id, "reason": "entered in error"}

    amend = await clinic.post(f"/v1/encounters/{encounter_id}/amendments", {"minutes": {"psychotherapy": 60}})
    assert amend.status_code == 409
    again = await clinic.post(f"/v1/encounters/{encounter_id}/cancel", {"reason": "twice"})
    assert again.status_code == 409
    assert await clinic.events("encounter.amended") == []


async def test_another_organization_gets_404_for_every_encounter_endpoint(
    clinic: Clinic, other_organization: Tenant, stack_env: dict[str, str]
) -> None:
    encounter_id = (await clinic.post("/v1/encounters", clinic.encounter(date_of_service="2025-12-01"))).json()[
        "encounter_id"
    ]
    other = Clinic(other_organization, stack_env)
    assert (await other.get(f"/v1/encounters/{encounter_id}")).status_code == 404
    assert (await other.post(f"/v1/encounters/{encounter_id}/amendments", {"mdm_level": "low"})).status_code == 404
    assert (await other.post(f"/v1/encounters/{encounter_id}/cancel", {"reason": "x"})).status_code == 404
    resolve = await other.post(f"/v1/work-queues/eligibility/{encounter_id}/resolve", {"note": "x"})
    assert resolve.status_code == 404
    assert (await other.get("/v1/work-queues/eligibility")).json()["items"] == []
    assert (await clinic.get(f"/v1/encounters/{encounter_id}")).json()["status"] == "received"
