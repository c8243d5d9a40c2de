"""Integration: the denial work queue (filters, assign, note, appeal, resolve, correction) and escalations."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.remittance.tests.support import SETTINGS, api_key, deliver, outbox_events, replicate, submit_claim, tag
from shared.clock import BusinessClock
from shared.events.reference import Address, PayerRef, PracticeRef, UserRef

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]


def denied(claim_id: str, group: str, carc: str, amount: str) -> str:
    """A CLP denied in full by one adjustment."""
    return f"""
CLP*{claim_id}*4*{amount}*0**12*PCN{claim_id}
SVC*HC:90834*{amount}*0**1
DTM*472*20260920
CAS*{group}*{carc}*{amount}
"""


async def test_the_queue_filters_by_root_cause_payer_practice_age_and_amount(stack_sessions, api, org, eras) -> None:
    t = tag()
    practice, payer = uuid.uuid4(), uuid.uuid4()
    address = Address(line1="1 Lake Rd", city="Springfield", state="IL", postal_code="62701")
    await replicate(
        stack_sessions,
        org,
        str(practice),
        PracticeRef(name="P", npi="1234567893", tin="123456789", taxonomy="261QM0801X", address=address),
    )
    await replicate(stack_sessions, org, str(payer), PayerRef(name="Plan", x12_payer_id="SBX01"))
    await submit_claim(stack_sessions, org, f"A{t}", practice_id=practice, payer_id=payer)
    await submit_claim(stack_sessions, org, f"B{t}", billed="300")
    today = BusinessClock().today()
    old = eras.text(
        [denied(f"A{t}", "CO", "197", "150")],
        payment="0",
        trace=f"O{t}",
        payment_date=(today - timedelta(days=40)).strftime("%Y%m%d"),
    )
    recent = eras.text(
        [denied(f"B{t}", "CO", "16", "300")],
        payment="0",
        trace=f"R{t}",
        payment_date=(today - timedelta(days=5)).strftime("%Y%m%d"),
    )
    assert (await deliver(api, org, old)).status_code == 200
    assert (await deliver(api, org, recent)).status_code == 200
    headers = await api_key(stack_sessions, org)

    async def ids(**params: str) -> list[str]:
        response = await api.get("/v1/denials", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [d["claim_id"] for d in response.json()["items"]]

    assert await ids() == [f"A{t}", f"B{t}"]
    assert await ids(root_cause="coding") == [f"B{t}"]
    assert await ids(payer_id=str(payer)) == [f"A{t}"]
    assert await ids(practice_id=str(practice)) == [f"A{t}"]
    assert await ids(min_age_days="30") == [f"A{t}"]
    assert await ids(max_age_days="10") == [f"B{t}"]
    assert await ids(min_amount="200") == [f"B{t}"]
    assert await ids(max_amount="150") == [f"A{t}"]
    bad = await api.get("/v1/denials", params={"min_amount": "-1"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.min_amount"


async def test_a_denial_is_assigned_noted_appealed_and_resolved_with_its_events(stack_sessions, api, org, eras) -> None:
    claim_id = f"D{tag()}"
    await submit_claim(stack_sessions, org, claim_id)
    body = eras.text([eras.denied.format(claim=claim_id)], payment="0", trace=f"T{claim_id}")
    assert (await deliver(api, org, body)).status_code == 200
    headers = await api_key(stack_sessions, org)
    denial_id = (await api.get("/v1/denials", headers=headers)).json()["items"][0]["denial_id"]
    base = f"/v1/denials/{denial_id}"
    user_id = uuid.uuid4()

    stranger = await api.post(f"{base}/assign", json={"user_id": str(user_id)}, headers=headers)
    await replicate(
        stack_sessions, org, str(user_id), UserRef(name="Robin Biller", email="robin@example.test", role="biller")
    )
    assigned = await api.post(f"{base}/assign", json={"user_id": str(user_id)}, headers=headers)
    noted = await api.post(f"{base}/notes", json={"text": "called the payer, auth on file"}, headers=headers)
    too_early = await api.post(f"{base}/appeal", json={"appealed_date": "2026-10-14"}, headers=headers)
    appealed = await api.post(f"{base}/appeal", json={"appealed_date": "2026-10-20"}, headers=headers)
    twice = await api.post(f"{base}/appeal", json={"appealed_date": "2026-10-21"}, headers=headers)
    no_money = await api.post(f"{base}/resolve", json={"outcome": "overturned"}, headers=headers)
    resolved = await api.post(
        f"{base}/resolve",
        json={"outcome": "overturned", "recovered_amount": "150", "resolved_date": "2026-11-10"},
        headers=headers,
    )
    after = await api.post(f"{base}/resolve", json={"outcome": "upheld"}, headers=headers)

    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "user_id"
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assigned_to"] == str(user_id)
    assert [n["text"] for n in noted.json()["notes"]] == ["called the payer, auth on file"]
    assert too_early.status_code == 422
    assert too_early.json()["errors"][0]["field"] == "appealed_date"
    assert (appealed.status_code, appealed.json()["status"]) == (200, "appealed")
    assert twice.status_code == 409
    assert no_money.status_code == 422
    assert [e["field"] for e in no_money.json()["errors"]] == ["recovered_amount"]
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["denial"]["outcome"], resolved.json()["write_off"]) == ("overturned", None)
    assert after.status_code == 409
    events = [e for e in await outbox_events(claim_id) if e["type"].startswith("denial.")]
    assert [(e["type"], e["businessdate"]) for e in events] == [
        ("denial.appealed", "2026-10-20"),
        ("denial.resolved", "2026-11-10"),
    ]
    assert events[1]["data"]["recovered_amount"] == "150.00"
    assert events[1]["topic"] == "claimflow.denial.v1"


async def test_a_corrected_claim_is_requested_once_with_correction_requested(stack_sessions, api, org, eras) -> None:
    claim_id = f"C{tag()}"
    await submit_claim(stack_sessions, org, claim_id)
    body = eras.text([denied(claim_id, "CO", "16", "150")], payment="0", trace=f"T{claim_id}")
    assert (await deliver(api, org, body)).status_code == 200
    headers = await api_key(stack_sessions, org)
    denial_id = (await api.get("/v1/denials", headers=headers)).json()["items"][0]["denial_id"]
    theirs = await api_key(stack_sessions, uuid.uuid4())

    other = await api.post(f"/v1/denials/{denial_id}/correction", json={}, headers=theirs)
    first = await api.post(
        f"/v1/denials/{denial_id}/correction",
        json={"note": "wrong diagnosis pointer", "requested_date": "2026-10-16"},
        headers=headers,
    )
    second = await api.post(f"/v1/denials/{denial_id}/correction", json={}, headers=headers)

    assert other.status_code == 404
    assert first.status_code == 200, first.text
    assert first.json()["correction_requested_date"] == "2026-10-16"
    assert second.status_code == 409
    requested = [e for e in await outbox_events(claim_id) if e["type"] == "correction.requested"]
    assert len(requested) == 1
    assert (requested[0]["data"]["root_cause"], requested[0]["data"]["note"]) == ("coding", "wrong diagnosis pointer")


async def test_high_dollar_and_credentialing_denials_escalate_and_go_to_the_credentialing_queue(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    await submit_claim(stack_sessions, org, f"H{t}", billed="250")
    await submit_claim(stack_sessions, org, f"L{t}", billed="249.99")
    body = eras.text(
        [denied(f"H{t}", "CO", "B7", "250"), denied(f"L{t}", "CO", "197", "249.99")], payment="0", trace=f"T{t}"
    )
    assert (await deliver(api, org, body)).status_code == 200
    headers = await api_key(stack_sessions, org)

    credentialing = (await api.get("/v1/denials", params={"queue": "credentialing"}, headers=headers)).json()["items"]

    assert [(d["claim_id"], d["escalation_rules"]) for d in credentialing] == [
        (f"H{t}", ["high_dollar", "credentialing"])
    ]
    escalated = [e["data"] for e in await outbox_events(f"H{t}") if e["type"] == "denial.escalated"]
    assert [(e["rule"], e["route"]) for e in escalated] == [
        ("high_dollar", "senior_biller"),
        ("credentialing", "credentialing_queue"),
    ]
    assert escalated[0]["denied_amount"] == "250.00"
    assert [e["type"] for e in await outbox_events(f"L{t}")] == ["remittance.posted", "claim.denied"]


async def test_a_recurring_pattern_escalates_once_per_window_at_the_organization_threshold(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    practice, payer = uuid.uuid4(), uuid.uuid4()
    for n in range(3):
        await submit_claim(stack_sessions, org, f"R{n}{t}", practice_id=practice, payer_id=payer)
    admin = await api_key(stack_sessions, org, ("admin",))
    reader = await api_key(stack_sessions, org, ("read",))

    forbidden = await api.put("/v1/denial-settings", json={"pattern_min_denials": 2}, headers=reader)
    invalid = await api.put("/v1/denial-settings", json={"pattern_window_days": 0}, headers=admin)
    changed = await api.put("/v1/denial-settings", json={"pattern_min_denials": 2}, headers=admin)
    for n in range(3):
        body = eras.text([denied(f"R{n}{t}", "CO", "29", "100")], payment="0", trace=f"T{n}{t}")
        assert (await deliver(api, org, body)).status_code == 200

    assert forbidden.status_code == 403
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "pattern_window_days"
    assert changed.json() == {
        "high_dollar_threshold": "250.00",
        "pattern_min_denials": 2,
        "pattern_window_days": 30,
        "credentialing_enabled": True,
    }
    patterns = await outbox_events(str(practice))
    assert [(e["type"], e["data"]["rule"], e["data"]["denied_visits"]) for e in patterns] == [
        ("denial.escalated", "recurring_pattern", 2)
    ]
    assert patterns[0]["data"]["root_cause"] == "timely_filing"
    assert patterns[0]["data"]["payer_id"] == str(payer)
    default = (await api.get("/v1/denial-settings", headers=await api_key(stack_sessions, uuid.uuid4()))).json()
    assert default["pattern_min_denials"] == 10
