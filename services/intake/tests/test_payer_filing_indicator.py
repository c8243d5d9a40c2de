"""A payer profile's claim filing indicator (837P SBR09): one of the X12 code list, stored, read back and replicated
to submission, which bills with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploy.client import wait_until
from tests.db import tenant_rows

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("code", ["XX", "ci", "M B", "", "123", "MBX"])
async def test_a_claim_filing_indicator_outside_the_x12_code_list_is_refused_naming_the_field(
    master: Any, code: str
) -> None:
    body = master.payer_body(profiles=[{"effective_from": "2026-01-01", "claim_filing_indicator": code}])
    response = await master.organization.request("POST", "intake", "/v1/payers", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [error["field"] for error in response.json()["errors"]]
    assert "profiles.0.claim_filing_indicator" in fields


async def test_a_claim_filing_indicator_is_stored_read_back_and_replicated(master: Any, stack_env: Any) -> None:
    organization = master.organization
    profiles = [
        {"effective_from": "2026-01-01", "payer_type": "medicare", "claim_filing_indicator": "MB"},
        {"effective_from": "2026-07-01", "payer_type": "medicare"},
    ]
    payer_id = await master.create("payers", master.payer_body(profiles=profiles))
    stored = (await organization.request("GET", "intake", f"/v1/payers/{payer_id}")).json()
    assert [p.get("claim_filing_indicator") for p in stored["profiles"]] == ["MB", None]

    async def replicated() -> list[Any] | None:
        rows = await tenant_rows(
            stack_env,
            "submission",
            organization.organization_id,
            "SELECT attributes FROM submission.reference_entities WHERE entity_type = 'payer' AND entity_id = $1",
            payer_id,
        )
        if not rows:
            return None
        return [p.get("claim_filing_indicator") for p in json.loads(rows[0]["attributes"])["profiles"]]

    assert await wait_until(replicated, timeout=30, what="submission's replica of the payer") == ["MB", None]
