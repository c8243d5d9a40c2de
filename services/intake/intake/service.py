"""Intake use cases: organizations and keys, master data, encounters. Never commits (the boundary does)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain
from intake.models import (
    audit_log,
    business_clocks,
    encounters,
    infra,
    issued_api_keys,
    master_records,
    organizations,
)
from intake.schemas import ApiKeyCreated, EncounterAccepted, EncounterIn
from shared.auth import Principal, generate_api_key
from shared.events import reference
from shared.events.catalogue import build_event
from shared.events.encounter import (
    CoverageSnapshot,
    EncounterReceived,
    PatientSnapshot,
    PracticeSnapshot,
    ProviderSnapshot,
    SubscriberSnapshot,
    WorkQueueFlag,
)
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


async def _publish_reference(
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


async def create_organization(session: AsyncSession, organization_id: uuid.UUID, name: str) -> ApiKeyCreated:
    """Create an organization and its first admin key."""
    await session.execute(organizations.insert().values(organization_id=organization_id, name=name))
    today = await business_today(session, organization_id)
    await _publish_reference(
        session, organization_id, str(organization_id), reference.OrganizationRef(name=name), today
    )
    return await create_api_key(session, organization_id, scopes=["admin"], practice_ids=[], label="first admin key")


async def create_api_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    scopes: list[str],
    practice_ids: list[uuid.UUID],
    label: str | None,
) -> ApiKeyCreated:
    """Issue a key (hash stored and replicated; the secret is returned once)."""
    key_id, secret, key_hash = generate_api_key()
    await session.execute(
        issued_api_keys.insert().values(
            key_id=key_id,
            organization_id=organization_id,
            key_hash=key_hash,
            scopes=scopes,
            practice_ids=[str(p) for p in practice_ids],
            label=label,
            revoked=False,
        )
    )
    await _publish_reference(
        session,
        organization_id,
        f"api_key:{key_id}",
        reference.ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=scopes, practice_ids=practice_ids),
        await business_today(session, organization_id),
    )
    return ApiKeyCreated(key_id=key_id, api_key=secret, scopes=scopes, organization_id=organization_id)


async def revoke_api_key(session: AsyncSession, organization_id: uuid.UUID, key_id: str) -> bool:
    """Revoke a key of the organization; False when it does not exist there."""
    row = (await session.execute(select(issued_api_keys).where(issued_api_keys.c.key_id == key_id))).first()
    if row is None:
        return False
    await session.execute(issued_api_keys.update().where(issued_api_keys.c.key_id == key_id).values(revoked=True))
    await _publish_reference(
        session,
        organization_id,
        f"api_key:{key_id}",
        reference.ApiKeyRef(
            key_id=key_id,
            key_hash=row.key_hash,
            scopes=list(row.scopes),
            practice_ids=[uuid.UUID(p) for p in row.practice_ids],
            revoked=True,
        ),
        await business_today(session, organization_id),
    )
    return True


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


async def _require(session: AsyncSession, entity_type: str, entity_id: uuid.UUID, field: str) -> dict[str, Any]:
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
            await _require(session, referenced, uuid.UUID(str(attributes[field])), field)
    for index, payer_id in enumerate(attributes.get("credentialed_payer_ids", [])):
        await _require(session, "payer", uuid.UUID(str(payer_id)), f"credentialed_payer_ids.{index}")
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
        await _publish_reference(
            session,
            principal.organization_id,
            str(entity_id),
            entity_class.model_validate(attributes),  # type: ignore[attr-defined]
            await business_today(session, principal.organization_id),
        )
    if entity_type in {"patient", "coverage"}:
        await audit(session, principal, "create", entity_type, entity_id)
    return entity_id


async def _coverage_for(
    session: AsyncSession, patient_id: uuid.UUID, on: date
) -> tuple[dict[str, Any], uuid.UUID] | None:
    """The patient's primary coverage active on a date, else the latest primary one (flagged later)."""
    rows = (
        await session.execute(
            select(master_records.c.entity_id, master_records.c.attributes).where(
                master_records.c.entity_type == "coverage",
                master_records.c.deleted.is_(False),
                master_records.c.attributes["patient_id"].astext == str(patient_id),
            )
        )
    ).all()
    primaries = [(dict(r.attributes), r.entity_id) for r in rows if r.attributes.get("priority") == "primary"]
    for attributes, coverage_id in primaries:
        end = date.fromisoformat(attributes["end_date"]) if attributes.get("end_date") else None
        if domain.coverage_active(date.fromisoformat(attributes["start_date"]), end, on):
            return attributes, coverage_id
    return max(primaries, key=lambda c: c[0]["start_date"]) if primaries else None


async def receive_encounter(
    session: AsyncSession, principal: Principal, body: EncounterIn, correlation_id: str
) -> tuple[EncounterAccepted, bool]:
    """Accept an encounter (flagging business problems for work queues); (result, created?)."""
    if not principal.may_access_practice(body.practice_id):
        raise invalid("practice_id", "this API key is not allowed for that practice")
    existing = (
        await session.execute(
            select(encounters).where(
                encounters.c.practice_id == body.practice_id,
                encounters.c.ehr_encounter_id == body.ehr_encounter_id,
            )
        )
    ).first()
    if existing is not None:
        return _accepted(existing), False
    practice = await _require(session, "practice", body.practice_id, "practice_id")
    provider = await _require(session, "provider", body.provider_id, "provider_id")
    patient = await _require(session, "patient", body.patient_id, "patient_id")
    if provider["practice_id"] != str(body.practice_id):
        raise invalid("provider_id", "provider does not belong to that practice")
    if patient["practice_id"] != str(body.practice_id):
        raise invalid("patient_id", "patient does not belong to that practice")
    flags: list[WorkQueueFlag] = []
    problems = []
    for index, code in enumerate(body.diagnoses):
        status = domain.diagnosis_status(code, body.date_of_service)
        if status == "unknown":
            problems.append({"field": f"diagnoses.{index}", "reason": f"'{code}' is not an ICD-10-CM code"})
        elif status == "not_billable":
            flags.append(
                WorkQueueFlag(
                    queue="coding",
                    reason_code="DX-NOT-BILLABLE",
                    reason=f"diagnosis {code} is a category, not a billable code",
                )
            )
        elif status == "beyond_code_set":
            flags.append(
                WorkQueueFlag(
                    queue="coding",
                    reason_code="DX-CODE-SET-PENDING",
                    reason=f"diagnosis {code} checked against FY2026; newer code set not loaded",
                )
            )
    if body.date_of_service < domain.ICD10_START:
        problems.append({"field": "date_of_service", "reason": "ICD-10-CM requires dates of service from 2015-10-01"})
    if problems:
        raise Problem(
            422,
            "Request is invalid",
            "; ".join(f"{p['field']}: {p['reason']}" for p in problems),
            errors=problems,
            problem_type="urn:claimflow:problem:validation",
        )
    if body.service_type == "psychotherapy" and body.minutes.psychotherapy is None:
        flags.append(
            WorkQueueFlag(
                queue="coding",
                reason_code="MINUTES-MISSING",
                reason="psychotherapy minutes are not documented",
            )
        )
    coverage_snapshot = None
    found = await _coverage_for(session, body.patient_id, body.date_of_service)
    if found is None:
        flags.append(
            WorkQueueFlag(
                queue="eligibility",
                reason_code="NO-COVERAGE",
                reason="patient has no primary coverage on file",
            )
        )
    else:
        coverage, coverage_id = found
        payer = await _require(session, "payer", uuid.UUID(coverage["payer_id"]), "patient_id")
        end = date.fromisoformat(coverage["end_date"]) if coverage.get("end_date") else None
        active = domain.coverage_active(date.fromisoformat(coverage["start_date"]), end, body.date_of_service)
        if not active:
            flags.append(
                WorkQueueFlag(
                    queue="eligibility",
                    reason_code="COVERAGE-INACTIVE",
                    reason="coverage is not active on the date of service",
                )
            )
        subscriber = coverage.get("subscriber")
        coverage_snapshot = CoverageSnapshot(
            coverage_id=coverage_id,
            payer_id=uuid.UUID(coverage["payer_id"]),
            x12_payer_id=payer["x12_payer_id"],
            payer_name=payer["name"],
            member_id=coverage["member_id"],
            group_number=coverage.get("group_number"),
            priority=coverage["priority"],
            relationship=coverage["relationship"],
            subscriber=SubscriberSnapshot.model_validate(subscriber) if subscriber else None,
            active_on_date_of_service=active,
            copay=coverage.get("copay"),
        )
    encounter_id = uuid.uuid4()
    today = await business_today(session, principal.organization_id)
    facts = EncounterReceived(
        encounter_id=encounter_id,
        ehr_encounter_id=body.ehr_encounter_id,
        date_of_service=body.date_of_service,
        service_type=body.service_type,
        place_of_care=body.place_of_care,
        patient_at_home=body.patient_at_home,
        minutes=body.minutes,
        mdm_level=body.mdm_level,
        diagnoses=body.diagnoses,
        flags=body.flags,
        practice=PracticeSnapshot(
            practice_id=body.practice_id, **_pick(practice, "name", "npi", "tin", "taxonomy", "address")
        ),
        provider=ProviderSnapshot(
            provider_id=body.provider_id,
            **_pick(provider, "npi", "first_name", "last_name", "taxonomy", "license_type"),
        ),
        patient=PatientSnapshot(
            patient_id=body.patient_id,
            **_pick(patient, "first_name", "last_name", "birth_date", "sex", "address"),
        ),
        coverage=coverage_snapshot,
        work_queue_flags=flags,
    )
    await session.execute(
        encounters.insert().values(
            organization_id=principal.organization_id,
            encounter_id=encounter_id,
            practice_id=body.practice_id,
            ehr_encounter_id=body.ehr_encounter_id,
            patient_id=body.patient_id,
            date_of_service=body.date_of_service,
            status="received",
            received_date=today,
            snapshot=facts.model_dump(mode="json"),
            work_queue_flags=[f.model_dump(mode="json") for f in flags],
        )
    )
    topic, event = build_event(
        "encounter.received",
        facts,
        source="intake",
        subject=str(encounter_id),
        organization_id=principal.organization_id,
        business_date=today,
        correlation_id=correlation_id,
        practice_id=body.practice_id,
    )
    await add_event(session, infra, topic, event)
    await audit(session, principal, "create", "encounter", encounter_id)
    return EncounterAccepted(
        encounter_id=encounter_id,
        ehr_encounter_id=body.ehr_encounter_id,
        status="received",
        received_date=today,
        work_queue_flags=[f.model_dump() for f in flags],
    ), True


def _accepted(row: Any) -> EncounterAccepted:
    """The acceptance answer of a stored encounter."""
    return EncounterAccepted(
        encounter_id=row.encounter_id,
        ehr_encounter_id=row.ehr_encounter_id,
        status=row.status,
        received_date=row.received_date,
        work_queue_flags=list(row.work_queue_flags),
    )


def _pick(record: dict[str, Any], *names: str) -> dict[str, Any]:
    """Selected attributes of a stored record."""
    return {name: record[name] for name in names}


async def encounter_by_id(session: AsyncSession, encounter_id: uuid.UUID) -> EncounterAccepted | None:
    """A stored encounter of the session's organization."""
    row = (await session.execute(select(encounters).where(encounters.c.encounter_id == encounter_id))).first()
    return _accepted(row) if row else None
