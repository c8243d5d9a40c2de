"""FHIR R4 transaction Bundles on the running stack: the same encounter and event as native JSON, FHIR-path errors."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy.client import ClaimflowClient, Tenant
from services.intake.tests.test_encounters_support import ADDRESS, PRACTICE_NPI, PROVIDER_NPI, Clinic

pytestmark = pytest.mark.stack

NPI = "http://hl7.org/fhir/sid/us-npi"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
PATIENT_REFERENCE = {"reference": "urn:uuid:00000000-0000-4000-8000-00000000000a"}
ID_FIELDS = {"encounter_id", "patient_id", "coverage_id", "practice_id", "provider_id", "payer_id", "authorization_id"}


def bundle(*, diagnoses: tuple[str, str] = ("F41.1", "F33.1")) -> dict[str, Any]:
    """The visit of Clinic.encounter(diagnoses=[F33.1, F41.1]) as a transaction Bundle.

    The Conditions are listed F41.1 first, but Encounter.diagnosis ranks F33.1 first, so F33.1 is principal.
    """
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000000a",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "type": {"coding": [{"code": "MR"}]},
                            "system": "urn:ehr:mrn",
                            "value": "MRN-4711",
                        }
                    ],
                    "name": [{"family": "Rivera", "given": ["Ana"]}],
                    "gender": "female",
                    "birthDate": "1984-03-09",
                    "address": [
                        {
                            "line": [ADDRESS["line1"]],
                            "city": ADDRESS["city"],
                            "state": ADDRESS["state"],
                            "postalCode": ADDRESS["postal_code"],
                        }
                    ],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000000b",
                "resource": {
                    "resourceType": "Coverage",
                    "status": "active",
                    "beneficiary": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000000a"},
                    "payor": [{"identifier": {"value": "ACME1"}}],
                    "subscriberId": "M0004711",
                    "relationship": {"coding": [{"code": "self"}]},
                    "period": {"start": "2026-01-01"},
                    "order": 1,
                    "costToBeneficiary": [{"type": {"coding": [{"code": "copay"}]}, "valueMoney": {"value": 20.00}}],
                },
                "request": {"method": "POST", "url": "Coverage"},
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000000c",
                "resource": {
                    "resourceType": "Encounter",
                    "identifier": [{"system": "urn:ehr:encounter", "value": "EHR-000123"}],
                    "status": "finished",
                    "class": {"code": "VR"},
                    "serviceType": {"coding": [{"code": "psychotherapy"}]},
                    "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000000a"},
                    "participant": [{"individual": {"identifier": {"system": NPI, "value": PROVIDER_NPI}}}],
                    "period": {"start": "2026-05-04T10:00:00-05:00"},
                    "length": {"value": 53, "unit": "min"},
                    "serviceProvider": {"identifier": {"system": NPI, "value": PRACTICE_NPI}},
                    "diagnosis": [
                        {"condition": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000000d"}, "rank": 2},
                        {"condition": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000000e"}, "rank": 1},
                    ],
                    "extension": [
                        {
                            "url": "urn:claimflow:fhir:encounter-billing",
                            "extension": [
                                {"url": "patient_at_home", "valueBoolean": True},
                                {"url": "patient_status", "valueCode": "established"},
                            ],
                        }
                    ],
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000000d",
                "resource": {
                    "resourceType": "Condition",
                    "subject": PATIENT_REFERENCE,
                    "code": {"coding": [{"system": ICD10CM, "code": diagnoses[0]}]},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000000e",
                "resource": {
                    "resourceType": "Condition",
                    "subject": PATIENT_REFERENCE,
                    "code": {"coding": [{"system": ICD10CM, "code": diagnoses[1]}]},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }


@pytest.fixture(scope="module")
async def empty_clinic(stack_env: dict[str, str]) -> AsyncIterator[Clinic]:
    """A practice, provider and payer without patients, shared by the refusal cases (which store nothing)."""
    claimflow = ClaimflowClient(stack_env)
    tenant = await claimflow.create_tenant(f"intake-fhir-{uuid.uuid4().hex[:8]}")
    yield await Clinic.create(tenant, stack_env, with_patient=False)
    await claimflow.close()


def without_ids(value: Any) -> Any:
    """A payload with the organization-specific ids blanked (everything else must match)."""
    if isinstance(value, dict):
        return {k: ("<id>" if k in ID_FIELDS else without_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


async def post_bundle(clinic: Clinic, document: Any, content_type: str = "application/fhir+json") -> Any:
    """POST a Bundle as this organization."""
    return await clinic.tenant.request(
        "POST",
        "intake",
        "/v1/fhir/Bundle",
        content=json.dumps(document).encode(),
        headers={"content-type": content_type},
    )


async def test_a_fhir_bundle_and_the_equivalent_native_json_give_the_same_encounter_and_event(
    organization: Tenant, other_organization: Tenant, stack_env: dict[str, str]
) -> None:
    via_fhir = await Clinic.create(organization, stack_env, with_patient=False)
    via_json = await Clinic.create(other_organization, stack_env)

    fhir_answer = await post_bundle(via_fhir, bundle())
    json_answer = await via_json.post("/v1/encounters", via_json.encounter(diagnoses=["F33.1", "F41.1"]))
    assert (fhir_answer.status_code, json_answer.status_code) == (202, 202), fhir_answer.text

    [fhir_event] = await via_fhir.events("encounter.received")
    [json_event] = await via_json.events("encounter.received")
    assert fhir_event["data"]["diagnoses"] == ["F33.1", "F41.1"]
    assert without_ids(fhir_event["data"]["coverage"]) == without_ids(json_event["data"]["coverage"])
    assert without_ids(fhir_event["data"]) == without_ids(json_event["data"])
    [fhir_row] = await via_fhir.encounter_rows()
    [json_row] = await via_json.encounter_rows()
    assert without_ids(json.loads(fhir_row["snapshot"])) == without_ids(json.loads(json_row["snapshot"]))
    # The patient and coverage were created from the Bundle.
    [(patient_id, patient)] = [(r["entity_id"], json.loads(r["attributes"])) for r in await via_fhir.masters("patient")]
    assert patient["ehr_patient_id"] == "MRN-4711"
    assert str(patient_id) == fhir_answer.json()["patient_id"]
    [coverage] = await via_fhir.masters("coverage")
    assert str(coverage["entity_id"]) == fhir_answer.json()["coverage_id"]


async def test_a_known_patient_and_coverage_are_reused_and_a_resent_bundle_is_the_same_encounter(
    organization: Tenant, stack_env: dict[str, str]
) -> None:
    clinic = await Clinic.create(organization, stack_env)
    first = await post_bundle(clinic, bundle(), content_type="application/json")
    again = await post_bundle(clinic, bundle())
    assert (first.status_code, again.status_code) == (202, 200), first.text
    assert first.json()["patient_id"] == clinic.ids["patient"]
    assert first.json()["coverage_id"] == clinic.ids["coverage"]
    assert again.json()["encounter_id"] == first.json()["encounter_id"]
    assert len(await clinic.masters("patient")) == 1
    assert len(await clinic.masters("coverage")) == 1
    assert len(await clinic.events()) == 1


def broken(path: list[Any], value: Any) -> dict[str, Any]:
    """The Bundle with one value replaced."""
    document = copy.deepcopy(bundle())
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (bundle(diagnoses=("F41.1", "F99.999")), "entry[4].resource.code.coding[0].code"),
        (broken(["entry", 3, "resource", "code", "coding", 0, "code"], 7), "entry[3].resource.code.coding[0].code"),
        (
            broken(["entry", 3, "resource", "code", "coding", 0, "system"], "http://snomed.info/sct"),
            "entry[3].resource.code.coding",
        ),
        (
            broken(["entry", 2, "resource", "serviceProvider", "identifier", "value"], "1003000126"),
            "entry[2].resource.serviceProvider",
        ),
        (
            broken(["entry", 2, "resource", "participant", 0, "individual", "identifier", "value"], "1679576722"),
            "entry[2].resource.participant[0].individual",
        ),
        (broken(["entry", 1, "resource", "payor", 0, "identifier", "value"], "NOPE9"), "entry[1].resource.payor[0]"),
        (broken(["entry", 2, "resource", "class", "code"], "IMP"), "entry[2].resource.class.code"),
        (broken(["entry", 2, "resource", "status"], "cancelled"), "entry[2].resource.status"),
        (broken(["entry", 0, "resource", "birthDate"], "not a date"), "entry[0].resource.birthDate"),
        (broken(["entry", 0, "resource", "name"], [{"given": ["Ana"]}]), "entry[0].resource.name[0].family"),
        (broken(["entry", 2, "resource", "bogus"], 1), "entry[2].resource.bogus"),
        (broken(["entry", 1, "resource", "resourceType"], "Claim"), "entry[1].resource.resourceType"),
        (broken(["type"], "batch"), "type"),
        (
            broken(["entry", 2, "resource", "extension", 0, "extension", 1, "valueCode"], "returning"),
            "entry[2].resource.extension[0].extension[1]",
        ),
    ],
)
async def test_a_bad_bundle_is_refused_naming_the_fhir_path_and_nothing_is_stored(
    empty_clinic: Clinic, document: dict[str, Any], field: str
) -> None:
    clinic = empty_clinic
    response = await post_bundle(clinic, document)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await clinic.encounter_rows() == []
    assert await clinic.masters("patient") == []
    assert await clinic.masters("coverage") == []
    assert await clinic.events() == []


async def test_a_bundle_in_another_media_type_or_not_json_is_refused(empty_clinic: Clinic) -> None:
    clinic = empty_clinic
    xml = await post_bundle(clinic, bundle(), content_type="application/fhir+xml")
    assert xml.status_code == 415
    garbled = await clinic.tenant.request(
        "POST", "intake", "/v1/fhir/Bundle", content=b"{not json", headers={"content-type": "application/fhir+json"}
    )
    assert garbled.status_code == 422
    assert garbled.json()["errors"][0]["field"] == "Bundle"
