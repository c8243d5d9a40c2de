"""An out-of-balance 835 is held whole for review with each discrepancy in words; a person posts it (exactly once)
or rejects it; nothing is posted until then, and the payer + trace guard still applies."""

from __future__ import annotations

import uuid

import pytest
from remittance.balancing import HOLDING_RULES, check_remittance
from remittance.era import read_835
from remittance.models import payments, postings

from services.remittance.tests.support import SETTINGS, api_key, count, deliver, outbox_events, submit_claim, tag

stack = pytest.mark.skipif(
    not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
)

BALANCED = """
CLP*{claim}*1*100*70**12*PCN-{claim}
SVC*HC:90834*100*70**1
CAS*CO*45*30
"""
# CLP04 90 against a service line paying 80 (the line itself balances: 150 - 70 = 80).
LINES_PAY_LESS = """
CLP*{claim}*1*150*90**12*PCN-{claim}
SVC*HC:90837*150*80**1
CAS*CO*45*70
"""


def out_of_balance(eras, first: str, second: str, trace: str) -> str:
    """The issue's file: BPR02 999.99 against claims paying 160, one claim paying 90 against lines paying 80."""
    return eras.text([BALANCED.format(claim=first), LINES_PAY_LESS.format(claim=second)], payment="999.99", trace=trace)


def corrected(eras, first: str, second: str, trace: str) -> str:
    """The payer's corrected file for the same payment: it balances."""
    fixed = LINES_PAY_LESS.format(claim=second).replace("150*80", "150*90").replace("CAS*CO*45*70", "CAS*CO*45*60")
    return eras.text([BALANCED.format(claim=first), fixed], payment="160", trace=trace)


def test_each_money_rule_of_domain_5_1_holds_the_file_and_clp05_only_informs(eras) -> None:
    found = check_remittance(read_835(out_of_balance(eras, "C1", "C2", "T1")))
    assert {(d.rule, d.claim_id) for d in found} == {
        ("payment_balance", None),
        ("claim_balance", "C2"),
        ("claim_paid_from_lines", "C2"),
    }
    assert all(d.holds for d in found)
    assert "BPR02" in next(d.detail for d in found if d.rule == "payment_balance")
    assert "off by 839.99" in next(d.detail for d in found if d.rule == "payment_balance")
    line = eras.paid.format(claim="C3").replace("SVC*HC:90834*150*100", "SVC*HC:90834*150*90")
    assert {d.rule for d in check_remittance(read_835(eras.text([line], payment="100")))} >= {"line_balance"}
    cost_share = eras.paid.format(claim="C4").replace("*100*20*12*", "*100*25*12*")
    informs = check_remittance(read_835(eras.text([cost_share], payment="100")))
    assert [(d.rule, d.holds) for d in informs] == [("patient_responsibility", False)]
    assert "patient_responsibility" not in HOLDING_RULES


def test_an_unreadable_claim_counts_its_clp04_in_the_file_balance_or_holds_the_file_when_that_is_unreadable(
    eras,
) -> None:
    unreadable = eras.paid.format(claim="C1").replace("CAS*PR*3*20", "CAS*PR*3*2O")
    assert check_remittance(read_835(eras.text([unreadable], payment="100"))) == []
    assert [d.rule for d in check_remittance(read_835(eras.text([unreadable], payment="90")))] == ["payment_balance"]
    no_amount = unreadable.replace("*150*100*20*", "*150*1OO*20*")
    found = check_remittance(read_835(eras.text([no_amount], payment="100")))
    assert [(d.rule, d.holds, d.claim_id) for d in found] == [("payment_unverifiable", True, "C1")]


@stack
@pytest.mark.stack
async def test_an_out_of_balance_file_is_held_listed_and_posted_once_by_a_person(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    first, second = f"A{t}", f"B{t}"
    for claim_id in (first, second):
        await submit_claim(stack_sessions, org, claim_id, billed="150")
    body = out_of_balance(eras, first, second, f"T{t}")

    held = await deliver(api, org, body)

    assert held.status_code == 202, held.text
    receipt = held.json()
    assert receipt["status"] == "held"
    assert receipt["claims_posted"] == []
    assert {d["rule"] for d in receipt["discrepancies"]} == {
        "payment_balance",
        "claim_balance",
        "claim_paid_from_lines",
    }
    assert all(d["holds"] and d["detail"] for d in receipt["discrepancies"])
    assert await count(stack_sessions, org, postings) == 0
    assert await outbox_events(first, second) == []
    file_id = receipt["file_id"]
    assert (await deliver(api, org, body)).json()["file_id"] == file_id  # the same file again: the same held file

    writer = await api_key(stack_sessions, org)
    queue = (await api.get("/v1/remittances", params={"status": "held"}, headers=writer)).json()
    assert [(f["file_id"], f["status"]) for f in queue["items"]] == [(file_id, "held")]
    assert queue["items"][0]["payments"][0]["trace_number"] == f"T{t}"
    assert len(queue["items"][0]["discrepancies"]) == 3
    reader = await api_key(stack_sessions, org, ("read",))
    assert (await api.post(f"/v1/remittances/{file_id}/post", json={}, headers=reader)).status_code == 403

    posted = await api.post(f"/v1/remittances/{file_id}/post", json={"note": "payer confirmed"}, headers=writer)
    again = await api.post(f"/v1/remittances/{file_id}/post", json={"note": "payer confirmed"}, headers=writer)

    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "posted"
    assert posted.json()["review"]["action"] == "posted"
    assert posted.json()["review"]["note"] == "payer confirmed"
    assert sorted(p["claim_id"] for p in posted.json()["postings"]) == sorted([first, second])
    assert again.status_code == 200
    assert await count(stack_sessions, org, postings) == 2
    assert [e["type"] for e in await outbox_events(first)] == ["remittance.posted"]
    rejected = await api.post(f"/v1/remittances/{file_id}/reject", json={"reason": "late"}, headers=writer)
    assert rejected.status_code == 409
    # The payment is posted now: the same trace again, even corrected, is a duplicate.
    assert (await deliver(api, org, corrected(eras, first, second, f"T{t}"))).status_code == 409
    assert await count(stack_sessions, org, postings) == 2


@stack
@pytest.mark.stack
async def test_a_rejected_file_posts_nothing_and_never_blocks_the_corrected_file(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    first, second = f"A{t}", f"B{t}"
    for claim_id in (first, second):
        await submit_claim(stack_sessions, org, claim_id, billed="150")
    file_id = (await deliver(api, org, out_of_balance(eras, first, second, f"T{t}"))).json()["file_id"]
    writer = await api_key(stack_sessions, org)

    missing_reason = await api.post(f"/v1/remittances/{file_id}/reject", json={}, headers=writer)
    rejected = await api.post(
        f"/v1/remittances/{file_id}/reject", json={"reason": "asked for a corrected 835"}, headers=writer
    )
    post_after = await api.post(f"/v1/remittances/{file_id}/post", json={}, headers=writer)
    unknown = await api.post(f"/v1/remittances/{uuid.uuid4()}/post", json={}, headers=writer)

    assert missing_reason.status_code == 422
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert post_after.status_code == 409
    assert unknown.status_code == 404
    assert await count(stack_sessions, org, postings) == 0
    fixed = await deliver(api, org, corrected(eras, first, second, f"T{t}"))
    assert fixed.status_code == 200, fixed.text
    assert await count(stack_sessions, org, postings) == 2


@stack
@pytest.mark.stack
async def test_a_held_file_is_superseded_when_the_corrected_file_posts_and_can_no_longer_be_posted(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    first, second = f"A{t}", f"B{t}"
    for claim_id in (first, second):
        await submit_claim(stack_sessions, org, claim_id, billed="150")
    held_id = (await deliver(api, org, out_of_balance(eras, first, second, f"T{t}"))).json()["file_id"]

    fixed = await deliver(api, org, corrected(eras, first, second, f"T{t}"))

    assert fixed.status_code == 200, fixed.text
    writer = await api_key(stack_sessions, org)
    held = (await api.get(f"/v1/remittances/{held_id}", headers=writer)).json()
    assert held["status"] == "superseded"
    assert held["summary"]["superseded_by"] == fixed.json()["file_id"]
    assert (await api.post(f"/v1/remittances/{held_id}/post", json={}, headers=writer)).status_code == 409
    assert await count(stack_sessions, org, postings) == 2
    assert await count(stack_sessions, org, payments) == 2  # the superseded file's payment is listed, not posted
