"""The clearinghouse gateway under faults: an outage during a stream of claims, and a lost answer.

Exactly once is counted on both sides: attempts and batches in submission's database, interchanges and claims the
sandbox clearinghouse received.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sandbox.main import create_app as create_sandbox
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.gateway import ClearinghouseUnavailable, SandboxGateway
from submission.models import batches, claim_attempts, claims, paused_senders
from submission.recording import record_answer
from submission.sender import prepare_batch, send_once, send_until_answered
from submission.service import create_claim_for_charge

from deploy.client import encounter_body, wait_until
from deploy.stack import load_env
from shared.db import unit_of_work
from tests.db import outbox_rows

pytestmark = pytest.mark.stack
SECRET = "stack-test-secret"
STREAM = 6


async def _claim_rows(sessions: Any, organization_id: uuid.UUID) -> list[Any]:
    async with unit_of_work(sessions, organization_id) as session:
        return list((await session.execute(select(claims.c.claim_id, claims.c.status))).all())


async def test_claims_streamed_during_an_outage_are_each_submitted_exactly_once_when_it_ends(
    sessions: Any, stack_tenant: Any
) -> None:
    tenant = stack_tenant
    organization_id = uuid.UUID(tenant.organization_id)
    submitter = {"submitter": tenant.organization_id}
    await tenant.sandbox("PUT", "/v1/behaviour", json={**submitter, "outage": True})
    practice = tenant.practices[0]
    rng = random.Random(5)
    for number in range(STREAM):
        # One visit a day (no duplicate edit), 53 minutes in person: a clean 90837 for each.
        body = encounter_body(practice, rng, date(2026, 9, 21) + timedelta(days=number), number, minutes=53)
        body["place_of_care"] = "in_person"
        body["patient_at_home"] = False
        response = await tenant.request("POST", "intake", "/v1/encounters", json=body)
        assert response.status_code == 202, response.text

    async def waiting_through_the_outage() -> list[Any] | None:
        rows = await _claim_rows(sessions, organization_id)
        async with unit_of_work(sessions, organization_id) as session:
            retried = await session.scalar(select(func.max(batches.c.send_attempts)))
        waiting = [row for row in rows if row.status in ("queued", "batched")]
        return rows if len(waiting) == STREAM and (retried or 0) >= 2 else None

    await wait_until(
        waiting_through_the_outage, timeout=90, what=f"{STREAM} claims queued and a batch retried in the outage"
    )
    assert (await tenant.sandbox("GET", "/v1/batches", params=submitter)).json() == []

    await tenant.sandbox("PUT", "/v1/behaviour", json={**submitter, "outage": False})

    async def all_sent() -> list[Any] | None:
        rows = await _claim_rows(sessions, organization_id)
        return rows if sum(row.status in ("sent", "adjudicated") for row in rows) == STREAM else None

    claim_ids = sorted(row.claim_id for row in await wait_until(all_sent, timeout=90, what="every claim sent"))

    async with unit_of_work(sessions, organization_id) as session:
        attempts = (
            await session.execute(
                select(
                    claim_attempts.c.claim_id, claim_attempts.c.frequency_code, claim_attempts.c.batch_control_number
                )
            )
        ).all()
        stored = (await session.execute(select(batches).order_by(batches.c.control_number))).all()
    assert sorted(a.claim_id for a in attempts) == claim_ids  # one attempt per claim
    assert {a.frequency_code for a in attempts} == {"1"}
    assert {b.status for b in stored} == {"acknowledged"}
    assert sum(b.claim_count for b in stored) == STREAM
    assert {b.control_number for b in stored} == {a.batch_control_number for a in attempts}
    assert stored[0].send_attempts >= 2  # the first batch was refused during the outage...
    assert stored[0].last_failure_kind == "unavailable"

    received = (await tenant.sandbox("GET", "/v1/batches", params=submitter)).json()
    assert sorted(claim_id for batch in received for claim_id in batch["claim_ids"]) == claim_ids  # ...not twice
    assert {batch["times_received"] for batch in received} == {1}
    assert sorted(int(batch["gs06"]) for batch in received) == [b.control_number for b in stored]
    submitted = await outbox_rows(
        load_env(),
        "submission",
        "SELECT 1 FROM submission.outbox WHERE message_key = ANY($1::text[]) AND event_type = 'claim.submitted'",
        list(claim_ids),
    )
    assert len(submitted) == STREAM


class LostAnswers(httpx.AsyncBaseTransport):
    """Delivers every request to the sandbox app, then loses the first `lose` answers (a read timeout)."""

    def __init__(self, app: Any, lose: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.lose = lose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward, then drop the answer while losses remain."""
        response = await self.inner.handle_async_request(request)
        if self.lose > 0:
            self.lose -= 1
            await response.aread()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


async def test_a_batch_whose_answer_was_lost_is_resent_with_the_same_control_numbers_and_recognised(
    sessions: Any, charges: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE_SECRET", SECRET)
    monkeypatch.setenv("CLAIMFLOW_SANDBOX_DENIAL_RATE", "0")
    sandbox = create_sandbox()
    organization_id = uuid.uuid4()
    charge = charges.make()
    event = charges.created(organization_id, charge)
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await create_claim_for_charge(session, event)
    batch = await prepare_batch(sessions, organization_id, SubmissionSettings())
    assert batch is not None
    async with httpx.AsyncClient(transport=LostAnswers(sandbox, lose=2), base_url="http://sandbox") as client:
        gateway = SandboxGateway(base_url="http://sandbox", secret=SECRET, client=client)
        with pytest.raises(ClearinghouseUnavailable) as lost:
            await gateway.send_batch(organization_id=organization_id, control_number=1, x12=batch.file_text)
        assert lost.value.outcome_unknown
        assert await send_once(sessions, gateway, batch) is None  # the second answer is lost too
        async with unit_of_work(sessions, organization_id) as session:
            failed = (await session.execute(select(batches))).one()
        assert (failed.send_attempts, failed.last_failure_kind, failed.status) == (1, "unknown_outcome", "built")
        answer = await send_until_answered(sessions, gateway, batch, asyncio.Event())
    assert answer is not None
    await record_answer(sessions, organization_id, batch.control_number, answer)
    state = sandbox.state.clearinghouse.submitter(str(organization_id))
    assert [(r.isa13, r.gs06, r.times_received) for r in state.received] == [
        (f"{batch.control_number:09d}", str(batch.control_number), 3)
    ]
    assert len(state.claims) == 1  # adjudicated once although it arrived three times
    async with unit_of_work(sessions, organization_id) as session:
        assert (await session.execute(select(claims.c.status))).scalars().all() == ["sent"]
        assert (await session.execute(select(claim_attempts.c.status))).scalars().all() == ["sent"]
