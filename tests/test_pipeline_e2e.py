"""End to end: an encounter posted to intake becomes a paid claim that analytics counts, each effect exactly once."""

from __future__ import annotations

import random
from datetime import date

import pytest

from deploy.client import encounter_body, wait_until
from tests.db import tenant_rows

pytestmark = pytest.mark.stack


async def test_an_encounter_becomes_a_paid_claim_in_analytics_with_each_effect_once(stack_env, tenant):
    body = encounter_body(tenant.practices[0], random.Random(1), date(2026, 10, 1), 1, minutes=53)
    body["place_of_care"] = "in_person"
    response = await tenant.request("POST", "intake", "/v1/encounters", json=body)
    assert response.status_code == 202, response.text
    encounter_id = response.json()["encounter_id"]

    async def charge():
        found = await tenant.request("GET", "coding", f"/v1/charges/{encounter_id}")
        return found.json() if found.status_code == 200 else None

    coded = await wait_until(charge, timeout=60, what="coding to charge the encounter")
    assert [line["procedure_code"] for line in coded["lines"]] == ["90837"]
    assert coded["lines"][0]["place_of_service"] == "11"

    async def sent_claim():
        rows = await tenant_rows(
            stack_env,
            "submission",
            tenant.organization_id,
            "SELECT claim_id, status FROM submission.claims WHERE charge_id = $1",
            encounter_id,
        )
        # sent, or already past it: the sandbox pays at once and remittance reports the adjudication back
        return rows if rows and rows[0]["status"] in ("sent", "adjudicated") else None

    claims = await wait_until(sent_claim, timeout=60, what="submission to send the claim")
    claim_id = claims[0]["claim_id"]
    assert len(claim_id) <= 20

    async def paid():
        timeline = await tenant.request("GET", "analytics", f"/v1/claims/{claim_id}/timeline")
        if timeline.status_code != 200:
            return None
        types = [entry["event_type"] for entry in timeline.json()["events"]]
        return types if "remittance.posted" in types else None

    types = await wait_until(paid, timeout=90, what="analytics to see the claim paid")
    assert {"charge.created", "claim.submitted", "claim.acknowledged", "remittance.posted"} <= set(types)

    report = (await tenant.request("GET", "analytics", "/v1/kpis", params={"as_of": "2026-10-01"})).json()
    first_pass = next(k for k in report["kpis"] if k["name"] == "clean_claim_rate" and k["variant"] == "first_pass")
    assert first_pass["denominator"]["count"] == 1
    assert first_pass["numerator"]["count"] == 1

    # Each event produced exactly one downstream effect.
    assert (
        len(
            await tenant_rows(
                stack_env,
                "coding",
                tenant.organization_id,
                "SELECT 1 FROM coding.charges WHERE charge_id = $1",
                encounter_id,
            )
        )
        == 1
    )
    assert len(claims) == 1
    postings = await tenant_rows(
        stack_env,
        "remittance",
        tenant.organization_id,
        "SELECT paid_amount FROM remittance.postings WHERE claim_id = $1",
        claim_id,
    )
    assert len(postings) == 1
    assert postings[0]["paid_amount"] > 0
    assert types.count("remittance.posted") == 1
    assert types.count("claim.submitted") == 1
