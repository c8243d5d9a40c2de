"""No response on the running stack: a claim the sandbox clearinghouse accepted but pays only after a long lag lands
in the no-response queue once the business clock passes the payer's follow-up days, and leaves it when the 835
arrives (sandbox → remittance → remittance.posted → submission)."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from deploy.client import encounter_body, seed_practice, wait_until

pytestmark = pytest.mark.stack
FOLLOW_UP_DAYS = 10


async def _post_visit(tenant: Any, practice: dict[str, Any], on: date, number: int) -> str:
    """Post a clean 53-minute in-person psychotherapy visit on a date; returns the encounter id."""
    body = encounter_body(practice, random.Random(number), on, number, minutes=53)
    body.update(place_of_care="in_person", patient_at_home=False, patient_id=practice["patient_ids"][number])
    response = await tenant.request("POST", "intake", "/v1/encounters", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["encounter_id"])


async def _claim_of(tenant: Any, encounter_id: str, statuses: tuple[str, ...]) -> dict[str, Any] | None:
    """The claim of an encounter once it is in one of some statuses."""
    params = {"status": statuses[0], "charge_id": encounter_id}
    response = await tenant.request("GET", "submission", "/v1/claims", params=params)
    found = [claim for claim in response.json()["items"] if claim["charge_id"] == encounter_id]
    if not found and len(statuses) > 1:
        return await _claim_of(tenant, encounter_id, statuses[1:])
    return found[0] if found else None


async def test_an_accepted_claim_without_an_835_after_the_follow_up_days_is_in_the_no_response_queue(
    stack_tenant: Any,
) -> None:
    tenant = stack_tenant
    payer_id = await tenant.create(
        "payers",
        {
            "name": "Slow Payer",
            "x12_payer_id": "SLOW1",
            "profiles": [
                {
                    "effective_from": "2020-01-01",
                    "timely_filing_days": 365,
                    "no_response_follow_up_days": FOLLOW_UP_DAYS,
                }
            ],
        },
    )
    practice = await seed_practice(tenant, name="Slow Payer Practice", seed=8, payer_ids=[payer_id], patients=4)
    # Paid 20 business days after the batch of 2026-10-01 (a Thursday): 2026-10-29.
    await tenant.sandbox(
        "PUT", "/v1/behaviour", json={"submitter": tenant.organization_id, "payment_lag_business_days": 20}
    )
    first = await _post_visit(tenant, practice, date(2026, 9, 30), 0)

    async def sent() -> dict[str, Any] | None:
        return await _claim_of(tenant, first, ("sent",))

    claim = await wait_until(sent, timeout=60, what="the first claim to be accepted by the clearinghouse")

    async def no_response_items() -> list[dict[str, Any]]:
        response = await tenant.request("GET", "submission", "/v1/work-queues/no_response")
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["claim_id"] == claim["claim_id"]]

    async def business_day(on: date, number: int) -> None:
        """Move the business clock: the next visit's events carry the date to submission, which sweeps on it."""
        await tenant.set_business_date(on)
        encounter_id = await _post_visit(tenant, practice, on, number)

        async def arrived() -> dict[str, Any] | None:
            return await _claim_of(tenant, encounter_id, ("sent", "queued", "batched", "held"))

        await wait_until(arrived, timeout=60, what=f"the visit of {on} to reach submission")

    await business_day(date(2026, 10, 11), 1)  # 10 days after submission: not yet
    assert await no_response_items() == []
    await business_day(date(2026, 10, 12), 2)  # 11 days: past the payer's 10
    (item,) = await no_response_items()
    assert (item["reason_code"], item["opened_date"], item["claim_status"]) == ("NO-835", "2026-10-12", "sent")
    assert "11 days after submission on 2026-10-01" in item["reason"]
    assert "follow-up is 10 days" in item["reason"]

    # The payer pays on 2026-10-29: the 835 reaches remittance, and the follow-up closes.
    await tenant.set_business_date(date(2026, 10, 29))

    async def resolved() -> list[dict[str, Any]] | None:
        response = await tenant.request(
            "GET", "submission", "/v1/work-queues/no_response", params={"status": "resolved"}
        )
        items = [entry for entry in response.json()["items"] if entry["claim_id"] == claim["claim_id"]]
        return items or None

    (closed,) = await wait_until(resolved, timeout=90, what="the 835 to close the no-response item")
    assert (closed["resolved_date"], closed["resolution"]) == ("2026-10-29", "adjudicated by the payer")
    assert closed["claim_status"] == "adjudicated"
