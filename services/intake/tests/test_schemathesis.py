"""Property-based API tests: schemathesis over intake's OpenAPI, a fixed budget, deterministic.

Every operation gets schema-valid and schema-invalid requests as a fresh organization's admin; none may answer 5xx
and every answer must match the schema the OpenAPI document declares for it. The stateful run then chains
operations along the document's links: records are created, read, replaced and deleted by the id their creation
answered, and encounters are read, amended and cancelled by theirs.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, initialize
from schemathesis.checks import not_a_server_error
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from deploy.client import encounter_body
from tests.stateful_api import link_count, linked_schema, organizations, run, workflows

pytestmark = pytest.mark.stack

EXAMPLES_PER_OPERATION = 25
# Stateful budget: scenarios x steps bounds the calls (at most 200) whatever the links lead to.
SCENARIOS = 20
STEPS_PER_SCENARIO = 10
BUSINESS_DATE = date(2026, 10, 1)


def _intake_url(env: dict[str, str]) -> str:
    """Base URL of the stack's intake API."""
    return f"http://127.0.0.1:{env['CLAIMFLOW_INTAKE_PORT']}"


@pytest.fixture(scope="module")
def admin_key(stack_env: dict[str, str]) -> str:
    """The admin key of a fresh organization, once intake verifies it."""
    base = _intake_url(stack_env)
    with httpx.Client(timeout=30) as http:
        created = http.post(
            f"{base}/v1/organizations",
            json={"name": f"schemathesis-{uuid.uuid4().hex[:8]}"},
            headers={"Authorization": f"Bearer {stack_env['CLAIMFLOW_OPERATOR_TOKEN']}"},
        )
        created.raise_for_status()
        key = str(created.json()["admin_key"]["api_key"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = http.get(f"{base}/v1/encounters/{uuid.uuid4()}", headers={"Authorization": f"Bearer {key}"})
            if probe.status_code != 401:
                return key
            time.sleep(0.2)
    raise TimeoutError("the new organization's API key did not reach intake within 30 s")


def _openapi_document() -> dict[str, Any]:
    """The OpenAPI document intake serves, built from the code without a running server."""
    from intake.main import create_app

    document: dict[str, Any] = create_app().openapi()
    return document


schema = schemathesis.openapi.from_dict(_openapi_document())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_intake_never_answers_5xx_nor_outside_its_schema(case: Any, admin_key: str, stack_env: dict[str, str]) -> None:
    if case.path.startswith("/admin/") or case.path == "/v1/organizations":
        headers = {}  # operator endpoints: a tenant's key must be refused (401), never crash them
    else:
        headers = {"Authorization": f"Bearer {admin_key}"}
    case.call_and_validate(
        base_url=_intake_url(stack_env),
        headers=headers,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


linked = linked_schema(_openapi_document())


def test_intake_document_declares_links_for_its_workflows() -> None:
    # 8 master kinds: create -> read/replace/delete (24), replace -> the same 3 (24), list -> read (8); creates
    # taking a new record's id: practice -> fee schedule/provider/patient, payer -> fee schedule/coverage/
    # authorization, patient -> coverage/authorization, user -> API key (9); API key -> revoke (1); 4 links to
    # the encounter's next steps from POST encounter (200, 202), FHIR Bundle (200, 202), amendment, cancellation,
    # resolution and the eligibility queue (8 answers x 4 = 32).
    assert link_count(linked) == 24 + 24 + 8 + 9 + 1 + 32


def test_intake_workflows_never_answer_5xx_nor_outside_the_schema(stack_env: dict[str, str]) -> None:
    organization = organizations(stack_env, business_date=BUSINESS_DATE)
    machine: Any = workflows(linked, base_url=_intake_url(stack_env), organization=organization)
    receive = linked["/v1/encounters"]["POST"]
    amend = linked["/v1/encounters/{encounter_id}/amendments"]["POST"]

    class IntakeWorkflows(machine):  # type: ignore[misc]
        """Each scenario also receives one valid encounter, so the encounter links get a real id to follow."""

        @initialize(target=Bundle("encounters"))
        def receive_a_valid_encounter(self) -> StepOutput:
            """POST a realistic visit of the scenario's practice (its answer feeds the encounter links)."""
            body = encounter_body(self.tenant.practices[0], random.Random(7), date(2026, 9, 15), 1)
            step = StepInput.initial(receive.Case(body=body, media_type="application/json"))
            self.recorder.record_case(case=step.case)  # as a root step is recorded, for the steps it leads to
            output: StepOutput = self.step(step)
            # Late minutes for it, as an EHR sends them: the generated amendments of the scenario rarely name only
            # fields that make a valid visit, so this one makes sure the amendment path runs in every scenario.
            encounter_id = output.response.json()["encounter_id"]
            minutes = body["minutes"]["psychotherapy"] + 5
            late_minutes = {"minutes": {"psychotherapy": minutes}, "reason": "late minutes"}
            amendment = amend.Case(
                path_parameters={"encounter_id": encounter_id}, body=late_minutes, media_type="application/json"
            )
            self.recorder.record_case(case=amendment)
            self.step(StepInput.initial(amendment))
            return output

    run(IntakeWorkflows, scenarios=SCENARIOS, steps=STEPS_PER_SCENARIO)

    answered = IntakeWorkflows.answered
    assert IntakeWorkflows.scenarios >= SCENARIOS // 2, f"only {IntakeWorkflows.scenarios} scenarios ran"
    # Every scenario received its encounter, and the links carried real ids from one step to the next.
    assert answered[("POST /v1/encounters", 202)] >= IntakeWorkflows.scenarios - 1, answered
    assert answered[("GET /v1/encounters/{encounter_id}", 200)] > 0, answered
    assert answered[("POST /v1/encounters/{encounter_id}/amendments", 200)] >= IntakeWorkflows.scenarios - 1, answered
    assert answered[("POST /v1/encounters/{encounter_id}/cancel", 200)] > 0, answered


def test_an_amendment_clearing_a_field_the_visit_needs_is_refused_naming_it() -> None:
    from intake.amendments import amended_input
    from intake.encounter_schemas import EncounterAmendmentIn, EncounterIn

    from shared.problems import Problem

    current = EncounterIn.model_validate(
        {
            "ehr_encounter_id": "EHR-1",
            "practice_id": str(uuid.uuid4()),
            "provider_id": str(uuid.uuid4()),
            "patient_id": str(uuid.uuid4()),
            "date_of_service": "2026-09-15",
            "minutes": {"psychotherapy": 45},
            "diagnoses": ["F41.1"],
        }
    )
    amendment = EncounterAmendmentIn.model_validate({"date_of_service": None, "minutes": None})
    with pytest.raises(Problem) as refused:
        amended_input(current, amendment)
    assert refused.value.status == 422
    assert {error["field"] for error in refused.value.errors} == {"date_of_service", "minutes"}
