"""The background sender: batches queued attempts per organization, stores the 837P, sends it, records the acks.

A batch row (control number + file text) is committed before the first send, so after a crash or a transient failure
the very same file (same ISA13/GS06) is sent again and the clearinghouse can recognise a repeat; attempts already in a
stored batch are never put in another one. A failed send waits on its own batch row (backoff in `next_attempt_at`),
so one organization's failures never hold up another's batches, and a claimed batch is leased so that two sender
replicas never send it at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import and_, delete, func, literal_column, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.events.charge import ChargeFacts
from shared.events.reference import PayerRef
from shared.replica import reference_entity
from shared.retrying import run_retrying_lock_conflicts
from submission import domain
from submission.config import SubmissionSettings
from submission.gateway import (
    ClearinghouseGateway,
    ClearinghouseRefused,
    ClearinghouseUnavailable,
    GatewayAnswer,
    SandboxGateway,
)
from submission.models import batches, claim_attempts, claims, control_numbers, infra, paused_senders, send_queue
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
    """Organizations that have queued or batched attempts and whose sending is not paused (send_queue and
    paused_senders hold ids only, no tenant filter needed)."""
    async with sessions() as session:
        paused = select(paused_senders.c.organization_id)
        rows = await session.execute(
            select(send_queue.c.organization_id).where(send_queue.c.organization_id.not_in(paused)).distinct()
        )
        return [row.organization_id for row in rows]


def _lease(settings: SubmissionSettings) -> Any:
    """When a claimed batch may be claimed again if its sender vanished mid-send: the send timeout plus a margin."""
    return func.now() + literal_column(f"interval '{int(settings.clearinghouse_timeout_seconds) + 5} seconds'")


async def prepare_batch(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, settings: SubmissionSettings
) -> StoredBatch | None:
    """The organization's stored unacknowledged batch when its retry time has come, else a new one of its oldest
    queued attempts (committed); None when there is nothing to send now. The batch returned is leased to the caller.
    """
    async with unit_of_work(sessions, organization_id) as session:
        pending = (
            await session.execute(
                select(
                    batches.c.control_number,
                    batches.c.file_text,
                    (batches.c.next_attempt_at.is_(None) | (batches.c.next_attempt_at <= func.now())).label("due"),
                )
                .where(batches.c.status == "built")
                .order_by(batches.c.control_number)
                .limit(1)
                .with_for_update()
            )
        ).first()
        if pending is not None:
            # One batch in flight per organization: later attempts wait for it, so an outage builds no pile of files.
            if not pending.due:
                return None
            await session.execute(
                update(batches)
                .where(batches.c.control_number == pending.control_number)
                .values(next_attempt_at=_lease(settings))
            )
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
                    claims.c.payer_claim_number,
                    claims.c.payer_id,
                    claims.c.date_of_service,
                )
                .join(claims, claims.c.claim_id == claim_attempts.c.claim_id)
                .where(claim_attempts.c.status == "queued", claim_attempts.c.business_date == oldest.business_date)
                .order_by(claim_attempts.c.queued_at, claim_attempts.c.claim_id)
                .limit(settings.sender_batch_size)
                # The claim row is the lock of a claim and its attempts, taken before either is written (voids and
                # corrections lock it first too); one a void or a correction holds is left for the next batch.
                .with_for_update(of=claims, skip_locked=True)
            )
        ).all()
        if not rows:
            return None
        indicators = await _filing_indicators(session, rows)
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
        file_text = build_837p(
            envelope,
            [
                BatchClaim(
                    row.claim_id,
                    row.frequency_code,
                    ChargeFacts.model_validate(row.charge),
                    indicators[row.claim_id],
                    row.payer_claim_number,
                )
                for row in rows
            ],
        )
        await session.execute(
            batches.insert().values(
                control_number=control_number,
                organization_id=organization_id,
                business_date=oldest.business_date,
                status="built",
                file_text=file_text,
                claim_count=len(rows),
                send_attempts=0,
                next_attempt_at=_lease(settings),
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
    return StoredBatch(organization_id, control_number, file_text)


async def _filing_indicators(session: AsyncSession, rows: Sequence[Any]) -> dict[str, str]:
    """Each claim's SBR09 from its payer's profile in force on the date of service (the scrubber held claims whose
    payer names none; a void never scrubbed against such a profile goes out as ZZ, mutually defined)."""
    payers: dict[uuid.UUID, PayerRef | None] = {}
    for payer_id in {row.payer_id for row in rows}:
        payers[payer_id] = domain.payer_from_replica(await reference_entity(session, infra, "payer", str(payer_id)))
    return {
        row.claim_id: domain.claim_filing_indicator(domain.profile_in_force(payers[row.payer_id], row.date_of_service))
        or domain.UNKNOWN_FILING_INDICATOR
        for row in rows
    }


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


def failure_kind(error: Exception) -> str:
    """unavailable, unknown_outcome (the batch may have arrived) or refused: the metric label and backoff class."""
    if isinstance(error, ClearinghouseRefused):
        return "refused"
    if isinstance(error, ClearinghouseUnavailable) and error.outcome_unknown:
        return "unknown_outcome"
    return "unavailable"


async def note_failure(sessions: async_sessionmaker[AsyncSession], batch: StoredBatch, error: Exception) -> float:
    """Record a failed send on the batch row and when to try again; returns the delay (best effort: the database
    may be what failed, and then the lease runs out on its own)."""
    kind = failure_kind(error)
    delay = domain.send_retry_delay(1, kind)
    with contextlib.suppress(Exception):
        async with unit_of_work(sessions, batch.organization_id) as session:
            failed = await session.scalar(
                update(batches)
                .where(batches.c.control_number == batch.control_number, batches.c.status == "built")
                .values(send_attempts=batches.c.send_attempts + 1, last_error=str(error)[:500], last_failure_kind=kind)
                .returning(batches.c.send_attempts)
            )
            delay = domain.send_retry_delay(int(failed or 1), kind)
            await session.execute(
                update(batches)
                .where(batches.c.control_number == batch.control_number, batches.c.status == "built")
                .values(next_attempt_at=func.now() + literal_column(f"interval '{int(delay * 1000)} milliseconds'"))
            )
    return delay


async def send_once(
    sessions: async_sessionmaker[AsyncSession], gateway: ClearinghouseGateway, batch: StoredBatch
) -> GatewayAnswer | None:
    """One send of a stored batch: the answer, or None after recording the failure and the next retry time."""
    try:
        answer = await gateway.send_batch(
            organization_id=batch.organization_id, control_number=batch.control_number, x12=batch.file_text
        )
    except (ClearinghouseUnavailable, ClearinghouseRefused) as error:
        kind = failure_kind(error)
        CLEARINGHOUSE_UP.set(0)
        SEND_FAILURES.labels(kind).inc()
        delay = await note_failure(sessions, batch, error)
        log.warning("batch send failed, will retry", kind=kind, control_number=batch.control_number, retry_in=delay)
        return None
    CLEARINGHOUSE_UP.set(1)
    return answer


async def send_until_answered(
    sessions: async_sessionmaker[AsyncSession],
    gateway: ClearinghouseGateway,
    batch: StoredBatch,
    stop: asyncio.Event,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> GatewayAnswer | None:
    """Send one stored batch until the clearinghouse answers, waiting the recorded backoff between tries; None when
    stopped first (used where one batch must go out now, such as an operator's manual send)."""
    failures = 0
    while not stop.is_set():
        answer = await send_once(sessions, gateway, batch)
        if answer is not None:
            return answer
        failures += 1
        await (sleep or _sleeper(stop))(domain.send_retry_delay(failures, "unavailable"))
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
    """One pass: for each organization with a batch due, send it once and record its answer; returns batches
    answered. A failed send is left for a later pass at its retry time; the other organizations go on."""
    sent = 0
    for organization_id in await organizations_with_work(sessions):
        if stop.is_set():
            break
        batch = await run_retrying_lock_conflicts(functools.partial(prepare_batch, sessions, organization_id, settings))
        if batch is None:
            continue
        answer = await send_once(sessions, gateway, batch)
        if answer is None:
            continue
        await run_retrying_lock_conflicts(
            functools.partial(record_answer, sessions, batch.organization_id, batch.control_number, answer)
        )
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
