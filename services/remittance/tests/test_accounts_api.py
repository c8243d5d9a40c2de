"""Integration: patient payments, write-offs and claim balances through the API, per organization."""

from __future__ import annotations

import uuid

import pytest
from remittance.models import patient_payments, write_offs

from services.remittance.tests.support import SETTINGS, api_key, count, deliver, outbox_events, submit_claim, tag

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]


async def paid_claim(stack_sessions, api, org, eras) -> str:
    """A claim billed 150, paid 100 with CO-45 30 and PR-3 20 (DOMAIN.md 6's C1): patient owes 20."""
    claim_id = f"P{tag()}"
    await submit_claim(stack_sessions, org, claim_id)
    body = eras.text([eras.paid.format(claim=claim_id)], payment="100", trace=f"T{claim_id}")
    assert (await deliver(api, org, body)).status_code == 200
    return claim_id


async def test_a_patient_payment_is_posted_once_per_idempotency_key_and_emits_its_event(
    stack_sessions, api, org, eras
) -> None:
    claim_id = await paid_claim(stack_sessions, api, org, eras)
    headers = await api_key(stack_sessions, org)
    body = {"claim_id": claim_id, "amount": "15.00", "method": "copay", "posted_date": "2026-10-20"}

    first = await api.post("/v1/patient-payments", json=body, headers={**headers, "Idempotency-Key": "pp-1"})
    replay = await api.post("/v1/patient-payments", json=body, headers={**headers, "Idempotency-Key": "pp-1"})

    assert first.status_code == 201, first.text
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["patient_payment_id"] == first.json()["patient_payment_id"]
    assert first.json()["balance"]["patient_open"] == "5.00"
    assert first.json()["balance"]["payer_open"] == "0.00"
    assert await count(stack_sessions, org, patient_payments) == 1
    events = [e for e in await outbox_events(claim_id) if e["type"] == "patient-payment.posted"]
    assert len(events) == 1
    assert (events[0]["data"]["amount"], events[0]["data"]["method"], events[0]["businessdate"]) == (
        "15.00",
        "copay",
        "2026-10-20",
    )


async def test_a_payment_above_the_patient_balance_or_not_positive_is_422_naming_the_amount(
    stack_sessions, api, org, eras
) -> None:
    claim_id = await paid_claim(stack_sessions, api, org, eras)
    headers = await api_key(stack_sessions, org)

    too_much = await api.post("/v1/patient-payments", json={"claim_id": claim_id, "amount": "20.01"}, headers=headers)
    zero = await api.post("/v1/patient-payments", json={"claim_id": claim_id, "amount": "0"}, headers=headers)
    extra = await api.post(
        "/v1/patient-payments", json={"claim_id": claim_id, "amount": "1", "organization_id": "x"}, headers=headers
    )

    assert too_much.status_code == 422
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in too_much.json()["errors"]] == ["amount"]
    assert "20.00" in too_much.json()["errors"][0]["reason"]
    assert zero.status_code == 422
    assert [e["field"] for e in zero.json()["errors"]] == ["amount"]
    assert extra.status_code == 422
    assert [e["field"] for e in extra.json()["errors"]] == ["organization_id"]
    assert await count(stack_sessions, org, patient_payments) == 0


async def test_small_balance_and_bad_debt_write_offs_close_the_patient_balance(stack_sessions, api, org, eras) -> None:
    claim_id = await paid_claim(stack_sessions, api, org, eras)
    headers = await api_key(stack_sessions, org)

    bad_debt_on_payer = await api.post(
        "/v1/write-offs",
        json={"claim_id": claim_id, "balance": "payer", "reason": "bad_debt", "amount": "5"},
        headers=headers,
    )
    small = await api.post(
        "/v1/write-offs",
        json={"claim_id": claim_id, "balance": "patient", "reason": "small_balance", "amount": "4.50"},
        headers=headers,
    )
    bad_debt = await api.post(
        "/v1/write-offs",
        json={"claim_id": claim_id, "balance": "patient", "reason": "bad_debt", "amount": "15.50"},
        headers=headers,
    )
    more = await api.post(
        "/v1/write-offs",
        json={"claim_id": claim_id, "balance": "patient", "reason": "other", "amount": "0.01"},
        headers=headers,
    )
    balance = (await api.get(f"/v1/claims/{claim_id}/balance", headers=headers)).json()

    assert bad_debt_on_payer.status_code == 422
    assert [e["field"] for e in bad_debt_on_payer.json()["errors"]] == ["balance"]
    assert (small.status_code, bad_debt.status_code) == (201, 201)
    assert more.status_code == 422
    assert [e["field"] for e in more.json()["errors"]] == ["amount"]
    assert balance == {
        "billed": "150.00",
        "paid": "100.00",
        "contractual": "30.00",
        "patient_responsibility": "20.00",
        "patient_paid": "0.00",
        "payer_written_off": "0.00",
        "patient_written_off": "20.00",
        "payer_open": "0.00",
        "patient_open": "0.00",
        "open_balance": "0.00",
    }
    events = [e["data"] for e in await outbox_events(claim_id) if e["type"] == "balance.written-off"]
    assert [(e["reason"], e["balance"], e["amount"]) for e in events] == [
        ("small_balance", "patient", "4.50"),
        ("bad_debt", "patient", "15.50"),
    ]


async def test_a_denial_write_off_takes_the_denied_amount_off_the_payer_balance_and_resolves_the_denial(
    stack_sessions, api, org, eras
) -> None:
    claim_id = f"D{tag()}"
    await submit_claim(stack_sessions, org, claim_id)
    body = eras.text([eras.denied.format(claim=claim_id)], payment="0", trace=f"T{claim_id}")
    assert (await deliver(api, org, body)).status_code == 200
    headers = await api_key(stack_sessions, org)
    denial_id = (await api.get("/v1/denials", headers=headers)).json()["items"][0]["denial_id"]

    missing_denial = await api.post(
        "/v1/write-offs",
        json={"claim_id": claim_id, "balance": "payer", "reason": "denial", "amount": "150"},
        headers=headers,
    )
    written_off = await api.post(
        "/v1/write-offs",
        json={
            "claim_id": claim_id,
            "balance": "payer",
            "reason": "denial",
            "amount": "150",
            "denial_id": denial_id,
            "written_off_date": "2026-11-02",
        },
        headers=headers,
    )

    assert missing_denial.status_code == 422
    assert [e["field"] for e in missing_denial.json()["errors"]] == ["denial_id"]
    assert written_off.status_code == 201, written_off.text
    assert written_off.json()["claim_balance"]["open_balance"] == "0.00"
    denial = (await api.get(f"/v1/denials/{denial_id}", headers=headers)).json()
    assert (denial["status"], denial["outcome"], denial["written_off_amount"]) == ("resolved", "written_off", "150.00")
    types = [e["type"] for e in await outbox_events(claim_id)]
    assert types[-2:] == ["balance.written-off", "denial.resolved"]


async def test_another_organizations_claim_is_refused_in_payments_and_write_offs_and_404_as_a_balance(
    stack_sessions, api, org, eras
) -> None:
    claim_id = await paid_claim(stack_sessions, api, org, eras)
    theirs = await api_key(stack_sessions, uuid.uuid4())

    payment = await api.post("/v1/patient-payments", json={"claim_id": claim_id, "amount": "5"}, headers=theirs)
    write_off = await api.post(
        "/v1/write-offs",
        json={"claim_id": claim_id, "balance": "patient", "reason": "small_balance", "amount": "5"},
        headers=theirs,
    )
    balance = await api.get(f"/v1/claims/{claim_id}/balance", headers=theirs)

    assert (payment.status_code, write_off.status_code, balance.status_code) == (422, 422, 404)
    assert [e["field"] for e in payment.json()["errors"]] == ["claim_id"]
    assert [e["field"] for e in write_off.json()["errors"]] == ["claim_id"]
    assert await count(stack_sessions, org, patient_payments) == 0
    assert await count(stack_sessions, org, write_offs) == 0
