"""What the remittance stack tests share: claims applied through the handler, keys, signed deliveries, outbox reads."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson
from remittance.api import delivery_signature
from remittance.config import RemittanceSettings
from remittance.handlers import HANDLERS, REFERENCE_HANDLERS
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.stack import load_env
from shared.auth import generate_api_key
from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.claim import ClaimLine, ClaimSubmitted
from shared.events.envelope import Envelope, Payload
from shared.events.reference import ApiKeyRef, ReferenceUpserted
from shared.settings import load_settings
from tests.db import outbox_rows

SETTINGS = load_settings(RemittanceSettings)
Sessions = async_sessionmaker[AsyncSession]


def claim_submitted_event(
    organization_id: uuid.UUID,
    claim_id: str,
    *,
    billed: str = "150",
    practice_id: uuid.UUID | None = None,
    payer_id: uuid.UUID | None = None,
    member_id: str | None = None,
    date_of_service: date = date(2026, 9, 20),
    payer_claim_number: str | None = None,
) -> Envelope:
    """A claim.submitted event as submission emits it."""
    payload = ClaimSubmitted(
        claim_id=claim_id,
        charge_id=f"charge-{claim_id}",
        payer_id=payer_id or uuid.uuid4(),
        provider_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        program="outpatient_therapy",
        date_of_service=date_of_service,
        charge_posted_date=date(2026, 9, 21),
        billed_amount=Decimal(billed),
        attempt_number=1,
        frequency_code="1",
        submitted_date=date(2026, 9, 22),
        scrub_passed=True,
        batch_control_number="000000001",
        lines=[ClaimLine(line_number=1, procedure_code="90834", units=1, amount=Decimal(billed))],
        member_id=member_id,
        payer_claim_number=payer_claim_number,
    )
    _, event = build_event(
        "claim.submitted",
        payload,
        source="test",
        subject=claim_id,
        organization_id=organization_id,
        business_date=date(2026, 9, 22),
        correlation_id=f"journey-{claim_id}",
        practice_id=practice_id or uuid.uuid4(),
    )
    return event


async def submit_claim(sessions: Sessions, organization_id: uuid.UUID, claim_id: str, **facts: Any) -> None:
    """A claim.submitted applied through the handler, as the consumer would."""
    event = claim_submitted_event(organization_id, claim_id, **facts)
    async with unit_of_work(sessions, organization_id) as session:
        await HANDLERS["claim.submitted"](session, event)


async def replicate(sessions: Sessions, organization_id: uuid.UUID, entity_id: str, entity: Payload) -> None:
    """A reference entity replicated the way the reference topic delivers it."""
    _, event = build_event(
        "reference.upserted",
        ReferenceUpserted(entity_id=entity_id, entity=entity),
        source="test",
        subject=entity_id,
        organization_id=organization_id,
        business_date=date(2026, 10, 15),
        correlation_id=entity_id,
    )
    async with unit_of_work(sessions, organization_id) as session:
        await REFERENCE_HANDLERS["reference.upserted"](session, event)


async def api_key(
    sessions: Sessions, organization_id: uuid.UUID, scopes: tuple[str, ...] = ("read", "claims:write")
) -> dict[str, str]:
    """Authorization headers of a new key of the organization."""
    key_id, secret, key_hash = generate_api_key()
    await replicate(sessions, organization_id, key_id, ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=[*scopes]))
    return {"Authorization": f"Bearer {secret}"}


async def deliver(client: httpx.AsyncClient, organization_id: uuid.UUID, body: str | bytes) -> httpx.Response:
    """POST an 835 the way the sandbox clearinghouse does (text is sent as UTF-8, bytes as they are)."""
    submitter = str(organization_id)
    raw = body.encode() if isinstance(body, str) else body
    secret = SETTINGS.clearinghouse_secret.get_secret_value()
    return await client.post(
        "/v1/era/clearinghouse",
        content=raw,
        headers={
            "X-Claimflow-Submitter": submitter,
            "X-Claimflow-Signature": delivery_signature(secret, submitter, raw),
            "Content-Type": "application/edi-x12",
        },
    )


async def outbox_events(*keys: str) -> list[dict[str, Any]]:
    """Queued events keyed by these claims (or practices), oldest first (read as the relay's role: the runtime
    role may only add outbox rows)."""
    rows = await outbox_rows(
        load_env(),
        "remittance",
        "SELECT topic, value FROM remittance.outbox WHERE message_key = ANY($1::text[]) ORDER BY id",
        list(keys),
    )
    return [{"topic": row["topic"], **orjson.loads(row["value"])} for row in rows]


async def count(sessions: Sessions, organization_id: uuid.UUID, table: Any) -> int:
    """Rows of a tenant table for the organization."""
    async with unit_of_work(sessions, organization_id) as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def tag() -> str:
    """A short unique suffix for claim ids and traces of one test."""
    return uuid.uuid4().hex[:10].upper()
