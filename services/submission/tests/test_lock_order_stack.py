"""Voids and corrections against the sender's batching on the real database: every path locks a claim before its
attempts, so a void holding its claim while a batch is built is no deadlock (the batch leaves that claim for the
next one), and concurrent voids and corrections during batching never answer 503."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.corrections import void_claim
from submission.handlers import HANDLERS, REFERENCE_HANDLERS
from submission.main import create_app
from submission.models import claim_attempts, claims, infra, paused_senders
from submission.sender import prepare_batch

from shared.auth import generate_api_key
from shared.db import set_tenant, unit_of_work
from shared.events.catalogue import build_event
from shared.events.reference import PayerProfile, PayerRef, ReferenceUpserted
from shared.x12 import tokenize

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 14)
POSTED = date(2026, 9, 15)


async def _handle(sessions: Any, organization_id: uuid.UUID, handlers: Any, event_type: str, payload: Any) -> None:
    _, event = build_event(
        event_type,
        payload,
        source="coding",
        subject="x",
        organization_id=organization_id,
        business_date=POSTED,
        correlation_id=str(uuid.uuid4()),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await handlers[event_type](session, event)


async def _organization_with_claims(
    sessions: Any, charges: Any, count: int, **changes: Any
) -> tuple[uuid.UUID, list[str]]:
    """A new organization with a replicated payer and `count` claims built from charges (queued when clean)."""
    organization_id, payer_id = uuid.uuid4(), uuid.uuid4()
    profile = PayerProfile(effective_from=date(2026, 1, 1), credentialing_required=False)
    payer = PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[profile])
    await _handle(
        sessions,
        organization_id,
        REFERENCE_HANDLERS,
        "reference.upserted",
        ReferenceUpserted(entity_id=str(payer_id), entity=payer),
    )
    charge_ids = []
    for _ in range(count):
        base = charges.make(date_of_service=DOS, **changes)
        charge = base.model_copy(update={"coverage": base.coverage.model_copy(update={"payer_id": payer_id})})
        await _handle(sessions, organization_id, HANDLERS, "charge.created", charge)
        charge_ids.append(charge.charge_id)
    async with unit_of_work(sessions, organization_id) as session:
        rows = (await session.execute(select(claims.c.claim_id, claims.c.charge_id))).all()
    by_charge = {row.charge_id: row.claim_id for row in rows}
    return organization_id, [by_charge[charge_id] for charge_id in charge_ids]


async def _blocked_by(sessions: Any, pid: int) -> bool:
    """Whether some backend waits for a lock the backend `pid` holds."""
    async with sessions() as session:
        waiting = await session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE CAST(:pid AS integer) = ANY(pg_blocking_pids(pid))"),
            {"pid": pid},
        )
    return bool(waiting)


async def test_a_void_holding_its_claim_while_a_batch_is_built_is_no_deadlock(sessions: Any, charges: Any) -> None:
    organization_id, claim_ids = await _organization_with_claims(sessions, charges, 3)
    voided = claim_ids[0]
    async with sessions() as session, session.begin():
        await set_tenant(session, organization_id)
        # A void's first statement: its claim, locked.
        await session.execute(select(claims.c.claim_id).where(claims.c.claim_id == voided).with_for_update())
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        batching = asyncio.create_task(prepare_batch(sessions, organization_id, SubmissionSettings()))
        # Bounded: the batch is built without the locked claim, or it waits for the void's lock (which, with the
        # attempts it had locked first, would deadlock the rest of the void).
        for _ in range(500):
            if batching.done() or await _blocked_by(sessions, pid):
                break
            await asyncio.sleep(0.01)
        status = await void_claim(
            session,
            organization_id=organization_id,
            claim_id=voided,
            reason="duplicate visit",
            today=POSTED,
            manual=True,
        )
    batch = await batching
    assert status == "voided"
    assert batch is not None
    batched = [segment.element(1) for segment in tokenize(batch.file_text)[1] if segment.tag == "CLM"]
    assert sorted(batched) == sorted(claim_ids[1:])
    async with unit_of_work(sessions, organization_id) as session:
        statuses = dict((await session.execute(select(claim_attempts.c.claim_id, claim_attempts.c.status))).all())
    assert statuses == {voided: "voided", claim_ids[1]: "batched", claim_ids[2]: "batched"}


async def _api_key(sessions: Any, organization_id: uuid.UUID) -> dict[str, str]:
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


async def test_concurrent_voids_and_corrections_during_batching_never_answer_503(sessions: Any, charges: Any) -> None:
    organization_id, queued = await _organization_with_claims(sessions, charges, 8)
    # Held by the scrubber (a category diagnosis), corrected while batches are built.
    async with unit_of_work(sessions, organization_id) as session:
        payer_id = (await session.execute(select(claims.c.payer_id).limit(1))).scalar_one()
    held_charges = []
    for _ in range(4):
        base = charges.make(date_of_service=DOS, diagnoses=["F41"])
        base = base.model_copy(update={"lines": [base.lines[0].model_copy(update={"diagnosis_pointers": [1]})]})
        charge = base.model_copy(update={"coverage": base.coverage.model_copy(update={"payer_id": payer_id})})
        await _handle(sessions, organization_id, HANDLERS, "charge.created", charge)
        held_charges.append(charge.charge_id)
    async with unit_of_work(sessions, organization_id) as session:
        held = list(
            (await session.execute(select(claims.c.claim_id).where(claims.c.charge_id.in_(held_charges)))).scalars()
        )
    assert len(held) == 4
    app = create_app()
    app.state.sessions = sessions
    headers = await _api_key(sessions, organization_id)
    stop = asyncio.Event()

    async def sender() -> int:
        built = 0
        while not stop.is_set():
            built += await prepare_batch(sessions, organization_id, SubmissionSettings(sender_batch_size=2)) is not None
            await asyncio.sleep(0)
        return built

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
        batching = asyncio.create_task(sender())
        answers = await asyncio.gather(
            *[
                http.post(f"/v1/claims/{claim_id}/void", json={"reason": "duplicate"}, headers=headers)
                for claim_id in queued
            ],
            *[
                http.post(f"/v1/claims/{claim_id}/corrections", json={"diagnoses": ["F41.1"]}, headers=headers)
                for claim_id in held
            ],
        )
        stop.set()
        await batching
    statuses = [answer.status_code for answer in answers]
    assert all(status in (202, 409) for status in statuses), [
        (a.status_code, a.text[:300]) for a in answers if a.status_code not in (202, 409)
    ]
    assert statuses[len(queued) :] == [202] * len(held), [a.text for a in answers[len(queued) :]]
