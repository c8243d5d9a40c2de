"""Encounter use cases: accept a visit, flag business problems for work queues, publish what downstream needs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain
from intake.common import audit, business_today, invalid, require_master
from intake.encounter_schemas import EncounterAccepted, EncounterIn
from intake.models import encounters, infra, master_records
from shared.auth import Principal
from shared.events.catalogue import build_event
from shared.events.encounter import (
    CoverageSnapshot,
    EncounterFlags,
    EncounterReceived,
    PatientSnapshot,
    PracticeSnapshot,
    ProviderSnapshot,
    SubscriberSnapshot,
    WorkQueueFlag,
)
from shared.outbox import add_event
from shared.problems import Problem


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
    practice = await require_master(session, "practice", body.practice_id, "practice_id")
    provider = await require_master(session, "provider", body.provider_id, "provider_id")
    patient = await require_master(session, "patient", body.patient_id, "patient_id")
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
        payer = await require_master(session, "payer", uuid.UUID(coverage["payer_id"]), "patient_id")
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
        flags=EncounterFlags.model_validate(body.flags.model_dump()),
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
