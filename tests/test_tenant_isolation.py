"""Two organizations across every service that takes an id: the other organization's ids answer 404 on reads and
actions alike, and are refused inside payloads; its lists never show them.

Organization A runs a visit through the whole pipeline (denied by the payer, so a denial exists) and a too-short
visit that coding holds. Organization B then tries every id-taking endpoint of coding, submission, remittance and
analytics with A's ids. (Intake's endpoints have their own two-organization tests in services/intake/tests.)
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import pytest

from deploy.client import ClaimflowClient, Tenant, encounter_body, wait_until
from tests.db import tenant_rows

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 28)


@pytest.fixture
async def other(client: ClaimflowClient) -> Tenant:
    """The second organization."""
    return await client.create_tenant(f"isolation-{uuid.uuid4().hex[:8]}")


async def post(tenant: Tenant, number: int, minutes: int) -> str:
    """A visit of A's first practice; returns the encounter id."""
    body = encounter_body(tenant.practices[0], random.Random(number), DOS, number, minutes=minutes)
    body["place_of_care"] = "in_person"
    body["patient_id"] = tenant.practices[0]["patient_ids"][number]
    response = await tenant.request("POST", "intake", "/v1/encounters", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["encounter_id"])


async def ids_of_a_denied_claim(stack_env: dict[str, str], tenant: Tenant) -> dict[str, Any]:
    """Charge, held charge, claim, denial and 835 file ids of organization A."""
    await tenant.sandbox(
        "PUT", "/v1/behaviour", json={"submitter": tenant.organization_id, "denial_rate": 1.0, "seed": "isolation"}
    )
    charge_id = await post(tenant, 0, 53)
    held_id = await post(tenant, 1, 10)

    async def denial() -> dict[str, Any] | None:
        found = await tenant.request("GET", "remittance", "/v1/denials")
        return found.json()["items"][0] if found.status_code == 200 and found.json()["items"] else None

    denied = await wait_until(denial, timeout=120, what="organization A's claim to be denied")
    rows = await tenant_rows(
        stack_env, "remittance", tenant.organization_id, "SELECT file_id FROM remittance.remittance_files"
    )
    held = await tenant.request("GET", "coding", f"/v1/charges/{held_id}")
    assert held.json()["status"] == "held"
    return {
        "charge": charge_id,
        "held": held_id,
        "claim": denied["claim_id"],
        "denial": denied["denial_id"],
        "file": str(rows[0]["file_id"]),
    }


async def test_every_id_of_another_organization_answers_404_and_is_refused_in_payloads(
    stack_env: dict[str, str], tenant: Tenant, other: Tenant
) -> None:
    a = await ids_of_a_denied_claim(stack_env, tenant)
    claim, denial = a["claim"], a["denial"]
    attempts: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("GET", "coding", f"/v1/charges/{a['charge']}", None),
        ("POST", "coding", f"/v1/holds/{a['held']}/resolve", {"action": "reject", "reason": "not ours"}),
        ("GET", "submission", f"/v1/claims/{claim}", None),
        ("POST", "submission", f"/v1/claims/{claim}/corrections", {"note": "not ours"}),
        ("POST", "submission", f"/v1/claims/{claim}/void", {"reason": "not ours"}),
        ("GET", "remittance", f"/v1/claims/{claim}/balance", None),
        ("GET", "remittance", f"/v1/remittances/{a['file']}", None),
        ("GET", "remittance", f"/v1/denials/{denial}", None),
        ("POST", "remittance", f"/v1/denials/{denial}/assign", {"user_id": str(uuid.uuid4())}),
        ("POST", "remittance", f"/v1/denials/{denial}/notes", {"text": "not ours"}),
        ("POST", "remittance", f"/v1/denials/{denial}/appeal", {"appealed_date": "2026-10-05"}),
        ("POST", "remittance", f"/v1/denials/{denial}/resolve", {"outcome": "upheld"}),
        ("POST", "remittance", f"/v1/denials/{denial}/correction", {"note": "not ours"}),
        ("GET", "analytics", f"/v1/claims/{claim}/timeline", None),
    ]
    answers = {}
    for method, service, path, body in attempts:
        response = (
            await other.request(method, service, path, json=body)
            if body
            else await other.request(method, service, path)
        )
        answers[f"{method} {service} {path}"] = response.status_code
    assert answers == dict.fromkeys(answers, 404)

    # An id of A inside B's payload is refused, naming the field; nothing is posted for B or A.
    for path, body in (
        ("/v1/patient-payments", {"claim_id": claim, "amount": "20.00"}),
        ("/v1/write-offs", {"claim_id": claim, "balance": "payer", "reason": "other", "amount": "1.00"}),
    ):
        response = await other.request("POST", "remittance", path, json=body)
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["claim_id"]
    # B's lists never show A's records.
    assert (await other.request("GET", "remittance", "/v1/denials")).json()["items"] == []
    searched = (await other.request("GET", "analytics", "/v1/claims")).json()
    assert searched["items"] == []
    # A still sees its own records: the 404s are about ownership, not about the ids.
    assert (await tenant.request("GET", "submission", f"/v1/claims/{claim}")).status_code == 200
    assert (await tenant.request("GET", "remittance", f"/v1/denials/{denial}")).status_code == 200
