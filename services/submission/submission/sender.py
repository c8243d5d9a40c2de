"""The background sender: batches queued attempts per organization, stores the 837P, sends it, records the acks.

A batch row (control number + file text) is committed before the first send, so after a crash or a transient failure
the very same file is sent again; attempts already in a stored batch are never put in another one.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import and_, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.charge import ChargeFacts
from submission.config import SubmissionSettings
from submission.gateway import (
    ClearinghouseGateway,
    ClearinghouseRefused,
    ClearinghouseUnavailable,
    GatewayAnswer,
    SandboxGateway,
)
from submission.models import batches, claim_attempts, claims, control_numbers, send_queue
from submission.recording import record_answer
from submission.x837 import BatchClaim, Envelope837, build_837p

log = structlog.get_logger()
CLEARINGHOUSE_UP = Gauge("claimflow_submission_clearinghouse_up", "1 when the last clearinghouse call succeeded")
BATCHES_SENT = Counter("claimflow_submission_batches_sent_total", "837P batches acknowledged by the clearinghouse")
SEND_FAILURES = Counter("claimflow_submission_send_failures_total", "Failed batch sends by kind", ["kind"])


@dataclass(frozen=True)
class StoredBatch:
    """A batch committed before sending: its control number and the exact file text to (re)send."""

    organization_id: uuid.UUID
    control_number: int
    file_text: str


async def organizations_with_work(sessions: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
    """Organizations that have queued or batched attempts (send_queue holds ids only, no tenant filter needed)."""
    async with sessions() as session:
        rows = await session.execute(select(send_queue.c.organization_id).distinct())
        return [row.organization_id for row in rows]


async def prepare_batch(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, settings: SubmissionSettings
) -> StoredBatch | None:
    """The organization's stored unacknowledged batch, else a new one of its oldest queued attempts (committed)."""
    async with unit_of_work(sessions, organization_id) as session:
        pending = (
            await session.execute(
                select(batches.c.control_number, batches.c.file_text)
                .where(batches.c.status == "built")
                .order_by(batches.c.control_number)
                .limit(1)
            )
        ).first()
        if pending is not None:
            return StoredBatch(organization_id, pending.control_number, pending.file_text)
        oldest = (
            await session.execute(
                select(claim_attempts.c.business_date)
                .where(claim_attempts.c.status == "queued")
                .order_by(claim_attempts.c.queued_at, claim_attempts.c.claim_id)
                .limit(1)
            )
        ).first()
        if oldest is None:
            await _forget_finished(session, organization_id)
            return None
        rows = (
            await session.execute(
                select(
                    claim_attempts.c.claim_id,
                    claim_attempts.c.attempt_number,
                    claim_attempts.c.frequency_code,
                    claims.c.charge,
                )
                .join(claims, claims.c.claim_id == claim_attempts.c.claim_id)
                .where(claim_attempts.c.status == "queued", claim_attempts.c.business_date == oldest.business_date)
                .order_by(claim_attempts.c.queued_at, claim_attempts.c.claim_id)
                .limit(settings.sender_batch_size)
                .with_for_update(of=claim_attempts, skip_locked=True)
            )
        ).all()
        if not rows:
            return None
        control_number = int(await session.scalar(control_numbers.next_value()))
        envelope = Envelope837(
            control_number=control_number,
            business_date=oldest.business_date,
            time_hhmm=datetime.now(UTC).strftime("%H%M"),
            sender_id=settings.interchange_sender_id,
            receiver_id=settings.interchange_receiver_id,
            submitter_name=settings.submitter_name,
            receiver_name=settings.receiver_name,
            usage=settings.interchange_usage,
        )
        text = build_837p(
            envelope,
            [BatchClaim(row.claim_id, row.frequency_code, ChargeFacts.model_validate(row.charge)) for row in rows],
        )
        await session.execute(
            batches.insert().values(
                control_number=control_number,
                organization_id=organization_id,
                business_date=oldest.business_date,
                status="built",
                file_text=text,
                claim_count=len(rows),
            )
        )
        keys = [(row.claim_id, row.attempt_number) for row in rows]
        await session.execute(
            update(claim_attempts)
            .where(tuple_(claim_attempts.c.claim_id, claim_attempts.c.attempt_number).in_(keys))
            .values(status="batched", batch_control_number=control_number)
        )
        await session.execute(
            update(claims).where(claims.c.claim_id.in_([k[0] for k in keys])).values(status="batched")
        )
    return StoredBatch(organization_id, control_number, text)


async def _forget_finished(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Drop send-queue rows whose attempts are no longer queued or batched (voided, for instance)."""
    live = select(claim_attempts.c.claim_id, claim_attempts.c.attempt_number).where(
        claim_attempts.c.status.in_(("queued", "batched"))
    )
    await session.execute(
        delete(send_queue).where(
            and_(
                send_queue.c.organization_id == organization_id,
                tuple_(send_queue.c.claim_id, send_queue.c.attempt_number).not_in(live),
            )
        )
    )


async def note_failure(sessions: async_sessionmaker[AsyncSession], batch: StoredBatch, error: Exception) -> None:
    """Record a failed send on the batch row (best effort: the database may be what failed)."""
    with contextlib.suppress(Exception):
        async with unit_of_work(sessions, batch.organization_id) as session:
            await session.execute(
                update(batches)
                .where(batches.c.control_number == batch.control_number)
                .values(send_attempts=batches.c.send_attempts + 1, last_error=str(error)[:500])
            )


async def send_until_answered(
    sessions: async_sessionmaker[AsyncSession],
    gateway: ClearinghouseGateway,
    batch: StoredBatch,
    stop: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> GatewayAnswer | None:
    """Send the stored batch until the clearinghouse answers (backoff on failures); None when stopped first."""
    backoff = 0.5
    while not stop.is_set():
        try:
            answer = await gateway.send_batch(
                organization_id=batch.organization_id, control_number=batch.control_number, x12=batch.file_text
            )
            CLEARINGHOUSE_UP.set(1)
            return answer
        except (ClearinghouseUnavailable, ClearinghouseRefused) as error:
            kind = "unavailable" if isinstance(error, ClearinghouseUnavailable) else "refused"
            CLEARINGHOUSE_UP.set(0)
            SEND_FAILURES.labels(kind).inc()
            log.warning("batch send failed, retrying", kind=kind, control_number=batch.control_number, backoff=backoff)
            await note_failure(sessions, batch, error)
            await (sleep or _sleeper(stop))(backoff)
            backoff = min(backoff * 2, 30.0 if kind == "unavailable" else 60.0)
    return None


def _sleeper(stop: asyncio.Event) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    return sleep


async def send_pending(
    sessions: async_sessionmaker[AsyncSession],
    gateway: ClearinghouseGateway,
    settings: SubmissionSettings,
    stop: asyncio.Event,
) -> int:
    """One pass: for each organization with work, send one batch and record its answer; returns batches sent."""
    sent = 0
    for organization_id in await organizations_with_work(sessions):
        batch = await prepare_batch(sessions, organization_id, settings)
        if batch is None:
            continue
        answer = await send_until_answered(sessions, gateway, batch, stop)
        if answer is None:
            break
        await record_answer(sessions, batch.organization_id, batch.control_number, answer)
        BATCHES_SENT.inc()
        sent += 1
    return sent


def sender_task(
    settings: SubmissionSettings,
) -> Callable[[async_sessionmaker[AsyncSession], asyncio.Event], Awaitable[None]]:
    """The worker's background sender, talking to the sandbox clearinghouse (WorkerSpec.background)."""

    async def sender(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=settings.clearinghouse_timeout_seconds) as client:
            gateway = SandboxGateway(
                base_url=settings.sandbox_url,
                secret=settings.clearinghouse_secret.get_secret_value(),
                client=client,
            )
            await run_sender(sessions, gateway, settings, stop)

    return sender


async def run_sender(
    sessions: async_sessionmaker[AsyncSession],
    gateway: ClearinghouseGateway,
    settings: SubmissionSettings,
    stop: asyncio.Event,
) -> None:
    """Send batches until stopped; database failures are retried with backoff."""
    sleep = _sleeper(stop)
    backoff = 0.5
    while not stop.is_set():
        try:
            sent = await send_pending(sessions, gateway, settings, stop)
            backoff = 0.5
            if sent == 0:
                await sleep(settings.sender_poll_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("sender pass failed, retrying", error_type=type(error).__name__, backoff=backoff)
            await sleep(backoff)
            backoff = min(backoff * 2, 10.0)
