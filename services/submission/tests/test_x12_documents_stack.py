"""The exact X12 files of an attempt over the API, on the real database and the sandbox clearinghouse in-process: the
837P interchange it went out in and the 999 and 277CA received for it, byte for byte, each read audited; nothing
before the attempt is batched, another organization's claim not found, and a practice-limited key refused an
interchange that carries another practice's claims."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sandbox.main import create_app as create_sandbox
from sqlalchemy import select
from submission.config import SubmissionSettings
from submission.gateway import SandboxGateway
from submission.models import audit_log, batches
from submission.recording import record_answer
from submission.sender import prepare_batch, send_until_answered

from shared.db import unit_of_work

pytestmark = pytest.mark.stack
SECRET = "stack-test-secret"
OTHER_PRACTICE = uuid.UUID("66666666-6666-4666-8666-666666666666")


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SandboxGateway]:
    """The real sandbox gateway talking to the sandbox app in-process."""
    monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE_SECRET", SECRET)
    monkeypatch.setenv("CLAIMFLOW_SANDBOX_DENIAL_RATE", "0")
    transport = httpx.ASGITransport(app=create_sandbox())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield SandboxGateway(base_url="http://sandbox", secret=SECRET, client=client)


async def _send(biller: Any, gateway: SandboxGateway) -> int:
    """Build, send and record the organization's next batch; its control number."""
    batch = await prepare_batch(biller.sessions, biller.id, SubmissionSettings())
    assert batch is not None
    answer = await send_until_answered(biller.sessions, gateway, batch, asyncio.Event())
    assert answer is not None
    await record_answer(biller.sessions, biller.id, batch.control_number, answer)
    return batch.control_number


async def test_an_attempts_837p_999_and_277ca_are_served_byte_for_byte_and_audited(
    biller: Any, charges: Any, gateway: SandboxGateway
) -> None:
    payer = await biller.payer(payer_type="medicare")
    base = charges.make()
    mine = await biller.claim(charges.make(), payer)
    other = base.practice.model_copy(update={"practice_id": OTHER_PRACTICE})
    theirs = await biller.claim(charges.make(practice=other), payer)
    headers = await biller.key(["read"])
    async with biller.api() as http:
        before = await http.get(f"/v1/claims/{mine}/attempts/1/x12", headers=headers)
        assert before.status_code == 404, before.text
        assert "has not been sent" in before.json()["detail"]
        control_number = await _send(biller, gateway)
        async with unit_of_work(biller.sessions, biller.id) as session:
            stored = (await session.execute(select(batches).where(batches.c.control_number == control_number))).one()
        for path, text in (("x12", stored.file_text), ("999", stored.ack_999), ("277ca", stored.ack_277ca)):
            response = await http.get(f"/v1/claims/{mine}/attempts/1/{path}", headers=headers)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/edi-x12"
            assert response.content == text.encode()
        assert mine in stored.file_text
        assert theirs in stored.file_text
        assert "SBR*P*18*G100******MB~" in stored.file_text
        assert (await http.get(f"/v1/claims/{mine}/attempts/2/x12", headers=headers)).status_code == 404

        # A key limited to one practice may not read an interchange carrying another practice's claim.
        limited = await biller.key(["read"], practice_ids=[base.practice.practice_id])
        refused = await http.get(f"/v1/claims/{mine}/attempts/1/x12", headers=limited)
        assert refused.status_code == 403, refused.text
        assert (await http.get(f"/v1/claims/{theirs}/attempts/1/x12", headers=limited)).status_code == 404
        alone = await biller.claim(charges.make(), payer)
        await _send(biller, gateway)
        assert (await http.get(f"/v1/claims/{alone}/attempts/1/x12", headers=limited)).status_code == 200

        # Another organization's claim is not found.
        stranger = type(biller)(biller.sessions)
        foreign = await http.get(f"/v1/claims/{mine}/attempts/1/x12", headers=await stranger.key(["read"]))
        assert foreign.status_code == 404
    async with unit_of_work(biller.sessions, biller.id) as session:
        audited = (await session.execute(select(audit_log.c.action, audit_log.c.resource_id))).all()
    assert sorted(audited) == sorted(
        [
            ("read_837p", f"{mine}/1"),
            ("read_999", f"{mine}/1"),
            ("read_277ca", f"{mine}/1"),
            ("read_837p", f"{alone}/1"),
        ]
    )
