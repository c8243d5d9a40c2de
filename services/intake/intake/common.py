"""Helpers every intake use case shares: validation problems, the business clock, audit, master-data access.

The master-data functions here are the stable interface encounters use to read (and, for FHIR Bundles, create)
patients, coverages and authorizations.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain
from intake.models import audit_log, business_clocks, infra, master_records
from shared.auth import Principal
from shared.events import reference
from shared.events.catalogue import build_event
from shared.outbox import add_event
from shared.problems import Problem

REPLICATED = {"practice", "provider", "payer"}


def invalid(field: str, reason: str) -> Problem:
    """A 422 problem naming one field."""
    return Problem(
        422,
        "Request is invalid",
        f"{field}: {reason}",
        errors=[{"field": field, "reason": reason}],
        problem_type="urn:claimflow:problem:validation",
    )


async def business_today(session: AsyncSession, organization_id: uuid.UUID) -> date:
    """The organization's business date: pinned for demos and tests, the wall clock otherwise."""
    pinned = await session.scalar(
        select(business_clocks.c.business_date).where(business_clocks.c.organization_id == organization_id)
    )
    return pinned or datetime.now(UTC).date()


async def pin_business_date(session: AsyncSession, organization_id: uuid.UUID, business_date: date) -> None:
    """Pin the organization's business date."""
    statement = pg_insert(business_clocks).values(organization_id=organization_id, business_date=business_date)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["organization_id"], set_={"business_date": business_date})
    )


async def audit(
    session: AsyncSession, principal: Principal, action: str, resource_type: str, resource_id: object
) -> None:
    """Append an audit row for an access to patient data."""
    await session.execute(
        audit_log.insert().values(
            organization_id=principal.organization_id,
            actor=f"api_key:{principal.key_id}",
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id),
        )
    )


async def publish_reference(
    session: AsyncSession,
    organization_id: uuid.UUID,
    entity_id: str,
    entity: reference.ReferenceEntity,
    business_date: date,
) -> None:
    """Queue a reference upsert on the compacted topic."""
    topic, event = build_event(
        "reference.upserted",
        reference.ReferenceUpserted(entity_id=entity_id, entity=entity),
        source="intake",
        subject=entity_id,
        organization_id=organization_id,
        business_date=business_date,
        correlation_id=entity_id,
    )
    await add_event(session, infra, topic, event)


async def master_record(session: AsyncSession, entity_type: str, entity_id: uuid.UUID) -> dict[str, Any] | None:
    """A live master-data record of the session's organization."""
    row = (
        await session.execute(
            select(master_records.c.attributes).where(
                master_records.c.entity_type == entity_type,
                master_records.c.entity_id == entity_id,
                master_records.c.deleted.is_(False),
            )
        )
    ).first()
    return dict(row.attributes) if row else None


async def require_master(session: AsyncSession, entity_type: str, entity_id: uuid.UUID, field: str) -> dict[str, Any]:
    """A referenced record of the caller's organization, or a 422 naming the field."""
    record = await master_record(session, entity_type, entity_id)
    if record is None:
        raise invalid(field, f"no {entity_type} {entity_id} in this organization")
    return record


async def create_master(
    session: AsyncSession, principal: Principal, entity_type: str, attributes: dict[str, Any]
) -> uuid.UUID:
    """Validate references and identifiers, store a master-data record, replicate what other services need."""
    if "npi" in attributes and not domain.npi_is_valid(attributes["npi"]):
        raise invalid("npi", "NPI check digit is wrong (Luhn with prefix 80840)")
    for field, referenced in (("practice_id", "practice"), ("patient_id", "patient"), ("payer_id", "payer")):
        if field in attributes:
            await require_master(session, referenced, uuid.UUID(str(attributes[field])), field)
    for index, payer_id in enumerate(attributes.get("credentialed_payer_ids", [])):
        await require_master(session, "payer", uuid.UUID(str(payer_id)), f"credentialed_payer_ids.{index}")
    if "practice_id" in attributes and not principal.may_access_practice(uuid.UUID(str(attributes["practice_id"]))):
        raise invalid("practice_id", "this API key is not allowed for that practice")
    entity_id = uuid.uuid4()
    await session.execute(
        master_records.insert().values(
            organization_id=principal.organization_id,
            entity_type=entity_type,
            entity_id=entity_id,
            attributes=attributes,
            deleted=False,
        )
    )
    if entity_type in REPLICATED:
        entity_class = {
            "practice": reference.PracticeRef,
            "provider": reference.ProviderRef,
            "payer": reference.PayerRef,
        }[entity_type]
        await publish_reference(
            session,
            principal.organization_id,
            str(entity_id),
            entity_class.model_validate(attributes),  # type: ignore[attr-defined]
            await business_today(session, principal.organization_id),
        )
    if entity_type in {"patient", "coverage"}:
        await audit(session, principal, "create", entity_type, entity_id)
    return entity_id
