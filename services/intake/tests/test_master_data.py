"""Master data over HTTP on the running stack: CRUD, tenancy, validation, paging, idempotency, audit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.client import Tenant
from tests.db import tenant_rows

pytestmark = pytest.mark.stack

PLURAL = {
    "practice": "practices",
    "payer": "payers",
    "provider": "providers",
    "patient": "patients",
    "coverage": "coverages",
    "authorization": "authorizations",
    "fee_schedule_entry": "fee-schedules",
    "user": "users",
}


def field_names(response: Any) -> list[str]:
    """The field paths a problem+json names."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return [error["field"] for error in response.json().get("errors", [])]


def included(sent: Any, stored: Any) -> bool:
    """Whether everything sent is in what is stored (defaults the server filled in may be extra)."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            name in stored and included(v, stored[name]) for name, v in sent.items()
        )
    if isinstance(sent, list):
        return isinstance(stored, list) and len(sent) == len(stored) and all(map(included, sent, stored))
    return bool(sent == stored)


def key_id_of(api_key: str) -> str:
    """The public id part of an API key (cf_<id>.<secret>)."""
    return api_key[3:].partition(".")[0]


async def test_each_kind_is_created_read_replaced_listed_and_deleted(master, lister):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    payer_id = await master.create("payers", master.payer_body())
    patient_id = await master.create("patients", master.patient_body(practice_id))
    cases = [
        ("users", master.user_body(), {"role": "senior_biller", "active": False}),
        ("practices", master.practice_body(), {"name": "Renamed Practice"}),
        ("payers", master.payer_body(), {"behavioral_health_carve_out": True}),
        ("providers", master.provider_body(practice_id), {"license_type": "LPC", "first_service_date": "2026-02-01"}),
        ("patients", master.patient_body(practice_id, ehr_patient_id="MRN-1"), {"first_name": "Jo"}),
        ("coverages", master.coverage_body(patient_id, payer_id), {"member_id": "NEW-1", "copay": "35.00"}),
        ("authorizations", master.authorization_body(patient_id, payer_id), {"units_used": 5}),
        ("fee-schedules", master.fee_body(practice_id), {"amount": "190.00", "effective_to": "2026-12-31"}),
    ]
    for plural, body, change in cases:
        created = await organization.request("POST", "intake", f"/v1/{plural}", json=body)
        assert created.status_code == 201, (plural, created.text)
        record_id = created.json()["id"]
        read = (await organization.request("GET", "intake", f"/v1/{plural}/{record_id}")).json()
        assert read["id"] == record_id
        assert included(body, read), (plural, read)
        replaced = await organization.request("PUT", "intake", f"/v1/{plural}/{record_id}", json={**body, **change})
        assert replaced.status_code == 200, (plural, replaced.text)
        assert {name: replaced.json()[name] for name in change} == change, plural
        reread = (await organization.request("GET", "intake", f"/v1/{plural}/{record_id}")).json()
        assert {name: reread[name] for name in change} == change, plural
        assert record_id in {item["id"] for item in await lister(organization, plural)}
        deleted = await organization.request("DELETE", "intake", f"/v1/{plural}/{record_id}")
        assert deleted.status_code == 204, (plural, deleted.text)
        assert (await organization.request("GET", "intake", f"/v1/{plural}/{record_id}")).status_code == 404
        assert (await organization.request("PUT", "intake", f"/v1/{plural}/{record_id}", json=body)).status_code == 404
        assert record_id not in {item["id"] for item in await lister(organization, plural)}


async def test_another_organization_gets_404_for_every_id_and_lists_none_of_them(master, other_master, lister):
    ids = await master.graph()
    other = other_master.organization
    bodies = {
        "practice": other_master.practice_body(),
        "payer": other_master.payer_body(),
        "user": other_master.user_body(),
    }
    for entity_type, entity_id in ids.items():
        plural = PLURAL[entity_type]
        read = await other.request("GET", "intake", f"/v1/{plural}/{entity_id}")
        assert read.status_code == 404, (plural, read.text)
        assert read.headers["content-type"].startswith("application/problem+json")
        body = bodies.get(entity_type, {})
        if body:
            replaced = await other.request("PUT", "intake", f"/v1/{plural}/{entity_id}", json=body)
            assert replaced.status_code == 404, (plural, replaced.text)
        deleted = await other.request("DELETE", "intake", f"/v1/{plural}/{entity_id}")
        assert deleted.status_code == 404, (plural, deleted.text)
        assert await lister(other, plural) == [], plural
    # Everything is still there for its owner.
    for entity_type, entity_id in ids.items():
        response = await master.organization.request("GET", "intake", f"/v1/{PLURAL[entity_type]}/{entity_id}")
        assert response.status_code == 200, entity_type


async def test_another_organizations_ids_cannot_be_referenced_inside_a_payload(master, other_master, lister):
    ids = await master.graph()
    other = other_master.organization
    own_practice = await other_master.create("practices", other_master.practice_body())
    own_payer = await other_master.create("payers", other_master.payer_body())
    own_patient = await other_master.create("patients", other_master.patient_body(own_practice))
    cases = [
        ("providers", other_master.provider_body(ids["practice"]), "practice_id"),
        (
            "providers",
            other_master.provider_body(
                own_practice, credentialing=[{"payer_id": ids["payer"], "effective_from": "2026-01-01"}]
            ),
            "credentialing.0.payer_id",
        ),
        (
            "providers",
            other_master.provider_body(own_practice, credentialed_payer_ids=[ids["payer"]]),
            "credentialed_payer_ids.0",
        ),
        ("patients", other_master.patient_body(ids["practice"]), "practice_id"),
        ("coverages", other_master.coverage_body(ids["patient"], own_payer), "patient_id"),
        ("coverages", other_master.coverage_body(own_patient, ids["payer"]), "payer_id"),
        ("authorizations", other_master.authorization_body(ids["patient"], own_payer), "patient_id"),
        ("authorizations", other_master.authorization_body(own_patient, ids["payer"]), "payer_id"),
        ("fee-schedules", other_master.fee_body(ids["practice"]), "practice_id"),
        ("fee-schedules", other_master.fee_body(own_practice, payer_id=ids["payer"]), "payer_id"),
        ("payers", other_master.payer_body(carve_out_payer_id=ids["payer"]), "carve_out_payer_id"),
        ("api-keys", {"scopes": ["read"], "practice_ids": [ids["practice"]]}, "practice_ids.0"),
        ("api-keys", {"scopes": ["read"], "user_id": ids["user"]}, "user_id"),
    ]
    for plural, body, field in cases:
        response = await other.request("POST", "intake", f"/v1/{plural}", json=body)
        assert response.status_code == 422, (plural, field, response.text)
        assert field in field_names(response), (plural, response.text)
    assert await lister(other, "providers") == []
    assert await lister(other, "coverages") == []
    assert await lister(other, "authorizations") == []
    assert await lister(other, "fee-schedules") == []
    assert [p["id"] for p in await lister(other, "patients")] == [own_patient]


async def test_an_npi_failing_its_check_digit_is_refused_naming_npi_and_nothing_is_stored(master, lister):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    # 1234567890: Luhn over 80840123456789 needs check digit 3, not 0.
    provider = await organization.request(
        "POST", "intake", "/v1/providers", json=master.provider_body(practice_id, npi="1234567890")
    )
    assert provider.status_code == 422
    assert field_names(provider) == ["npi"]
    assert "check digit" in provider.json()["errors"][0]["reason"]
    practice = await organization.request(
        "POST", "intake", "/v1/practices", json=master.practice_body(npi="1234567890")
    )
    assert practice.status_code == 422
    assert field_names(practice) == ["npi"]
    assert await lister(organization, "providers") == []
    assert [p["id"] for p in await lister(organization, "practices")] == [practice_id]


@pytest.mark.parametrize(
    ("plural", "change", "path"),
    [
        ("practices", {"billing_color": "blue"}, "billing_color"),
        (
            "practices",
            {
                "address": {
                    **{"line1": "1 Lake Rd", "city": "X", "state": "IL", "postal_code": "62701"},
                    "county": "Cook",
                }
            },
            "address.county",
        ),
        (
            "payers",
            {"profiles": [{"effective_from": "2026-01-01", "telehealth": {"video_modifier": "95", "pos": "02"}}]},
            "profiles.0.telehealth.pos",
        ),
        ("payers", {"profiles": [{"effective_from": "2026-01-01", "auth_required": True}]}, "profiles.0.auth_required"),
        ("users", {"id": "3d2a9c5e-7b14-4f0a-8c3e-5a6b7c8d9e01"}, "id"),
    ],
)
async def test_an_unknown_field_is_refused_naming_its_path(master, plural, change, path):
    body = {"practices": master.practice_body, "payers": master.payer_body, "users": master.user_body}[plural]()
    response = await master.organization.request("POST", "intake", f"/v1/{plural}", json={**body, **change})
    assert response.status_code == 422, response.text
    assert path in field_names(response)


async def test_paging_returns_every_record_exactly_once_and_refuses_oversized_pages(master):
    organization = master.organization
    created = {await master.create("users", master.user_body()) for _ in range(7)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await organization.request("GET", "intake", "/v1/users", params=params)).json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # 3 + 3 + 1
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    too_big = await organization.request("GET", "intake", "/v1/users", params={"limit": 201})
    assert too_big.status_code == 422
    assert field_names(too_big) == ["query.limit"]
    forged = await organization.request("GET", "intake", "/v1/users", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422
    assert field_names(forged) == ["cursor"]


async def test_a_retried_post_with_the_same_idempotency_key_returns_the_same_id_and_creates_nothing_twice(
    master, lister
):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    body = master.patient_body(practice_id)
    headers = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = await organization.request("POST", "intake", "/v1/patients", json=body, headers=headers)
    # The client never saw the first answer and sends the same request again.
    second = await organization.request("POST", "intake", "/v1/patients", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert [p["id"] for p in await lister(organization, "patients")] == [first.json()["id"]]
    different = await organization.request(
        "POST", "intake", "/v1/patients", json={**body, "first_name": "Other"}, headers=headers
    )
    assert different.status_code == 422
    assert len(await lister(organization, "patients")) == 1


async def test_fee_schedule_entries_of_one_code_may_not_overlap_in_time(master, lister):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    payer_id = await master.create("payers", master.payer_body())
    await master.create("fee-schedules", master.fee_body(practice_id, effective_to="2026-06-30"))
    overlapping = await organization.request(
        "POST", "intake", "/v1/fee-schedules", json=master.fee_body(practice_id, effective_from="2026-06-30")
    )
    assert overlapping.status_code == 409, overlapping.text
    assert field_names(overlapping) == ["effective_from"]
    # The day after, another modifier, or a payer-specific price do not clash.
    await master.create("fee-schedules", master.fee_body(practice_id, effective_from="2026-07-01"))
    await master.create("fee-schedules", master.fee_body(practice_id, modifier="95"))
    await master.create("fee-schedules", master.fee_body(practice_id, payer_id=payer_id))
    assert len(await lister(organization, "fee-schedules", practice_id=practice_id, code="90837")) == 4
    in_force = await lister(organization, "fee-schedules", practice_id=practice_id, active_on="2026-08-01")
    assert sorted(entry["effective_from"] for entry in in_force) == ["2026-01-01", "2026-01-01", "2026-07-01"]
    ended_before = await organization.request(
        "POST",
        "intake",
        "/v1/fee-schedules",
        json=master.fee_body(practice_id, code="90834", effective_from="2026-05-01", effective_to="2026-04-30"),
    )
    assert ended_before.status_code == 422
    assert field_names(ended_before) == ["effective_to"]


async def test_cross_field_rules_name_the_field_that_breaks_them(master):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    payer_id = await master.create("payers", master.payer_body())
    patient_id = await master.create("patients", master.patient_body(practice_id))
    cases = [
        (
            "payers",
            master.payer_body(profiles=[{"effective_from": "2026-01-01"}, {"effective_from": "2026-01-01"}]),
            ["profiles.1.effective_from"],
        ),
        ("coverages", master.coverage_body(patient_id, payer_id, relationship="child"), ["subscriber"]),
        ("coverages", master.coverage_body(patient_id, payer_id, end_date="2025-12-31"), ["end_date"]),
        ("authorizations", master.authorization_body(patient_id, payer_id, units_used=13), ["units_used"]),
        ("authorizations", master.authorization_body(patient_id, payer_id, end_date="2025-12-31"), ["end_date"]),
        (
            "providers",
            master.provider_body(
                practice_id,
                credentialing=[
                    {"payer_id": payer_id, "effective_from": "2026-01-01", "effective_to": "2026-12-31"},
                    {"payer_id": payer_id, "effective_from": "2026-06-01"},
                ],
            ),
            ["credentialing.1"],
        ),
    ]
    for plural, body, fields in cases:
        response = await organization.request("POST", "intake", f"/v1/{plural}", json=body)
        assert response.status_code == 422, (plural, response.text)
        assert field_names(response) == fields, plural
    dependent = master.coverage_body(
        patient_id,
        payer_id,
        relationship="child",
        subscriber={
            "first_name": "Sam",
            "last_name": "Doe",
            "birth_date": "1960-01-01",
            "sex": "M",
            "address": master.address(),
        },
    )
    assert (await organization.request("POST", "intake", "/v1/coverages", json=dependent)).status_code == 201


async def test_an_ehr_patient_id_is_unique_within_a_practice_only(master):
    organization = master.organization
    first_practice = await master.create("practices", master.practice_body())
    second_practice = await master.create("practices", master.practice_body())
    await master.create("patients", master.patient_body(first_practice, ehr_patient_id="MRN-9"))
    again = await organization.request(
        "POST", "intake", "/v1/patients", json=master.patient_body(first_practice, ehr_patient_id="MRN-9")
    )
    assert again.status_code == 409
    assert field_names(again) == ["ehr_patient_id"]
    await master.create("patients", master.patient_body(second_practice, ehr_patient_id="MRN-9"))


async def test_a_record_still_referenced_cannot_be_deleted(master):
    organization = master.organization
    ids = await master.graph()
    for entity_type in ("payer", "practice", "patient"):
        response = await organization.request("DELETE", "intake", f"/v1/{PLURAL[entity_type]}/{ids[entity_type]}")
        assert response.status_code == 409, (entity_type, response.text)
    for entity_type in ("coverage", "authorization", "fee_schedule_entry", "provider", "patient", "payer", "practice"):
        response = await organization.request("DELETE", "intake", f"/v1/{PLURAL[entity_type]}/{ids[entity_type]}")
        assert response.status_code == 204, (entity_type, response.text)


async def test_the_practice_a_record_belongs_to_cannot_change(master):
    organization = master.organization
    first = await master.create("practices", master.practice_body())
    second = await master.create("practices", master.practice_body())
    body = master.provider_body(first)
    provider_id = await master.create("providers", body)
    moved = await organization.request(
        "PUT", "intake", f"/v1/providers/{provider_id}", json={**body, "practice_id": second}
    )
    assert moved.status_code == 422
    assert field_names(moved) == ["practice_id"]


async def test_lists_filter_by_the_obvious_fields(master, lister):
    organization = master.organization
    practice_a = await master.create("practices", master.practice_body(name="Alpha Clinic"))
    practice_b = await master.create("practices", master.practice_body(name="Beta Clinic", npi="1003000126"))
    payer_id = await master.create("payers", master.payer_body())
    provider_a = await master.create("providers", master.provider_body(practice_a, npi="1679576722"))
    await master.create("providers", master.provider_body(practice_b))
    patient_a = await master.create("patients", master.patient_body(practice_a, last_name="Quinn"))
    await master.create("patients", master.patient_body(practice_b, last_name="Smith"))
    await master.create("coverages", master.coverage_body(patient_a, payer_id, end_date="2026-03-31"))
    current = await master.create("coverages", master.coverage_body(patient_a, payer_id, start_date="2026-04-01"))
    assert [p["id"] for p in await lister(organization, "practices", name_prefix="alp")] == [practice_a]
    assert [p["id"] for p in await lister(organization, "practices", npi="1003000126")] == [practice_b]
    assert [p["id"] for p in await lister(organization, "providers", npi="1679576722")] == [provider_a]
    assert [p["id"] for p in await lister(organization, "providers", practice_id=practice_a)] == [provider_a]
    assert [p["id"] for p in await lister(organization, "patients", name_prefix="Qu")] == [patient_a]
    assert [c["id"] for c in await lister(organization, "coverages", active_on="2026-05-01")] == [current]
    assert len(await lister(organization, "coverages", patient_id=patient_a, payer_id=payer_id)) == 2
    assert await lister(organization, "patients", name_prefix="%") == []


async def test_a_key_limited_to_one_practice_sees_and_touches_only_that_practice(master, lister, key_ready):
    organization = master.organization
    own = await master.create("practices", master.practice_body())
    foreign = await master.create("practices", master.practice_body())
    own_patient = await master.create("patients", master.patient_body(own))
    foreign_patient = await master.create("patients", master.patient_body(foreign))
    foreign_provider = await master.create("providers", master.provider_body(foreign))
    issued = await organization.request(
        "POST", "intake", "/v1/api-keys", json={"scopes": ["encounters:write", "read"], "practice_ids": [own]}
    )
    assert issued.status_code == 201, issued.text
    limited = Tenant(organization.client, organization.organization_id, issued.json()["api_key"])
    await key_ready(limited.api_key)
    assert (await limited.request("GET", "intake", f"/v1/patients/{foreign_patient}")).status_code == 404
    assert (await limited.request("GET", "intake", f"/v1/providers/{foreign_provider}")).status_code == 404
    assert [p["id"] for p in await lister(limited, "patients")] == [own_patient]
    assert [p["id"] for p in await lister(limited, "practices")] == [own]
    refused = await limited.request("POST", "intake", "/v1/patients", json=master.patient_body(foreign))
    assert refused.status_code == 422
    assert field_names(refused) == ["practice_id"]
    payer_id = await master.create("payers", master.payer_body())
    hidden_patient = await limited.request(
        "POST", "intake", "/v1/coverages", json=master.coverage_body(foreign_patient, payer_id)
    )
    assert hidden_patient.status_code == 422
    assert field_names(hidden_patient) == ["patient_id"]


async def test_reads_and_writes_of_patient_data_are_audited(master, stack_env):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    payer_id = await master.create("payers", master.payer_body())
    patient_id = await master.create("patients", master.patient_body(practice_id))
    coverage_id = await master.create("coverages", master.coverage_body(patient_id, payer_id))
    authorization_body = master.authorization_body(patient_id, payer_id)
    authorization_id = await master.create("authorizations", authorization_body)
    for plural, record_id in (("patients", patient_id), ("coverages", coverage_id)):
        assert (await organization.request("GET", "intake", f"/v1/{plural}/{record_id}")).status_code == 200
    replaced = await organization.request(
        "PUT", "intake", f"/v1/authorizations/{authorization_id}", json={**authorization_body, "units_used": 3}
    )
    assert replaced.status_code == 200
    listed = await organization.request("GET", "intake", "/v1/coverages")
    assert listed.status_code == 200
    rows = await tenant_rows(
        stack_env,
        "intake",
        organization.organization_id,
        "SELECT actor, action, resource_type, resource_id, at FROM intake.audit_log ORDER BY id",
    )
    trail = [(r["action"], r["resource_type"], r["resource_id"]) for r in rows]
    assert trail == [
        ("create", "patient", patient_id),
        ("create", "coverage", coverage_id),
        ("create", "authorization", authorization_id),
        ("read", "patient", patient_id),
        ("read", "coverage", coverage_id),
        ("update", "authorization", authorization_id),
        ("list", "coverage", coverage_id),
    ]
    assert {r["actor"] for r in rows} == {f"api_key:{key_id_of(organization.api_key)}"}
    assert all(r["at"] is not None for r in rows)
