"""How many statements submission sends to PostgreSQL for a new claim and for recording a batch's answer.

Statements are most of what a claim costs (docs/performance.md): a new claim reads its stored history in one query and
writes its rows in one statement, and a clearinghouse answer is recorded a statement per table whatever the number of
claims in the batch. The statements are counted on the engine of the test's own sessions, BEGIN and COMMIT aside.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sandbox.main import create_app as create_sandbox
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.gateway import SandboxGateway
from submission.handlers import REMITTANCE_HANDLERS
from submission.models import authorization_usage, claim_attempts, claims, paused_senders, send_queue, visits
from submission.recording import record_answer
from submission.sender import prepare_batch, send_until_answered
from submission.service import create_claim_for_charge

from deploy.stack import load_env
from shared.db import unit_of_work
from shared.events.catalogue import build_event
from tests.db import outbox_rows, statements_sent

pytestmark = pytest.mark.stack
SECRET = "round-trip-test-secret"


async def test_a_new_claim_reads_its_history_once_and_writes_its_rows_in_one_statement(
    sessions: Any, charges: Any
) -> None:
    organization_id = uuid.uuid4()
    first = charges.make(authorization=charges.authorization())
    # Same payer, provider and authorization: what a unit of work reads once (clock, replicas) is read by now.
    second = charges.make(
        coverage=first.coverage, provider=first.provider, patient=first.patient, authorization=first.authorization
    )
    second = second.model_copy(update={"date_of_service": date(2026, 9, 21)})
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await create_claim_for_charge(session, charges.created(organization_id, first))
        with statements_sent(sessions) as new_claim:
            await create_claim_for_charge(session, charges.created(organization_id, second))
        with statements_sent(sessions) as redelivered:
            await create_claim_for_charge(session, charges.created(organization_id, second))

    assert len(new_claim) == 2, new_claim
    assert len(redelivered) == 1, redelivered  # the stored claim is found before any scrubbing or writing
    async with unit_of_work(sessions, organization_id) as session:
        stored = (
            await session.execute(
                select(claims.c.claim_id, claims.c.status, claim_attempts.c.status.label("attempt"))
                .join(claim_attempts, claim_attempts.c.claim_id == claims.c.claim_id)
                .where(claims.c.charge_id == second.charge_id)
            )
        ).one()
        visit = (await session.execute(select(visits).where(visits.c.claim_id == stored.claim_id))).one()
        used = await session.scalar(
            select(authorization_usage.c.units).where(authorization_usage.c.claim_id == stored.claim_id)
        )
        queued = await session.scalar(
            select(send_queue.c.attempt_number).where(send_queue.c.claim_id == stored.claim_id)
        )
    assert (stored.status, stored.attempt) == ("queued", "queued")
    assert visit.billed
    assert visit.patient_id == first.patient.patient_id
    assert used == 1  # one 90834
    assert queued == 1


async def _recording_statements(sessions: Any, gateway: SandboxGateway, charges: Any, claims_in_batch: int) -> int:
    organization_id = uuid.uuid4()
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        for _ in range(claims_in_batch):
            await create_claim_for_charge(session, charges.created(organization_id, charges.make()))
    batch = await prepare_batch(sessions, organization_id, SubmissionSettings())
    assert batch is not None
    answer = await send_until_answered(sessions, gateway, batch, asyncio.Event())
    assert answer is not None
    with statements_sent(sessions) as recorded:
        await record_answer(sessions, organization_id, batch.control_number, answer)
    async with unit_of_work(sessions, organization_id) as session:
        ids = (await session.scalars(select(claims.c.claim_id).where(claims.c.status == "sent"))).all()
    events = await outbox_rows(
        load_env(),
        "submission",
        "SELECT event_type, message_key FROM submission.outbox WHERE message_key = ANY($1::text[]) ORDER BY id",
        list(ids),
    )
    assert len(ids) == claims_in_batch
    for claim_id in ids:  # each claim announced once, its submission before its acknowledgements
        assert [row["event_type"] for row in events if row["message_key"] == claim_id] == [
            "claim.submitted",
            "claim.acknowledged",
            "claim.acknowledged",
        ]
    return len(recorded)


async def test_recording_an_answer_costs_the_same_statements_for_one_claim_or_many(
    sessions: Any, charges: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE_SECRET", SECRET)
    monkeypatch.setenv("CLAIMFLOW_SANDBOX_DENIAL_RATE", "0")
    transport = httpx.ASGITransport(app=create_sandbox())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        gateway = SandboxGateway(base_url="http://sandbox", secret=SECRET, client=client)
        one = await _recording_statements(sessions, gateway, charges, 1)
        five = await _recording_statements(sessions, gateway, charges, 5)
    assert one == five, (one, five)


async def test_an_adjudication_is_recorded_in_one_statement(sessions: Any, charges: Any) -> None:
    organization_id = uuid.uuid4()
    charge = charges.make()
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await create_claim_for_charge(session, charges.created(organization_id, charge))
        claim_id = await session.scalar(select(claims.c.claim_id).where(claims.c.charge_id == charge.charge_id))
        _, event = build_event(
            "remittance.posted",
            charges.posted(
                claim_id,
                payer_claim_number="PCN-ROUND-TRIP",
                trace_number="EFT-ROUND-TRIP",
                payment_date=date(2026, 9, 30),
            ),
            source="remittance",
            subject=claim_id,
            organization_id=organization_id,
            business_date=date(2026, 9, 15),  # the clock has seen this date: nothing to move
            correlation_id=str(uuid.uuid4()),
        )
        with statements_sent(sessions) as sent:
            await REMITTANCE_HANDLERS["remittance.posted"](session, event)
        stored = (
            await session.execute(
                select(claims.c.status, claims.c.payer_claim_number, claims.c.adjudicated_date).where(
                    claims.c.claim_id == claim_id
                )
            )
        ).one()

    # The claim adjudicated, its follow-ups closed and its waiting void looked for, together.
    assert len(sent) == 1, sent
    assert tuple(stored) == ("adjudicated", "PCN-ROUND-TRIP", date(2026, 9, 30))
