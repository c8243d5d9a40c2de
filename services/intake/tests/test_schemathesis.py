"""Property-based API tests: schemathesis over intake's OpenAPI, a fixed budget per operation, deterministic.

Every operation gets schema-valid and schema-invalid requests as a fresh organization's admin; none may answer 5xx
and every answer must match the schema the OpenAPI document declares for it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

pytestmark = pytest.mark.stack

EXAMPLES_PER_OPERATION = 25


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
