"""Sandbox clearinghouse over HTTP: auth, 999/277CA answers pyx12 accepts, dedupe, outage, 835 delivery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox.delivery import deliver_due
from sandbox.domain import balancing_errors
from sandbox.main import create_app

from shared.x12 import tokenize

SECRET = "test-clearinghouse-secret"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A sandbox app with a known secret and no CLAIMFLOW_SANDBOX_* surprises from the stack env."""
    monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE_SECRET", SECRET)
    monkeypatch.setenv("CLAIMFLOW_SANDBOX_DENIAL_RATE", "0")
    return create_app()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client on the app in-process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        yield http


def _auth(submitter: str) -> dict[str, str]:
    token = hmac.new(SECRET.encode(), submitter.encode(), hashlib.sha256).hexdigest()
    return {"Authorization": f"Bearer {token}", "X-Claimflow-Submitter": submitter}


async def _submit(client: httpx.AsyncClient, submitter: str, text: str) -> httpx.Response:
    headers = {**_auth(submitter), "Content-Type": "application/edi-x12"}
    return await client.post("/v1/batches", content=text, headers=headers)


async def test_batch_without_the_submitter_hmac_is_refused(client: httpx.AsyncClient, files: Any) -> None:
    submitter = str(uuid.uuid4())
    wrong = {**_auth(str(uuid.uuid4())), "X-Claimflow-Submitter": submitter}
    response = await client.post("/v1/batches", content=files.batch(), headers=wrong)
    assert response.status_code == 401


async def test_accepted_batch_gets_a_valid_999_and_277ca(client: httpx.AsyncClient, files: Any, tmp_path: Path) -> None:
    response = await _submit(client, str(uuid.uuid4()), files.batch(claims=("CFA0000000000000001", "CFB")))
    assert response.status_code == 200
    answer = response.json()
    for name, text in (("ack.999", answer["ack_999"]), ("ack.277", answer["ack_277ca"])):
        ok, output = files.pyx12_verdict(text, tmp_path, name)
        assert ok, output
    _, segments = tokenize(answer["ack_999"])
    assert [s.elements for s in segments if s.tag in ("IK5", "AK9")] == [["A"], ["A", "1", "1", "1"]]
    _, segments = tokenize(answer["ack_277ca"])
    traces = [s.element(2) for s in segments if s.tag == "TRN" and s.element(1) == "2"]
    assert traces == ["0007", "CFA0000000000000001", "CFB"]
    statuses = [s.element(1) for s in segments if s.tag == "STC"]
    assert statuses[-2:] == ["A2:20", "A2:20"]


async def test_claim_without_payer_id_or_diagnosis_is_rejected_a7(
    client: httpx.AsyncClient, files: Any, tmp_path: Path
) -> None:
    submitter = str(uuid.uuid4())
    no_payer = (await _submit(client, submitter, files.batch(8, payer=""))).json()
    no_dx = (await _submit(client, submitter, files.batch(9, diagnoses=False))).json()
    for answer, code in ((no_payer, "A7:21:PR"), (no_dx, "A7:254")):
        _, segments = tokenize(answer["ack_277ca"])
        assert [s.element(1) for s in segments if s.tag == "STC"][-1] == code
    ok, output = files.pyx12_verdict(no_dx["ack_277ca"], tmp_path, "a7.277")
    assert ok, output


async def test_structural_problem_gets_999_r_with_ik3_ik4(
    client: httpx.AsyncClient, files: Any, tmp_path: Path
) -> None:
    too_long = "CF" + "X" * 25
    answer = (await _submit(client, str(uuid.uuid4()), files.batch(claims=(too_long,)))).json()
    _, segments = tokenize(answer["ack_999"])
    tags = {s.tag: s.elements for s in segments}
    assert tags["IK3"][0] == "CLM"
    assert tags["IK4"] == ["1", "1028", "5"]
    assert tags["IK5"] == ["R", "5"]
    assert tags["AK9"][0] == "R"
    assert answer["ack_277ca"] is None
    ok, output = files.pyx12_verdict(answer["ack_999"], tmp_path, "r.999")
    assert ok, output
    miscounted = (await _submit(client, str(uuid.uuid4()), files.batch(se_count=3))).json()
    assert "IK5*R*4" in miscounted["ack_999"]


async def test_same_control_number_returns_the_stored_answer(client: httpx.AsyncClient, files: Any, app: Any) -> None:
    submitter = str(uuid.uuid4())
    first = (await _submit(client, submitter, files.batch(11))).json()
    again = (await _submit(client, submitter, files.batch(11))).json()
    assert again == first
    assert len(app.state.clearinghouse.submitter(submitter).claims) == 1
    other = (await _submit(client, str(uuid.uuid4()), files.batch(11))).json()
    assert other["batch_id"] != first["batch_id"]


async def test_outage_answers_503_until_lifted(client: httpx.AsyncClient, files: Any) -> None:
    submitter = str(uuid.uuid4())
    body = {"submitter": submitter, "outage": True}
    assert (await client.put("/v1/behaviour", json=body, headers=_auth(submitter))).status_code == 200
    assert (await _submit(client, submitter, files.batch())).status_code == 503
    body["outage"] = False
    await client.put("/v1/behaviour", json=body, headers=_auth(submitter))
    assert (await _submit(client, submitter, files.batch())).status_code == 200


async def test_due_claims_are_delivered_as_one_signed_balanced_835_per_payment_date(
    client: httpx.AsyncClient, files: Any, app: Any, tmp_path: Path
) -> None:
    submitter = str(uuid.uuid4())
    await client.put(
        "/v1/behaviour",
        # A fixed seed (not the per-submitter default) so that the six claims are both paid and denied every run.
        json={"submitter": submitter, "payment_lag_business_days": 2, "denial_rate": 0.5, "seed": "delivery"},
        headers=_auth(submitter),
    )
    claims = tuple(f"CF{n:016d}" for n in range(6))
    await _submit(client, submitter, files.batch(21, claims=claims, bht="20260915"))
    received: list[httpx.Request] = []

    def remittance(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(409 if len(received) > 1 else 500)

    house = app.state.clearinghouse
    async with httpx.AsyncClient(transport=httpx.MockTransport(remittance)) as http:
        await deliver_due(house, http, app.state.settings, now=0)
        assert received == []  # not due: the submitter's clock is still at BHT04
        clock = {"submitter": submitter, "date": "2026-09-17"}
        assert (await client.put("/v1/clock", json=clock, headers=_auth(submitter))).status_code == 200
        await deliver_due(house, http, app.state.settings, now=0)
        await deliver_due(house, http, app.state.settings, now=100)
    assert len(received) == 2
    assert received[0].content == received[1].content
    listing = (await client.get("/v1/remittances", params={"submitter": submitter}, headers=_auth(submitter))).json()
    assert [(f["status"], f["payment_date"], f["attempts"]) for f in listing] == [("delivered", "2026-09-17", 2)]
    body = received[0].content
    expected = hmac.new(SECRET.encode(), submitter.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    assert received[0].headers["X-Claimflow-Signature"] == f"sha256={expected}"
    assert received[0].headers["X-Claimflow-Submitter"] == submitter
    ok, output = files.pyx12_verdict(body.decode(), tmp_path, "era.835")
    assert ok, output
    _, segments = tokenize(body.decode())
    clps = [s for s in segments if s.tag == "CLP"]
    assert sorted(s.element(1) for s in clps) == sorted(claims)
    assert {s.element(2) for s in clps} == {"1", "4"}
    assert {s.element(6) for s in clps} == {"12"}  # SBR09 CI has no CLP06 code: a commercial payer answers 12
    bpr = next(s for s in segments if s.tag == "BPR")
    assert Decimal(bpr.element(2)) == sum(Decimal(s.element(4)) for s in clps)
    assert bpr.element(16) == "20260917"
    adjudicated = [a.result for a in house.submitter(submitter).claims]
    assert balancing_errors(adjudicated, Decimal(bpr.element(2))) == []


async def _behaviour(client: httpx.AsyncClient, submitter: str, **changes: Any) -> httpx.Response:
    return await client.put("/v1/behaviour", json={"submitter": submitter, **changes}, headers=_auth(submitter))


async def _received(client: httpx.AsyncClient, submitter: str) -> list[tuple[str, str, int]]:
    listing = (await client.get("/v1/batches", params={"submitter": submitter}, headers=_auth(submitter))).json()
    return [(b["isa13"], b["gs06"], b["times_received"]) for b in listing]


def _statuses(answer: dict[str, Any]) -> list[str]:
    _, segments = tokenize(answer["ack_277ca"])
    return [s.element(1) for s in segments if s.tag == "STC"][2:]


async def test_a_repeat_is_recognised_by_isa13_and_gs06_of_the_same_submitter(
    client: httpx.AsyncClient, files: Any, app: Any
) -> None:
    submitter = str(uuid.uuid4())
    first = (await _submit(client, submitter, files.batch(31))).json()
    assert (await _submit(client, submitter, files.batch(31))).json() == first
    other_group = (await _submit(client, submitter, files.batch(31, claims=("CF0000000000000002",), gs06=32))).json()
    assert other_group["ack_999"] != first["ack_999"]
    assert await _received(client, submitter) == [("000000031", "31", 2), ("000000031", "32", 1)]
    assert [a.claim.claim_id for a in app.state.clearinghouse.submitter(submitter).claims] == [
        "CF0000000000000001",
        "CF0000000000000002",
    ]


async def test_members_matching_the_configured_pattern_are_rejected_a7_until_cleared(
    client: httpx.AsyncClient, files: Any, tmp_path: Path
) -> None:
    submitter = str(uuid.uuid4())
    assert (await _behaviour(client, submitter, reject_member_pattern="^BAD")).status_code == 200
    rejected = (await _submit(client, submitter, files.batch(41, member="BAD0001"))).json()
    accepted = (await _submit(client, submitter, files.batch(42, member="M0001"))).json()
    assert _statuses(rejected) == ["A7:33:IL"]
    assert "SUBSCRIBER AND SUBSCRIBER ID NOT FOUND" in rejected["ack_277ca"]
    assert _statuses(accepted) == ["A2:20"]
    ok, output = files.pyx12_verdict(rejected["ack_277ca"], tmp_path, "member.277")
    assert ok, output
    await _behaviour(client, submitter, reject_member_pattern="")
    assert _statuses((await _submit(client, submitter, files.batch(43, member="BAD0001"))).json()) == ["A2:20"]


async def test_a_pattern_that_is_not_a_regular_expression_is_a_problem_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    submitter = str(uuid.uuid4())
    response = await _behaviour(client, submitter, reject_member_pattern="[")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "reject_member_pattern" in response.text


async def test_latency_comes_after_receipt_so_a_submitter_that_gives_up_resends_and_is_recognised(
    client: httpx.AsyncClient, files: Any, app: Any
) -> None:
    submitter = str(uuid.uuid4())
    await _behaviour(client, submitter, latency_ms=5000)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_submit(client, submitter, files.batch(51)), timeout=0.3)
    await _behaviour(client, submitter, latency_ms=0)
    answer = await _submit(client, submitter, files.batch(51))
    assert answer.status_code == 200
    assert await _received(client, submitter) == [("000000051", "51", 2)]
    assert len(app.state.clearinghouse.submitter(submitter).claims) == 1


async def test_payer_terms_deny_a_missing_authorization_a_late_claim_and_a_duplicate_visit(
    client: httpx.AsyncClient, files: Any, app: Any
) -> None:
    submitter = str(uuid.uuid4())
    terms = {"authorization_required_codes": ["90834"], "timely_filing_days": 90, "copay": "0"}
    assert (await _behaviour(client, submitter, payers={"SBX01": terms})).status_code == 200
    await _submit(client, submitter, files.batch(61, claims=("CFAUTH",), member="M1"))
    await _submit(client, submitter, files.batch(62, claims=("CFOK",), member="M2", authorization="A-1"))
    await _submit(client, submitter, files.batch(63, claims=("CFDUP",), member="M2", authorization="A-1"))
    await _submit(
        client, submitter, files.batch(64, claims=("CFLATE",), member="M3", authorization="A-1", dos="20260601")
    )
    await _submit(client, submitter, files.batch(65, claims=("CFOTHER",), payer="SBX02", member="M4"))
    results = {a.claim.claim_id: a.result for a in app.state.clearinghouse.submitter(submitter).claims}
    denials = {
        claim_id: (result.status, result.lines[0].adjustments[0].group, result.lines[0].adjustments[0].reason)
        for claim_id, result in results.items()
    }
    assert denials == {
        "CFAUTH": ("4", "CO", "197"),
        "CFOK": ("1", "CO", "45"),
        "CFDUP": ("4", "OA", "18"),
        "CFLATE": ("4", "CO", "29"),  # 2026-06-01 to the 2026-09-15 batch is 106 days
        "CFOTHER": ("1", "CO", "45"),  # another payer: no authorization rule
    }
    # 80% of 150 = 120 allowed for 90834 with no copay; 30.55 × 0.8 = 24.44 for 90785.
    assert results["CFOK"].paid == Decimal("144.44")


async def test_a_replacement_reverses_the_paid_original_and_a_void_drops_an_unpaid_one(
    client: httpx.AsyncClient, files: Any, app: Any, tmp_path: Path
) -> None:
    submitter = str(uuid.uuid4())
    await _behaviour(client, submitter, payment_lag_business_days=1, copay="0")
    await _submit(client, submitter, files.batch(71, claims=("CFPAID", "CFVOID")))
    house = app.state.clearinghouse
    number = next(a.result.payer_claim_number for a in house.submitter(submitter).claims)
    received: list[bytes] = []

    def remittance(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(202)

    async with httpx.AsyncClient(transport=httpx.MockTransport(remittance)) as http:
        await client.put("/v1/clock", json={"submitter": submitter, "date": "2026-09-16"}, headers=_auth(submitter))
        # The void of CFVOID comes in before the first 835 is built: CFVOID is never paid.
        void = files.batch(72, claims=("CFVOID",), frequency="8", payer_claim_number="X", bht="20260916")
        assert _statuses((await _submit(client, submitter, void)).json()) == ["A2:20"]
        await deliver_due(house, http, app.state.settings, now=0)
        replacement = files.batch(73, claims=("CFPAID",), frequency="7", payer_claim_number=number, bht="20260917")
        assert _statuses((await _submit(client, submitter, replacement)).json()) == ["A2:20"]
        await client.put("/v1/clock", json={"submitter": submitter, "date": "2026-09-18"}, headers=_auth(submitter))
        await deliver_due(house, http, app.state.settings, now=0)
    assert len(received) == 2
    first, second = (tokenize(body.decode())[1] for body in received)
    assert [(s.element(1), s.element(2), s.element(4)) for s in first if s.tag == "CLP"] == [("CFPAID", "1", "144.44")]
    assert [(s.element(1), s.element(2), s.element(4)) for s in second if s.tag == "CLP"] == [
        ("CFPAID", "22", "-144.44"),
        ("CFPAID", "1", "144.44"),
    ]
    assert next(s for s in second if s.tag == "BPR").element(2) == "0"
    ok, output = files.pyx12_verdict(received[1].decode(), tmp_path, "reversal.835")
    assert ok, output
    orphan = files.batch(74, claims=("CFNEVER",), frequency="8", payer_claim_number="X")
    assert _statuses((await _submit(client, submitter, orphan)).json()) == ["A7:21"]


@pytest.mark.parametrize(
    ("mangle", "said"),
    [
        (lambda batch: batch.replace(b"DOE*JANE", b"DOE\x00*JANE"), "byte 0x00 at offset"),
        (lambda batch: batch.replace(b"DOE*JANE", "DO\u00c9*JANE".encode()), "byte 0xC3 at offset"),
        (lambda batch: batch.decode().encode("utf-16"), "UTF-16"),
        (lambda batch: b"ISA\x01\x02\xff\xfe\x00binary" * 20, "offset"),
    ],
    ids=["nul", "utf8-letter", "utf-16", "isa-then-binary"],
)
async def test_a_batch_whose_bytes_are_not_x12_is_a_422_naming_where_through_the_shared_check(
    client: httpx.AsyncClient, files: Any, mangle: Any, said: str
) -> None:
    body = mangle(files.batch().encode())
    headers = {**_auth(str(uuid.uuid4())), "Content-Type": "application/edi-x12"}
    response = await client.post("/v1/batches", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert said in response.json()["detail"]


@pytest.mark.parametrize(("sbr09", "clp06"), [("MB", "MB"), ("MC", "MC"), ("HM", "HM"), ("BL", "12"), ("CI", "12")])
async def test_an_835s_clp06_answers_the_claim_filing_indicator_the_837_sent(
    client: httpx.AsyncClient, files: Any, app: Any, sbr09: str, clp06: str
) -> None:
    submitter = str(uuid.uuid4())
    await _behaviour(client, submitter, payment_lag_business_days=0)
    await _submit(client, submitter, files.batch(81, claims=("CFPLAN",)).replace("******CI~", f"******{sbr09}~"))
    received: list[bytes] = []

    def remittance(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(202)

    async with httpx.AsyncClient(transport=httpx.MockTransport(remittance)) as http:
        await deliver_due(app.state.clearinghouse, http, app.state.settings, now=0)
    (body,) = received
    assert [s.element(6) for s in tokenize(body.decode())[1] if s.tag == "CLP"] == [clp06]
