"""Property-based API tests of coding, submission, remittance and analytics (intake has its own, with a larger
budget): schemathesis over each service's OpenAPI, deterministic, a fixed budget per operation. No answer may be
a 5xx, and every answer must match the schema its OpenAPI document declares. A stateful run per service then
follows the document's links (a dashboard link to the dashboard, a work queue to its first item) within a fixed
budget of scenarios and steps, each scenario in a fresh organization."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from deploy.client import ClaimflowClient
from tests.stateful_api import link_count, linked_schema, organizations, run, workflows

pytestmark = pytest.mark.stack

EXAMPLES_PER_OPERATION = 10
# Stateful budget per service: scenarios x steps bounds the calls (at most 60).
SCENARIOS = 10
STEPS_PER_SCENARIO = 6
SERVICES = ("coding", "submission", "remittance", "analytics")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
async def admin_key(stack_env: dict[str, str]) -> str:
    """The admin key of a fresh organization, once every service verifies it."""
    client = ClaimflowClient(stack_env)
    try:
        tenant = await client.create_tenant(f"fuzz-{uuid.uuid4().hex[:8]}")
        return tenant.api_key
    finally:
        await client.close()


def openapi_document(service: str) -> dict[str, Any]:
    """The OpenAPI document a service serves, built from its code without a running server."""
    document: dict[str, Any] = importlib.import_module(f"{service}.main").create_app().openapi()
    return document


def fuzz_test(service: str) -> Any:
    """A schemathesis test over one service's operations."""
    schema = schemathesis.openapi.from_dict(openapi_document(service))

    @schema.parametrize()
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def test(case: Any, admin_key: str, stack_env: dict[str, str]) -> None:
        # Operator endpoints get no key: they must refuse a tenant (401), never crash.
        headers = {} if case.path.startswith("/admin/") else {"Authorization": f"Bearer {admin_key}"}
        case.call_and_validate(
            base_url=f"http://127.0.0.1:{stack_env[f'CLAIMFLOW_{service.upper()}_PORT']}",
            headers=headers,
            checks=CHECKS,
        )

    test.__name__ = f"test_{service}_never_answers_5xx_nor_outside_its_schema"
    return test


test_coding_never_answers_5xx_nor_outside_its_schema = fuzz_test("coding")
test_submission_never_answers_5xx_nor_outside_its_schema = fuzz_test("submission")
test_remittance_never_answers_5xx_nor_outside_its_schema = fuzz_test("remittance")
test_analytics_never_answers_5xx_nor_outside_its_schema = fuzz_test("analytics")

# Links each document declares, counted by hand from the routes: coding: held charges -> charge, resolve (2), charges
# -> charge (1) and a month -> close (1); submission: claims -> claim, corrections, void (3); remittance: 835 upload
# -> file (1), unmatched -> match, file (2), denials and a denial -> the denial and its 5 actions (2 x 6), files and a
# file -> the file, post and reject when held (2 x 3); analytics: dashboard link -> dashboard (1), claim search ->
# timeline (1).
LINKS = {"coding": 4, "submission": 3, "remittance": 1 + 2 + 12 + 6, "analytics": 2}


@pytest.mark.parametrize("service", SERVICES)
def test_documents_declare_their_links(service: str) -> None:
    assert link_count(linked_schema(openapi_document(service))) == LINKS[service]


@pytest.mark.parametrize("service", SERVICES)
def test_workflows_never_answer_5xx_nor_outside_the_schema(service: str, stack_env: dict[str, str]) -> None:
    machine = workflows(
        linked_schema(openapi_document(service)),
        base_url=f"http://127.0.0.1:{stack_env[f'CLAIMFLOW_{service.upper()}_PORT']}",
        organization=organizations(stack_env),
    )
    run(machine, scenarios=SCENARIOS, steps=STEPS_PER_SCENARIO)
    answered = machine.answered  # type: ignore[attr-defined]
    assert machine.scenarios >= SCENARIOS // 2, f"only {machine.scenarios} scenarios ran"  # type: ignore[attr-defined]
    if service == "analytics":
        # The link carried the token: the dashboard opened.
        assert answered[("GET /v1/dashboard", 200)] > 0, answered
