"""Submission on the real database: charge → claim → stored 837P batch → sandbox → acks and events, once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sandbox.main import create_app as create_sandbox
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.corrections import void_claims_of_charge
from submission.gateway import SandboxGateway
from submission.main import create_app
from submission.models import acknowledgements, batches, claims, infra, paused_senders, skipped_charges
from submission.recording import record_answer
from submission.sender import prepare_batch, send_until_answered
from submission.service import create_claim_for_charge

from deploy.stack import load_env
from shared.auth import generate_api_key
from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.charge import ChargeVoided
from tests.db import outbox_rows

pytestmark = pytest.mark.stack
SECRET = "stack-test-secret"


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SandboxGateway]:
    """The real sandbox gateway talking to the sandbox app in-process."""
    monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE_SECRET", SECRET)
    monkeypatch.setenv("CLAIMFLOW_SANDBOX_DENIAL_RATE", "0")
    transport = httpx.ASGITransport(app=create_sandbox())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield SandboxGateway(base_url="http://sandbox", secret=SECRET, client=client)


async def _charge_created(sessions: Any, organization_id: uuid.UUID, charge: Any, charges: Any) -> None:
    event = charges.created(organization_id, charge)
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await create_claim_for_charge(session, event)
        await create_claim_for_charge(session, event)  # a redelivery changes nothing


async def _claim(sessions: Any, organization_id: uuid.UUID, charge_id: str) -> Any:
    async with unit_of_work(sessions, organization_id) as session:
        return (await session.execute(select(claims).where(claims.c.charge_id == charge_id))).one()


async def _events(sessions: Any, claim_id: str) -> list[str]:
    """Types of the events queued for a claim, oldest first (read as the relay's role)."""
    rows = await outbox_rows(
        load_env(),
        "submission",
        "SELECT event_type FROM submission.outbox WHERE message_key = $1 ORDER BY id",
        claim_id,
    )
    return [row["event_type"] for row in rows]


async def test_clean_claim_is_sent_once_and_acknowledged_with_events_in_order(
    sessions: Any, gateway: SandboxGateway, charges: Any
) -> None:
    organization_id = uuid.uuid4()
    settings = SubmissionSettings()
    clean, telehealth = charges.make(), charges.make(lines=[charges.telehealth_line()])
    await _charge_created(sessions, organization_id, clean, charges)
    await _charge_created(sessions, organization_id, telehealth, charges)
    batch = await prepare_batch(sessions, organization_id, settings)
    assert batch is not None
    assert await prepare_batch(sessions, organization_id, settings) is None  # leased to the first sender
    async with unit_of_work(sessions, organization_id) as session:  # that sender crashed: its lease runs out
        await session.execute(update(batches).values(next_attempt_at=func.now() - text("interval '1 second'")))
    again = await prepare_batch(sessions, organization_id, settings)  # the very same batch, not a new one
    assert again == batch
    stop = asyncio.Event()
    answer = await send_until_answered(sessions, gateway, batch, stop)
    resent = await send_until_answered(sessions, gateway, batch, stop)
    assert answer == resent  # the clearinghouse dedupes by ISA13
    assert answer is not None
    await record_answer(sessions, organization_id, batch.control_number, answer)
    await record_answer(sessions, organization_id, batch.control_number, answer)
    assert await prepare_batch(sessions, organization_id, settings) is None
    for charge in (clean, telehealth):
        claim = await _claim(sessions, organization_id, charge.charge_id)
        assert claim.status == "sent"
        assert len(claim.claim_id) <= 20
        assert await _events(sessions, claim.claim_id) == [
            "claim.submitted",
            "claim.acknowledged",
            "claim.acknowledged",
        ]
    async with unit_of_work(sessions, organization_id) as session:
        stored = (await session.execute(select(batches))).one()
        kinds = (await session.execute(select(acknowledgements.c.kind, acknowledgements.c.status_code))).all()
    assert stored.status == "acknowledged"
    assert stored.claim_count == 2
    assert f"*{stored.control_number:09d}*" in stored.file_text
    assert "BHT*0019*00*" in stored.file_text
    assert sorted(kinds) == [("277CA", "A2"), ("277CA", "A2"), ("999", "A"), ("999", "A")]


async def test_scrubber_hold_then_void_and_the_api_hides_other_organizations(
    sessions: Any, charges: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    organization_id = uuid.uuid4()
    coverage = charges.make().coverage.model_copy(update={"active_on_date_of_service": False})
    held = charges.make(coverage=coverage)
    await _charge_created(sessions, organization_id, held, charges)
    claim = await _claim(sessions, organization_id, held.charge_id)
    edits = [(e["rule_id"], e["severity"]) for e in claim.scrub_edits]
    assert (claim.status, edits) == ("held", [("ELIG-INACTIVE", "error"), ("PAYER-UNKNOWN", "warning")])
    assert await _events(sessions, claim.claim_id) == ["claim.held"]

    key_id, secret, key_hash = generate_api_key()
    async with sessions() as session, session.begin():
        await session.execute(
            insert(infra.api_keys).values(
                key_id=key_id, organization_id=organization_id, key_hash=key_hash, scopes=["read"], practice_ids=[]
            )
        )
    app = create_app()
    app.state.sessions = sessions
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
        queue = (await http.get("/v1/claims", params={"status": "held"}, headers=headers)).json()["items"]
        assert [c["claim_id"] for c in queue] == [claim.claim_id]
        assert "not active" in queue[0]["status_reason"]
        other_key, other_secret, other_hash = generate_api_key()
        async with sessions() as session, session.begin():
            await session.execute(
                insert(infra.api_keys).values(
                    key_id=other_key,
                    organization_id=uuid.uuid4(),
                    key_hash=other_hash,
                    scopes=["read"],
                    practice_ids=[],
                )
            )
        hidden = await http.get(f"/v1/claims/{claim.claim_id}", headers={"Authorization": f"Bearer {other_secret}"})
        assert hidden.status_code == 404

    _, voided = build_event(
        "charge.voided",
        ChargeVoided(charge_id=held.charge_id, reason="encounter cancelled"),
        source="coding",
        subject=held.charge_id,
        organization_id=organization_id,
        business_date=date(2026, 9, 16),
        correlation_id=str(uuid.uuid4()),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await void_claims_of_charge(session, voided)
    assert (await _claim(sessions, organization_id, held.charge_id)).status == "voided"
    assert await _events(sessions, claim.claim_id) == ["claim.held", "claim.voided"]


async def test_charge_without_coverage_is_skipped_and_recorded(sessions: Any, charges: Any) -> None:
    organization_id = uuid.uuid4()
    self_pay = charges.make(coverage=None)
    await _charge_created(sessions, organization_id, self_pay, charges)
    async with unit_of_work(sessions, organization_id) as session:
        assert (await session.execute(select(claims))).all() == []
        (row,) = (await session.execute(select(skipped_charges))).all()
    assert row.charge_id == self_pay.charge_id
    assert "no coverage" in row.reason
