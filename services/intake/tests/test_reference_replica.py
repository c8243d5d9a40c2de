"""Another service's replica of claimflow.reference.v1 converges on intake's master data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploy.client import wait_until
from tests.db import tenant_rows

pytestmark = pytest.mark.stack

REPLICATED = {
    "practice": "practices",
    "payer": "payers",
    "provider": "providers",
    "fee_schedule_entry": "fee-schedules",
    "user": "users",
}


async def test_the_coding_replica_matches_intake_after_creates_updates_and_deletes(master, lister, stack_env):
    organization = master.organization

    async def replace(plural: str, record_id: str, body: dict[str, Any]) -> None:
        response = await organization.request("PUT", "intake", f"/v1/{plural}/{record_id}", json=body)
        assert response.status_code == 200, response.text

    async def delete(plural: str, record_id: str) -> None:
        response = await organization.request("DELETE", "intake", f"/v1/{plural}/{record_id}")
        assert response.status_code == 204, response.text

    kept_practice_body = master.practice_body(name="Kept Practice")
    kept_practice = await master.create("practices", kept_practice_body)
    gone_practice = await master.create("practices", master.practice_body(name="Closed Practice"))
    behavioral_payer = await master.create("payers", master.payer_body(behavioral_health_carve_out=True))
    medical_body = master.payer_body(carve_out_payer_id=behavioral_payer)
    medical_payer = await master.create("payers", medical_body)
    provider_body = master.provider_body(kept_practice)
    kept_provider = await master.create("providers", provider_body)
    gone_provider = await master.create("providers", master.provider_body(gone_practice))
    fee_body = master.fee_body(kept_practice, payer_id=medical_payer)
    kept_fee = await master.create("fee-schedules", fee_body)
    gone_fee = await master.create("fee-schedules", master.fee_body(gone_practice))
    user_body = master.user_body()
    kept_user = await master.create("users", user_body)
    gone_user = await master.create("users", master.user_body())

    await replace("practices", kept_practice, {**kept_practice_body, "name": "Kept Practice (renamed)"})
    await replace(
        "providers",
        kept_provider,
        {**provider_body, "credentialing": [{"payer_id": medical_payer, "effective_from": "2026-03-01"}]},
    )
    await replace(
        "payers",
        medical_payer,
        {
            **medical_body,
            "carve_out_payer_id": None,
            "profiles": [
                {"effective_from": "2026-01-01", "authorization": {"mode": "listed_codes", "codes": ["90837"]}},
                {"effective_from": "2026-07-01", "visit_limits": [{"visits": 20}], "timely_filing_days": 90},
            ],
        },
    )
    await replace("fee-schedules", kept_fee, {**fee_body, "amount": "175.50"})
    await replace("users", kept_user, {**user_body, "role": "coder", "active": False})
    await delete("fee-schedules", gone_fee)
    await delete("providers", gone_provider)
    await delete("practices", gone_practice)
    await delete("payers", behavioral_payer)
    await delete("users", gone_user)
    deleted = {gone_fee, gone_provider, gone_practice, behavioral_payer, gone_user}

    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for entity_type, plural in REPLICATED.items():
        for item in await lister(organization, plural):
            record_id = item.pop("id")
            expected[(entity_type, record_id)] = item
    assert len(expected) == 5, "one live record of each replicated kind"
    assert expected[("fee_schedule_entry", kept_fee)]["amount"] == "175.50"

    async def replica_state() -> tuple[dict[tuple[str, str], dict[str, Any]], set[str]] | None:
        rows = await tenant_rows(
            stack_env,
            "coding",
            organization.organization_id,
            "SELECT entity_type, entity_id, attributes, deleted FROM coding.reference_entities "
            "WHERE entity_type = ANY($1::text[])",
            list(REPLICATED),
        )
        live = {}
        for row in rows:
            if not row["deleted"]:
                attributes = json.loads(row["attributes"])
                attributes.pop("entity_type")
                live[(row["entity_type"], row["entity_id"])] = attributes
        gone = {row["entity_id"] for row in rows if row["deleted"]}
        if live == expected and gone == deleted:
            return live, gone
        return None

    await wait_until(replica_state, timeout=30, what="coding's reference replica to match intake's master data")
