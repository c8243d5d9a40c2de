"""Voids and corrections against the sender's batching on the real database: every path locks a claim before its
attempts, so a void holding its claim while a batch is built is no deadlock (the batch leaves that claim for the
next one), and concurrent voids and corrections during batching never answer 503."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text
from submission.config import SubmissionSettings
from submission.corrections import void_claim
from submission.models import claim_attempts, claims
from submission.sender import prepare_batch

from shared.db import set_tenant, unit_of_work
from shared.x12 import tokenize

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 14)
POSTED = date(2026, 9, 15)


async def _claims(biller: Any, charges: Any, count: int, payer_id: Any, **changes: Any) -> list[str]:
    """`count` claims of new charges billed to a payer (queued when clean)."""
    return [await biller.claim(charges.make(date_of_service=DOS, **changes), payer_id) for _ in range(count)]


async def _blocked_by(sessions: Any, pid: int) -> bool:
    """Whether some backend waits for a lock the backend `pid` holds."""
    async with sessions() as session:
        waiting = await session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE CAST(:pid AS integer) = ANY(pg_blocking_pids(pid))"),
            {"pid": pid},
        )
    return bool(waiting)


async def test_a_void_holding_its_claim_while_a_batch_is_built_is_no_deadlock(
    sessions: Any, biller: Any, charges: Any
) -> None:
    organization_id = biller.id
    claim_ids = await _claims(biller, charges, 3, await biller.payer())
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


async def test_concurrent_voids_and_corrections_during_batching_never_answer_503(
    sessions: Any, biller: Any, charges: Any
) -> None:
    organization_id, payer_id = biller.id, await biller.payer()
    queued = await _claims(biller, charges, 8, payer_id)
    # Held by the scrubber (a category diagnosis, the line pointing at it), corrected while batches are built.
    line = charges.make().lines[0].model_copy(update={"diagnosis_pointers": [1]})
    held = await _claims(biller, charges, 4, payer_id, diagnoses=["F41"], lines=[line])
    headers = await biller.key(["read", "claims:write"])
    stop = asyncio.Event()

    async def sender() -> int:
        built = 0
        while not stop.is_set():
            built += await prepare_batch(sessions, organization_id, SubmissionSettings(sender_batch_size=2)) is not None
            await asyncio.sleep(0)
        return built

    async with biller.api() as http:
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
