"""Encounter use cases: accept visits, flag business problems for work queues, publish what downstream needs."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake import domain
from intake.common import (
    AUDIT_COLUMNS,
    audit,
    audit_row,
    business_date_of,
    business_today,
    invalid,
    pinned_business_date,
)
from intake.encounter_schemas import (
    EncounterAccepted,
    EncounterIn,
    EncounterView,
    WorkQueueFlagOut,
)
from intake.models import audit_log, encounters, infra
from intake.visit_records import (
    VisitRecords,
    master_parameters,
    master_records_of_visit,
    visit_records,
    visit_records_of,
)
from shared import icd10
from shared.auth import Principal
from shared.db import bound, bound_insert_for_each, prefixed
from shared.events.catalogue import build_event
from shared.events.encounter import (
    AuthorizationSnapshot,
    CoverageSnapshot,
    EncounterCancelled,
    EncounterFacts,
    EncounterFlags,
    EncounterReceived,
    Minutes,
    PatientSnapshot,
    PracticeSnapshot,
    ProviderSnapshot,
    SubscriberSnapshot,
    WorkQueueFlag,
)
from shared.events.envelope import Envelope
from shared.outbox import OUTBOX_COLUMNS, outbox_row
from shared.problems import Problem, invalid_fields


def _flag(queue: str, reason_code: str, reason: str) -> WorkQueueFlag:
    """A work-queue flag."""
    return WorkQueueFlag.model_validate({"queue": queue, "reason_code": reason_code, "reason": reason})


def check_diagnoses(
    diagnoses: Sequence[str], date_of_service: date, releases: Sequence[icd10.CodeRelease]
) -> tuple[list[str], list[WorkQueueFlag]]:
    """Normalized diagnoses and their coding holds; a 422 naming each code that exists in no code set."""
    codes, findings, problems = icd10.diagnosis_list_problems(diagnoses, date_of_service, releases)
    if problems:
        raise invalid_fields(problems)
    flags = [_flag("coding", f.reason_code, f.reason) for f in findings if f.outcome == "held"]
    return codes, flags


async def _coverage_and_authorization(
    session: AsyncSession, body: EncounterIn, records: VisitRecords, encounter_id: uuid.UUID
) -> tuple[CoverageSnapshot | None, AuthorizationSnapshot | None, list[WorkQueueFlag]]:
    """Coverage active on the date of service, the authorization on file, and the queue flags they raise."""
    dos = body.date_of_service
    chosen = domain.choose_coverage(records.coverages, dos)
    coverage = chosen[1] if chosen else None
    active = bool(chosen and chosen[2])
    flags = [_flag("eligibility", code, why) for code, why in domain.eligibility_reasons(coverage, active, dos)]
    if chosen is None or coverage is None:
        return None, None, flags
    coverage_id = chosen[0]
    payer_id = str(coverage["payer_id"])
    payer = records.payers.get(uuid.UUID(payer_id))
    if payer is None:
        raise invalid("patient_id", f"no payer {payer_id} in this organization")
    subscriber = coverage.get("subscriber")
    coverage_snapshot = CoverageSnapshot(
        coverage_id=coverage_id,
        payer_id=uuid.UUID(payer_id),
        x12_payer_id=payer["x12_payer_id"],
        payer_name=payer["name"],
        member_id=coverage["member_id"],
        group_number=coverage.get("group_number"),
        priority=coverage.get("priority", "primary"),
        relationship=coverage.get("relationship", "self"),
        subscriber=SubscriberSnapshot.model_validate(subscriber) if subscriber else None,
        active_on_date_of_service=active,
        plan_start_date=coverage["start_date"],
        plan_end_date=coverage.get("end_date"),
        copay=coverage.get("copay"),
        coinsurance_percent=coverage.get("coinsurance_percent"),
        deductible=coverage.get("deductible"),
    )
    candidates = [
        (authorization_id, record)
        for authorization_id, record in records.authorizations
        if domain.authorization_covers(record, payer_id, dos, body.service_type)
    ]
    found = domain.choose_authorization(candidates)
    authorization = None
    if found is not None:
        authorization_id, record = found
        authorization = AuthorizationSnapshot(
            authorization_id=authorization_id,
            payer_id=uuid.UUID(payer_id),
            number=record["number"],
            units_approved=int(record.get("units_approved", 0)),
            units_used=int(record.get("units_used", 0)),
            start_date=record["start_date"],
            end_date=record["end_date"],
            service_codes=list(record.get("service_codes") or []),
        )
    else:
        profile = domain.profile_in_force(payer.get("profiles") or [], dos)
        policy = (profile or {}).get("authorization")
        earlier = 0
        if policy and policy.get("mode") == "after_visits":
            earlier = await _earlier_visits_this_year(session, body.patient_id, payer_id, dos, encounter_id)
        needed = domain.authorization_required(policy, body.service_type, earlier)
        if needed:
            flags.append(_flag("authorization", "AUTH-MISSING", f"{needed}; none on file for {dos}"))
    return coverage_snapshot, authorization, flags


async def _earlier_visits_this_year(
    session: AsyncSession, patient_id: uuid.UUID, payer_id: str, on: date, encounter_id: uuid.UUID
) -> int:
    """The patient's other visits billed to the payer from January 1 up to the date of service."""
    count = await session.scalar(
        select(func.count())
        .select_from(encounters)
        .where(
            encounters.c.patient_id == patient_id,
            encounters.c.status != "cancelled",
            encounters.c.encounter_id != encounter_id,
            encounters.c.date_of_service.between(date(on.year, 1, 1), on),
            encounters.c.snapshot["coverage"]["payer_id"].astext == payer_id,
        )
    )
    return int(count or 0)


async def evaluate(
    session: AsyncSession,
    principal: Principal,
    body: EncounterIn,
    releases: Sequence[icd10.CodeRelease],
    encounter_id: uuid.UUID,
    records: VisitRecords | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Validate a visit and gather the facts downstream needs (the fields of EncounterFacts); the master data and
    the business date are read unless the caller has read them already."""
    if not principal.may_access_practice(body.practice_id):
        raise invalid("practice_id", "this API key is not allowed for that practice")
    if today is None:
        today = await business_today(session, principal.organization_id)
    if body.date_of_service > today:
        raise invalid("date_of_service", f"a visit cannot be dated after the business date ({today})")
    if records is None:
        records = await visit_records(session, body)
    practice, provider, patient = records.required(body)
    if str(provider.get("practice_id")) != str(body.practice_id):
        raise invalid("provider_id", "provider does not belong to that practice")
    if str(patient.get("practice_id")) != str(body.practice_id):
        raise invalid("patient_id", "patient does not belong to that practice")
    diagnoses, flags = check_diagnoses(body.diagnoses, body.date_of_service, releases)
    minutes = body.minutes.model_dump()
    missing = domain.missing_minutes(body.service_type, minutes, body.mdm_level)
    if missing:
        flags.append(_flag("coding", "MINUTES-MISSING", missing))
    coverage, authorization, coverage_flags = await _coverage_and_authorization(session, body, records, encounter_id)
    return {
        "encounter_id": encounter_id,
        "ehr_encounter_id": body.ehr_encounter_id,
        "date_of_service": body.date_of_service,
        "service_type": body.service_type,
        "place_of_care": body.place_of_care,
        "patient_at_home": body.patient_at_home,
        "minutes": Minutes.model_validate(minutes),
        "mdm_level": body.mdm_level,
        "diagnoses": diagnoses,
        "flags": EncounterFlags.model_validate(body.flags.model_dump()),
        "practice": PracticeSnapshot(
            practice_id=body.practice_id, **_pick(practice, "name", "npi", "tin", "taxonomy", "address")
        ),
        "provider": ProviderSnapshot(
            provider_id=body.provider_id,
            **_pick(provider, "npi", "first_name", "last_name", "taxonomy", "license_type"),
        ),
        "patient": PatientSnapshot(
            patient_id=body.patient_id,
            **_pick(patient, "first_name", "last_name", "birth_date", "sex", "address"),
        ),
        "coverage": coverage,
        "authorization": authorization,
        "work_queue_flags": flags + coverage_flags,
    }


VISIT_COLUMNS = (
    "organization_id",
    "encounter_id",
    "practice_id",
    "ehr_encounter_id",
    "patient_id",
    "date_of_service",
    "status",
    "received_date",
    "snapshot",
    "work_queue_flags",
)


@functools.cache
def _copy_and_master_records() -> Select[Any]:
    """An earlier copy of the visit, the business date and the visit's master data (`master_records_of_visit`),
    built once: every visit sends it."""
    organization_id = bindparam("visit_organization_id", type_=encounters.c.organization_id.type)
    anchor = select(pinned_business_date(organization_id).label("pinned_date")).subquery("anchor")
    master = master_records_of_visit().subquery("master")
    return (
        select(anchor.c.pinned_date, encounters, master.c.entity_type, master.c.entity_id, master.c.attributes)
        .select_from(
            anchor.outerjoin(
                encounters,
                and_(
                    encounters.c.practice_id == bindparam("copy_practice_id", type_=encounters.c.practice_id.type),
                    encounters.c.ehr_encounter_id
                    == bindparam("copy_ehr_encounter_id", type_=encounters.c.ehr_encounter_id.type),
                ),
            ).outerjoin(master, encounters.c.encounter_id.is_(None))
        )
        .order_by(master.c.entity_id)
    )


@functools.cache
def _store_visit() -> Select[tuple[uuid.UUID]]:
    """The visit, its event and its audit row in one statement, built once (every accepted visit sends it): the
    event and the audit row are written only with the visit, which a concurrent copy of it leaves unwritten."""
    stored_visit = (
        pg_insert(encounters)
        .values(bound(encounters, "visit_", VISIT_COLUMNS))
        .on_conflict_do_nothing(index_elements=["organization_id", "practice_id", "ehr_encounter_id"])
        .returning(encounters.c.encounter_id)
        .cte("stored_visit")
    )
    return select(stored_visit.c.encounter_id).add_cte(
        bound_insert_for_each(infra.outbox, stored_visit, "event_", OUTBOX_COLUMNS).cte("queued_event"),
        bound_insert_for_each(audit_log, stored_visit, "audit_", AUDIT_COLUMNS).cte("audited"),
    )


async def receive_encounter(
    session: AsyncSession,
    principal: Principal,
    body: EncounterIn,
    correlation_id: str,
    releases: Sequence[icd10.CodeRelease],
) -> tuple[EncounterAccepted, bool]:
    """Accept an encounter (flagging business problems for work queues); (result, created?)."""
    if not principal.may_access_practice(body.practice_id):
        raise invalid("practice_id", "this API key is not allowed for that practice")
    # An earlier copy of the visit, the business date and (when there is no copy) the master data the visit is
    # checked against, in one round trip: a row per master record, each with the date and the copy's columns (a
    # single row with the copy, or with nulls when there is neither copy nor master data).
    parameters = {
        "visit_organization_id": principal.organization_id,
        "copy_practice_id": body.practice_id,
        "copy_ehr_encounter_id": body.ehr_encounter_id,
    }
    rows = (await session.execute(_copy_and_master_records(), parameters | master_parameters(body))).all()
    existing = rows[0]
    if existing.encounter_id is not None:
        await audit(session, principal, "read", "encounter", existing.encounter_id)
        return _accepted(existing), False
    encounter_id = uuid.uuid4()
    records = visit_records_of(body, [row for row in rows if row.entity_type is not None])
    today = business_date_of(existing.pinned_date)
    facts = EncounterReceived.model_validate(
        await evaluate(session, principal, body, releases, encounter_id, records, today)
    )
    # The visit, its event and the audit row in one statement; the event and the audit row are written only with
    # the visit, so when the visit is already there (a concurrent copy) the 409 leaves nothing behind: a Problem
    # from here means this call wrote nothing, which is what lets a batch do without a savepoint per item.
    topic, event = intake_event(principal, "encounter.received", facts, today, correlation_id, body.practice_id)
    visit = {
        "organization_id": principal.organization_id,
        "encounter_id": encounter_id,
        "practice_id": body.practice_id,
        "ehr_encounter_id": body.ehr_encounter_id,
        "patient_id": body.patient_id,
        "date_of_service": body.date_of_service,
        "status": "received",
        "received_date": today,
        "snapshot": facts.model_dump(mode="json"),
        "work_queue_flags": [f.model_dump(mode="json") for f in facts.work_queue_flags],
    }
    stored = await session.scalar(
        _store_visit(),
        prefixed("visit_", visit)
        | prefixed("event_", outbox_row(topic, event))
        | prefixed("audit_", audit_row(principal, "create", "encounter", encounter_id)),
    )
    if stored is None:
        raise Problem(
            409,
            "Encounter is being received",
            f"encounter {body.ehr_encounter_id} of this practice arrived twice at once; retry to get the stored one",
        )
    return EncounterAccepted(
        encounter_id=encounter_id,
        ehr_encounter_id=body.ehr_encounter_id,
        status="received",
        received_date=today,
        work_queue_flags=_flags_out(facts.work_queue_flags),
    ), True


def intake_event(
    principal: Principal,
    event_type: str,
    payload: EncounterFacts | EncounterCancelled,
    today: date,
    correlation_id: str,
    practice_id: uuid.UUID,
) -> tuple[str, Envelope]:
    """A patient-intake event keyed by the encounter id, and its topic."""
    return build_event(
        event_type,
        payload,
        source="intake",
        subject=str(payload.encounter_id),
        organization_id=principal.organization_id,
        business_date=today,
        correlation_id=correlation_id,
        practice_id=practice_id,
    )


def _flags_out(flags: Sequence[WorkQueueFlag | dict[str, Any]]) -> list[WorkQueueFlagOut]:
    """Work-queue flags as the API shows them."""
    return [WorkQueueFlagOut.model_validate(f.model_dump() if isinstance(f, WorkQueueFlag) else f) for f in flags]


def _accepted(row: Any) -> EncounterAccepted:
    """The acceptance answer of a stored encounter."""
    return EncounterAccepted(
        encounter_id=row.encounter_id,
        ehr_encounter_id=row.ehr_encounter_id,
        status=row.status,
        received_date=row.received_date,
        work_queue_flags=_flags_out(list(row.work_queue_flags)),
    )


def _pick(record: dict[str, Any], *names: str) -> dict[str, Any]:
    """Selected attributes of a stored record."""
    return {name: record.get(name) for name in names}


async def encounter_view(
    session: AsyncSession, encounter_id: uuid.UUID, principal: Principal | None = None
) -> EncounterView | None:
    """A stored encounter of the session's organization (None when absent or outside the key's practices)."""
    row = (await session.execute(select(encounters).where(encounters.c.encounter_id == encounter_id))).first()
    if row is None or (principal is not None and not principal.may_access_practice(row.practice_id)):
        return None
    return EncounterView(
        **_accepted(row).model_dump(),
        practice_id=row.practice_id,
        patient_id=row.patient_id,
        date_of_service=row.date_of_service,
        service_type=row.snapshot["service_type"],
        amendment_number=int(row.snapshot.get("amendment_number", 0)),
        diagnoses=list(row.snapshot["diagnoses"]),
    )
