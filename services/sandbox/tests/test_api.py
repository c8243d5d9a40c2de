"""Sandbox clearinghouse over HTTP: auth, 999/277CA answers pyx12 accepts, dedupe, outage, 835 delivery."""

from __future__ import annotations

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
        json={"submitter": submitter, "payment_lag_business_days": 2, "denial_rate": 0.5},
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
    bpr = next(s for s in segments if s.tag == "BPR")
    assert Decimal(bpr.element(2)) == sum(Decimal(s.element(4)) for s in clps)
    assert bpr.element(16) == "20260917"
    adjudicated = [a.result for a in house.submitter(submitter).claims]
    assert balancing_errors(adjudicated, Decimal(bpr.element(2))) == []
