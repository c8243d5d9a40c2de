"""Helpers of the analytics API tests: lifecycle events and reference data stored the way the consumers store them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
from analytics.handlers import HANDLERS, REFERENCE_HANDLERS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import generate_api_key
from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.envelope import Envelope
from shared.events.reference import Address, ApiKeyRef, PayerRef, PracticeRef, ProviderRef, ReferenceUpserted

ADDRESS = Address(line1="1 Main St", city="Springfield", state="IL", postal_code="62701")


async def feed(sessions: async_sessionmaker[AsyncSession], events: list[Envelope]) -> None:
    """Apply each event's handler in its own unit of work, as the consumer does."""
    for event in events:
        async with unit_of_work(sessions, event.organizationid) as session:
            await HANDLERS[event.type](session, event)


async def api_key_for(sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID) -> str:
    """A read key of the organization, replicated the way the reference topic delivers it."""
    return (await api_key_with_id(sessions, organization_id))[1]


async def api_key_with_id(sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID) -> tuple[str, str]:
    """(key id, secret) of a new read key of the organization, replicated as the reference topic delivers it."""
    key_id, secret, key_hash = generate_api_key()
    _, event = build_event(
        "reference.upserted",
        ReferenceUpserted(entity_id=key_id, entity=ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=["read"])),
        source="test",
        subject=key_id,
        organization_id=organization_id,
        business_date=date(2026, 10, 31),
        correlation_id=key_id,
    )
    async with unit_of_work(sessions, organization_id) as session:
        await REFERENCE_HANDLERS["reference.upserted"](session, event)
    return key_id, secret


async def replicate(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, entity_id: uuid.UUID | str, entity: Any
) -> None:
    """A practice, provider or payer of the organization, replicated the way the reference topic delivers it."""
    _, event = build_event(
        "reference.upserted",
        ReferenceUpserted(entity_id=str(entity_id), entity=entity),
        source="test",
        subject=str(entity_id),
        organization_id=organization_id,
        business_date=date(2026, 10, 31),
        correlation_id=str(entity_id),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await REFERENCE_HANDLERS["reference.upserted"](session, event)


async def replicate_master_data(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    *,
    practice_id: uuid.UUID,
    provider_id: uuid.UUID,
    payer_id: uuid.UUID,
) -> None:
    """A practice with one provider and a payer in the organization's reference replica."""
    await replicate(
        sessions,
        organization_id,
        practice_id,
        PracticeRef(name="P", npi="1234567893", tin="123456789", taxonomy="x", address=ADDRESS),
    )
    await replicate(
        sessions,
        organization_id,
        provider_id,
        ProviderRef(
            practice_id=practice_id, first_name="A", last_name="B", npi="1234567893", taxonomy="x", license_type="LCSW"
        ),
    )
    await replicate(sessions, organization_id, payer_id, PayerRef(name="Payer", x12_payer_id="X1"))


def kpi(report: dict, name: str, variant: str | None = None) -> dict:
    """One KPI of a report by name and variant."""
    return next(k for k in report["kpis"] if k["name"] == name and k["variant"] == variant)


def forged_token(secret: bytes, organization_id: uuid.UUID, key_id: str, *, lifetime: timedelta) -> str:
    """A dashboard token made by hand, signed with the given key."""
    body = orjson.dumps(
        {
            "org": str(organization_id),
            "key": key_id,
            "limit": [],
            "practice": None,
            "as_of": None,
            "exp": int((datetime.now(UTC) + lifetime).timestamp()),
        }
    )
    encode = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return f"{encode(body)}.{encode(hmac.new(secret, body, hashlib.sha256).digest())}"


def refused_as_intake_refuses(response: httpx.Response, field: str, kind: str, entity_id: uuid.UUID) -> None:
    """The answer intake gives a request naming another organization's (or an unknown) id: 422 naming the field."""
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (problem["title"], problem["type"]) == ("Request is invalid", "urn:claimflow:problem:validation")
    reason = f"no {kind} {entity_id} in this organization"
    assert [(e["field"], e["reason"], e.get("pointer", f"/{field}")) for e in problem["errors"]] == [
        (field, reason, f"/{field}")
    ]
