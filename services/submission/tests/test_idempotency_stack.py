"""Idempotency-Key on submission's POSTs (corrections, void, sweep): a retried request replays the first answer and
changes nothing more; the same key with another body is refused with a problem naming the header."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.main import create_app
from submission.models import claim_attempts, infra, paused_senders
from submission.service import create_claim_for_charge

from deploy.stack import load_env
from shared.auth import generate_api_key
from shared.db import unit_of_work
from tests.db import outbox_rows

pytestmark = pytest.mark.stack


async def _held_claim(sessions: Any, organization_id: uuid.UUID, charges: Any) -> str:
    """A claim the scrubber held (coverage inactive on the date of service)."""
    coverage = charges.make().coverage.model_copy(update={"active_on_date_of_service": False})
    charge = charges.make(coverage=coverage)
    event = charges.created(organization_id, charge)
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await create_claim_for_charge(session, event)
        return str(await session.scalar(select(claim_attempts.c.claim_id)))


async def _headers(sessions: Any, organization_id: uuid.UUID) -> dict[str, str]:
    key_id, secret, key_hash = generate_api_key()
    async with sessions() as session, session.begin():
        await session.execute(
            insert(infra.api_keys).values(
                key_id=key_id,
                organization_id=organization_id,
                key_hash=key_hash,
                scopes=["read", "claims:write"],
                practice_ids=[],
            )
        )
    return {"Authorization": f"Bearer {secret}"}


async def _count(sessions: Any, organization_id: uuid.UUID, statement: Any) -> int:
    async with unit_of_work(sessions, organization_id) as session:
        return int(await session.scalar(statement) or 0)


async def test_a_retried_correction_void_or_sweep_replays_its_first_answer_and_acts_once(
    sessions: Any, charges: Any
) -> None:
    organization_id = uuid.uuid4()
    claim_id = await _held_claim(sessions, organization_id, charges)
    app = create_app()
    app.state.sessions = sessions
    headers = await _headers(sessions, organization_id)
    attempts = select(func.count()).select_from(claim_attempts)

    async def voided_events() -> int:
        rows = await outbox_rows(
            load_env(),
            "submission",
            "SELECT 1 FROM submission.outbox WHERE message_key = $1 AND event_type = 'claim.voided'",
            claim_id,
        )
        return len(rows)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:

        async def post(path: str, body: dict[str, Any], key: str) -> httpx.Response:
            return await http.post(path, json=body, headers={**headers, "Idempotency-Key": key})

        correction = {"note": "coverage re-verified"}
        first = await post(f"/v1/claims/{claim_id}/corrections", correction, "fix-1")
        assert first.status_code == 202, first.text
        assert await _count(sessions, organization_id, attempts) == 2
        again = await post(f"/v1/claims/{claim_id}/corrections", correction, "fix-1")
        assert (again.status_code, again.json()) == (202, first.json())
        assert again.headers["Idempotent-Replayed"] == "true"
        assert await _count(sessions, organization_id, attempts) == 2  # not a third attempt

        other = await post(f"/v1/claims/{claim_id}/corrections", {"note": "something else"}, "fix-1")
        assert other.status_code == 422
        assert other.headers["content-type"].startswith("application/problem+json")
        assert other.json()["errors"] == [{"field": "header.Idempotency-Key", "reason": "reused with another request"}]

        void = await post(f"/v1/claims/{claim_id}/void", {"reason": "duplicate visit"}, "void-1")
        assert (void.status_code, void.json()["status"]) == (202, "voided")
        replayed = await post(f"/v1/claims/{claim_id}/void", {"reason": "duplicate visit"}, "void-1")
        assert replayed.json() == void.json()
        assert await voided_events() == 1
        refused = await post(f"/v1/claims/{claim_id}/void", {"reason": "other"}, "void-1")
        assert refused.status_code == 422

        swept = await post("/v1/work-queues/sweep", {"as_of": "2026-10-20"}, "sweep-1")
        assert swept.status_code == 200, swept.text
        assert (await post("/v1/work-queues/sweep", {"as_of": "2026-10-20"}, "sweep-1")).json() == swept.json()
        assert (await post("/v1/work-queues/sweep", {"as_of": "2026-10-21"}, "sweep-1")).status_code == 422

        # The same key on another route is another request; no key at all is no replay.
        assert (await post("/v1/work-queues/sweep", {"as_of": "2026-10-20"}, "fix-1")).status_code == 200
        plain = await http.post("/v1/work-queues/sweep", json={"as_of": "2026-10-20"}, headers=headers)
        assert plain.status_code == 200
        assert "Idempotent-Replayed" not in plain.headers
