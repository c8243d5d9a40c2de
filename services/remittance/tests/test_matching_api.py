"""Integration: matching fallbacks (CLP07, patient + date + amount) and matching by hand through the API."""

from __future__ import annotations

import uuid

import pytest
from remittance.models import postings, unmatched_remittances
from sqlalchemy import select

from services.remittance.tests.support import SETTINGS, api_key, count, deliver, outbox_events, submit_claim, tag
from shared.db import unit_of_work

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]

# A CLP whose CLP01 the payer mangled: only the patient's member id, date of service and charge can match it.
BY_PATIENT = """
CLP*{claim}*1*150*100*20*12*{pcn}
NM1*QC*1*DOE*JANE****MI*{member}
SVC*HC:90834*150*100**1
DTM*472*20260920
CAS*CO*45*30
CAS*PR*3*20
"""


async def test_a_clp_with_an_unknown_clp01_matches_by_the_payer_claim_number_of_an_earlier_posting(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    await submit_claim(stack_sessions, org, f"P{t}")
    first = eras.text([eras.paid.format(claim=f"P{t}").replace("PCN-PAID-1", f"PCN{t}")], payment="100", trace=f"A{t}")
    assert (await deliver(api, org, first)).status_code == 200
    later = eras.text(
        [eras.denied.format(claim=f"X{t}").replace("PCN-DENIED-1", f"PCN{t}")], payment="0", trace=f"B{t}"
    )

    receipt = (await deliver(api, org, later)).json()

    assert [c["claim_id"] for c in receipt["claims_posted"]] == [f"P{t}"]
    assert receipt["unmatched"] == []
    assert [e["type"] for e in await outbox_events(f"P{t}")] == [
        "remittance.posted",
        "remittance.posted",
        "claim.denied",
    ]


async def test_a_clp_matches_by_patient_date_of_service_and_amount_when_both_numbers_are_unknown(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    await submit_claim(stack_sessions, org, f"P{t}", member_id=f"M{t}")
    await submit_claim(stack_sessions, org, f"Q{t}", member_id=f"M{t}", billed="200")
    body = eras.text([BY_PATIENT.format(claim="MANGLED", pcn=f"N{t}", member=f"M{t}")], payment="100", trace=f"T{t}")

    receipt = (await deliver(api, org, body)).json()

    assert [c["claim_id"] for c in receipt["claims_posted"]] == [f"P{t}"]
    posted = await outbox_events(f"P{t}")
    assert [(e["type"], e["data"]["paid_amount"]) for e in posted] == [("remittance.posted", "100.00")]
    assert await outbox_events(f"Q{t}") == []


async def test_an_ambiguous_patient_match_waits_for_a_person_who_posts_it_exactly_once(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    await submit_claim(stack_sessions, org, f"P{t}", member_id=f"M{t}")
    await submit_claim(stack_sessions, org, f"Q{t}", member_id=f"M{t}")
    body = eras.text([BY_PATIENT.format(claim="MANGLED", pcn=f"N{t}", member=f"M{t}")], payment="100", trace=f"T{t}")
    receipt = (await deliver(api, org, body)).json()
    assert [u["reason"] for u in receipt["unmatched"]] == ["ambiguous_match"]
    assert f"P{t}" in receipt["unmatched"][0]["detail"]
    assert f"Q{t}" in receipt["unmatched"][0]["detail"]
    headers = await api_key(stack_sessions, org)
    queue = (await api.get("/v1/unmatched", headers=headers)).json()["items"]
    assert [(u["reason"], u["status"]) for u in queue] == [("ambiguous_match", "needs_review")]
    unmatched_id = queue[0]["unmatched_id"]

    unknown = await api.post(f"/v1/unmatched/{unmatched_id}/match", json={"claim_id": "NOPE"}, headers=headers)
    matched = await api.post(f"/v1/unmatched/{unmatched_id}/match", json={"claim_id": f"Q{t}"}, headers=headers)
    again = await api.post(f"/v1/unmatched/{unmatched_id}/match", json={"claim_id": f"Q{t}"}, headers=headers)
    elsewhere = await api.post(f"/v1/unmatched/{unmatched_id}/match", json={"claim_id": f"P{t}"}, headers=headers)
    theirs = await api.post(
        f"/v1/unmatched/{unmatched_id}/match",
        json={"claim_id": f"Q{t}"},
        headers=await api_key(stack_sessions, uuid.uuid4()),
    )

    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "claim_id"
    assert matched.status_code == 200, matched.text
    assert (matched.json()["status"], matched.json()["matched_claim_id"]) == ("posted", f"Q{t}")
    assert again.status_code == 200
    assert again.json()["posting_id"] == matched.json()["posting_id"]
    assert elsewhere.status_code == 409
    assert theirs.status_code == 404
    assert await count(stack_sessions, org, postings) == 1
    events = await outbox_events(f"Q{t}")
    assert [(e["type"], e["data"]["paid_amount"], e["data"]["trace_number"]) for e in events] == [
        ("remittance.posted", "100.00", f"T{t}")
    ]
    assert await outbox_events(f"P{t}") == []


async def test_a_waiting_clp_posts_when_a_claim_with_the_same_patient_date_and_amount_arrives(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    body = eras.text([BY_PATIENT.format(claim="MANGLED", pcn=f"N{t}", member=f"M{t}")], payment="100", trace=f"T{t}")
    assert [u["reason"] for u in (await deliver(api, org, body)).json()["unmatched"]] == ["unknown_claim"]

    await submit_claim(stack_sessions, org, f"P{t}", member_id=f"M{t}")
    await submit_claim(stack_sessions, org, f"P{t}", member_id=f"M{t}")

    events = await outbox_events(f"P{t}")
    assert [e["type"] for e in events] == ["remittance.posted"]
    async with unit_of_work(stack_sessions, org) as session:
        entry = (await session.execute(select(unmatched_remittances))).one()
    assert (entry.status, entry.matched_claim_id) == ("posted", f"P{t}")


async def test_an_unknown_clp01_shaped_like_our_claim_ids_waits_for_its_claim_instead_of_a_fallback_match(
    stack_sessions, api, org, eras
) -> None:
    # Two visits of one patient on one day for the same amount: the 835 can arrive before the second claim's
    # claim.submitted does. Its CLP must wait for that claim, never post to the first one by patient + date + amount.
    t = tag()
    first, second = f"CF{t.upper():0>16}"[:18], f"CFZ{t.upper():0>15}"[:18]
    await submit_claim(stack_sessions, org, first, member_id=f"M{t}")
    body = eras.text([BY_PATIENT.format(claim=second, pcn=f"N{t}", member=f"M{t}")], payment="100", trace=f"W{t}")

    receipt = (await deliver(api, org, body)).json()

    assert receipt["claims_posted"] == []
    assert [u["reason"] for u in receipt["unmatched"]] == ["unknown_claim"]
    assert await outbox_events(first) == []
    await submit_claim(stack_sessions, org, second, member_id=f"M{t}")
    assert [e["type"] for e in await outbox_events(second)] == ["remittance.posted"]
    assert await outbox_events(first) == []
