"""Delivers due 835 files to remittance as a clearinghouse would: signed webhook, retried until 2xx or 409."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac

import httpx
import structlog

from sandbox.clearinghouse import Clearinghouse, RemittanceFile
from sandbox.config import SandboxSettings

log = structlog.get_logger()
SUBMITTER_HEADER = "X-Claimflow-Submitter"
SIGNATURE_HEADER = "X-Claimflow-Signature"


def delivery_signature(secret: str, submitter: str, body: bytes) -> str:
    """sha256=<hex HMAC-SHA256 of submitter, newline, body>: what remittance verifies."""
    return "sha256=" + hmac.new(secret.encode(), submitter.encode() + b"\n" + body, hashlib.sha256).hexdigest()


async def deliver(
    client: httpx.AsyncClient, settings: SandboxSettings, submitter: str, remittance: RemittanceFile, now: float
) -> None:
    """One delivery attempt: delivered on 2xx or 409 (already posted), otherwise retried later with backoff."""
    body = remittance.text.encode()
    headers = {
        "Content-Type": "application/edi-x12",
        SUBMITTER_HEADER: submitter,
        SIGNATURE_HEADER: delivery_signature(settings.clearinghouse_secret.get_secret_value(), submitter, body),
    }
    remittance.attempts += 1
    try:
        response = await client.post(
            f"{settings.remittance_url.rstrip('/')}/v1/era/clearinghouse", content=body, headers=headers
        )
        if 200 <= response.status_code < 300 or response.status_code == 409:
            remittance.status, remittance.last_error = "delivered", None
            return
        remittance.last_error = f"remittance answered {response.status_code}"
    except httpx.HTTPError as error:
        remittance.last_error = f"{type(error).__name__} delivering the 835"
    remittance.next_try = now + remittance.backoff
    remittance.backoff = min(remittance.backoff * 2, 30.0)
    log.warning("835 delivery failed, retrying", file_id=remittance.file_id, error=remittance.last_error)


async def deliver_due(house: Clearinghouse, client: httpx.AsyncClient, settings: SandboxSettings, now: float) -> None:
    """Build the files that fell due and try every pending file whose retry time has come."""
    for submitter in list(house.submitters):
        house.build_due_files(submitter)
        for remittance in house.submitters[submitter].files:
            if remittance.status == "pending" and remittance.next_try <= now:
                await deliver(client, settings, submitter, remittance, now)


async def delivery_loop(
    house: Clearinghouse, client: httpx.AsyncClient, settings: SandboxSettings, stop: asyncio.Event
) -> None:
    """Every half second (CLAIMFLOW_SANDBOX_DELIVERY_SECONDS) until stopped."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            await deliver_due(house, client, settings, loop.time())
        except Exception as error:  # the loop must outlive a bad file; the error is logged and retried
            log.error("835 delivery pass failed", error_type=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.sandbox_delivery_seconds)
