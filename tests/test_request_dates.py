"""Every service's date inputs, bodies and queries alike, refuse a number or a date outside 1900-2100 with a 422
naming the field (the shared contract type), where pydantic alone would read `0` as 1970-01-01 and take 9999-12-31."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.client import ClaimflowClient, Tenant

pytestmark = pytest.mark.stack

NOT_DATES = ["0", "1700000000", "20261001", "0001-01-01", "9999-12-31", "2026-02-30"]
SOME_ID = str(uuid.uuid4())
# (service, method, path, field, how the date is sent, the rest of a valid request)
DATE_INPUTS: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ("analytics", "GET", "/v1/kpis", "as_of", "query", {}),
    ("analytics", "GET", "/v1/kpis.csv", "as_of", "query", {}),
    ("analytics", "GET", "/v1/claims", "date_from", "query", {}),
    ("remittance", "GET", "/v1/remittances", "payment_date_from", "query", {}),
    (
        "remittance",
        "POST",
        "/v1/patient-payments",
        "posted_date",
        "body",
        {"claim_id": "C1", "amount": "20.00", "method": "copay"},
    ),
    (
        "remittance",
        "POST",
        "/v1/write-offs",
        "written_off_date",
        "body",
        {"claim_id": "C1", "balance": "patient", "reason": "small_balance", "amount": "1.00"},
    ),
    ("remittance", "POST", f"/v1/denials/{SOME_ID}/appeal", "appealed_date", "body", {}),
    ("remittance", "POST", f"/v1/denials/{SOME_ID}/resolve", "resolved_date", "body", {"outcome": "upheld"}),
    ("submission", "POST", "/v1/work-queues/sweep", "as_of", "body", {}),
]


@pytest.fixture(scope="module")
async def organization(stack_env: dict[str, str]) -> Any:
    """One organization for every refusal (nothing is stored)."""
    claimflow = ClaimflowClient(stack_env)
    tenant = await claimflow.create_tenant(f"dates-{uuid.uuid4().hex[:8]}")
    yield tenant
    await claimflow.close()


@pytest.mark.parametrize("written", NOT_DATES)
@pytest.mark.parametrize(
    ("service", "method", "path", "field", "where", "rest"),
    DATE_INPUTS,
    ids=[f"{s}:{p}:{f}" for s, _, p, f, *_ in DATE_INPUTS],
)
async def test_a_date_input_that_is_a_number_or_out_of_bounds_is_refused_naming_it(
    organization: Tenant,
    service: str,
    method: str,
    path: str,
    field: str,
    where: str,
    rest: dict[str, Any],
    written: str,
) -> None:
    if where == "query":
        answer = await organization.request(method, service, path, params={field: written, **rest})
    else:
        answer = await organization.request(method, service, path, json={field: written, **rest})
    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    named = {error["field"] for error in answer.json().get("errors", [])}
    assert (f"query.{field}" if where == "query" else field) in named, answer.text[:300]
