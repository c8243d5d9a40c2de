"""Helpers every intake use case shares: validation problems, the business clock, audit, master-data access.

The master-data functions here are the stable interface encounters use to read (and, for FHIR Bundles, create)
patients, coverages and authorizations; the master-data endpoints write through the same checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import and_, delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from intake import master_domain
from intake.master_kinds import KINDS, MasterKind
from intake.models import audit_log, business_clocks, infra, master_records
from intake.schemas import MasterIn
from shared.auth import Principal
from shared.events import reference
from shared.events.catalogue import build_event
from shared.outbox import add_event
from shared.problems import Problem, field_errors, invalid_fields

REPLICATED = {kind.entity_type for kind in KINDS.values() if kind.replicated_as is not None}


def invalid(field: str, reason: str) -> Problem:
    """A 422 problem naming one field."""
    return invalid_fields([(field, reason)])


def conflict(field: str, reason: str) -> Problem:
    """A 409 problem: the request is well formed but clashes with records already stored."""
    return Problem(
        409,
        "Conflict",
        f"{field}: {reason}",
        errors=[{"field": field, "reason": reason}],
        problem_type="urn:claimflow:problem:conflict",
    )


def not_found(entity_type: str, entity_id: object) -> Problem:
    """A 404 problem; another organization's ids answer the same as ids that never existed."""
    return Problem(404, "Not Found", f"{entity_type} {entity_id} not found")


async def business_today(session: AsyncSession, organization_id: uuid.UUID) -> date:
    """The organization's business date: pinned for demos and tests, the wall clock otherwise."""
    return business_date_of(await session.scalar(select(pinned_business_date(organization_id))))


def pinned_business_date(organization_id: uuid.UUID | BindParameter[uuid.UUID]) -> ScalarSelect[date]:
    """SQL for the organization's pinned business date (null when it follows the wall clock)."""
    query = select(business_clocks.c.business_date).where(business_clocks.c.organization_id == organization_id)
    return query.scalar_subquery()


def business_date_of(pinned: date | None) -> date:
    """The business date: the pinned one, else the wall clock's."""
    return pinned or datetime.now(UTC).date()


async def pin_business_date(session: AsyncSession, organization_id: uuid.UUID, business_date: date) -> None:
    """Pin the organization's business date."""
    statement = pg_insert(business_clocks).values(organization_id=organization_id, business_date=business_date)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["organization_id"], set_={"business_date": business_date})
    )


async def unpin_business_date(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Let the organization's business date follow the wall clock again."""
    await session.execute(delete(business_clocks).where(business_clocks.c.organization_id == organization_id))


async def audit(
    session: AsyncSession, principal: Principal, action: str, resource_type: str, resource_id: object
) -> None:
    """Append an audit row for an access to patient data (who, organization, action, resource; the time is now)."""
    await session.execute(audit_log.insert().values(**audit_row(principal, action, resource_type, resource_id)))


AUDIT_COLUMNS = ("organization_id", "actor", "actor_user_id", "action", "resource_type", "resource_id")


def audit_row(principal: Principal, action: str, resource_type: str, resource_id: object) -> dict[str, Any]:
    """An audit row's values."""
    return {
        "organization_id": principal.organization_id,
        "actor": f"api_key:{principal.key_id}",
        "actor_user_id": principal.user_id,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
    }


async def audit_many(
    session: AsyncSession, principal: Principal, action: str, resource_type: str, resource_ids: Sequence[object]
) -> None:
    """Append one audit row per record of a list of patient data, in one statement."""
    if not resource_ids:
        return
    await session.execute(
        audit_log.insert(),
        [audit_row(principal, action, resource_type, resource_id) for resource_id in resource_ids],
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


async def publish_reference_deleted(
    session: AsyncSession, organization_id: uuid.UUID, entity_id: str, entity_type: str, business_date: date
) -> None:
    """Queue a reference deletion on the compacted topic (same key as the entity's upserts)."""
    topic, event = build_event(
        "reference.deleted",
        reference.ReferenceDeleted(entity_id=entity_id, entity_type=entity_type),
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


async def require_masters(session: AsyncSession, wanted: list[tuple[str, uuid.UUID, str]]) -> list[dict[str, Any]]:
    """Several referenced records of the caller's organization in one query, in the order asked for; a 422
    naming the first (entity type, id, field) that is missing."""
    rows = (
        await session.execute(
            select(master_records.c.entity_type, master_records.c.entity_id, master_records.c.attributes).where(
                tuple_(master_records.c.entity_type, master_records.c.entity_id).in_(
                    [(entity_type, entity_id) for entity_type, entity_id, _ in wanted]
                ),
                master_records.c.deleted.is_(False),
            )
        )
    ).all()
    found = {(row.entity_type, row.entity_id): dict(row.attributes) for row in rows}
    records = []
    for entity_type, entity_id, field in wanted:
        record = found.get((entity_type, entity_id))
        if record is None:
            raise invalid(field, f"no {entity_type} {entity_id} in this organization")
        records.append(record)
    return records


async def require_master(session: AsyncSession, entity_type: str, entity_id: uuid.UUID, field: str) -> dict[str, Any]:
    """A referenced record of the caller's organization, or a 422 naming the field."""
    record = await master_record(session, entity_type, entity_id)
    if record is None:
        raise invalid(field, f"no {entity_type} {entity_id} in this organization")
    return record


def attribute_text(value: object) -> str:
    """How a value reads as JSON text inside a stored record (for equality on attributes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def attribute_equals(name: str, value: object) -> ColumnElement[bool]:
    """SQL condition: a record attribute equals a value (None: absent or null).

    Equality to a value also asks for the key to be there, which it implies: the indexes by patient, payer and NPI
    cover only records having that key, and the planner uses them only when the query says so.
    """
    attribute = master_records.c.attributes[name].astext
    condition: ColumnElement[bool] = (
        attribute.is_(None)
        if value is None
        else and_(master_records.c.attributes.has_key(name), attribute == attribute_text(value))
    )
    return condition


async def find_masters(
    session: AsyncSession, entity_type: str, **attribute_equals_: object
) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """Live records of the session's organization whose attributes equal the given values, ordered by id."""
    query = select(master_records.c.entity_id, master_records.c.attributes).where(
        master_records.c.entity_type == entity_type, master_records.c.deleted.is_(False)
    )
    for name, value in attribute_equals_.items():
        query = query.where(attribute_equals(name, value))
    rows = (await session.execute(query.order_by(master_records.c.entity_id))).all()
    return [(row.entity_id, dict(row.attributes)) for row in rows]


def parse_master(kind: MasterKind, attributes: dict[str, Any]) -> MasterIn:
    """Attributes validated by the kind's request model, or a 422 naming each bad field."""
    try:
        return kind.request.model_validate(attributes)
    except ValidationError as error:
        errors = field_errors(list(error.errors(include_input=False)))
        raise Problem(
            422,
            "Request is invalid",
            "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5]),
            errors=errors,
            problem_type="urn:claimflow:problem:validation",
        ) from None


async def create_master(
    session: AsyncSession, principal: Principal, entity_type: str, attributes: dict[str, Any]
) -> uuid.UUID:
    """Validate a master-data record like the endpoints do, store it, replicate or audit it; its new id."""
    kind = KINDS[entity_type]
    return await store_new_master(session, principal, kind, parse_master(kind, attributes))


async def store_new_master(
    session: AsyncSession, principal: Principal, kind: MasterKind, record: MasterIn
) -> uuid.UUID:
    """Check a validated record against the organization's data, then insert, publish and audit it."""
    entity_id = uuid.uuid4()
    practice_id = await check_master(session, principal, kind, record, entity_id=entity_id, previous=None)
    attributes = record.model_dump(mode="json")
    await session.execute(
        master_records.insert().values(
            organization_id=principal.organization_id,
            entity_type=kind.entity_type,
            entity_id=entity_id,
            attributes=attributes,
            deleted=False,
            practice_id=practice_id,
        )
    )
    await announce_change(session, principal, kind, entity_id, attributes, action="create")
    return entity_id


async def announce_change(
    session: AsyncSession,
    principal: Principal,
    kind: MasterKind,
    entity_id: uuid.UUID,
    attributes: dict[str, Any] | None,
    *,
    action: str,
) -> None:
    """Replicate a change of a replicated kind (None attributes: deleted) and audit a change of patient data."""
    if kind.replicated_as is not None:
        today = await business_today(session, principal.organization_id)
        if attributes is None:
            await publish_reference_deleted(session, principal.organization_id, str(entity_id), kind.entity_type, today)
        else:
            entity = cast(reference.ReferenceEntity, kind.replicated_as.model_validate(attributes))
            await publish_reference(session, principal.organization_id, str(entity_id), entity, today)
    if kind.audited:
        await audit(session, principal, action, kind.entity_type, entity_id)


async def check_master(
    session: AsyncSession,
    principal: Principal,
    kind: MasterKind,
    record: MasterIn,
    *,
    entity_id: uuid.UUID,
    previous: dict[str, Any] | None,
) -> uuid.UUID | None:
    """Rules, references, practice access, fixed fields, uniqueness and overlaps; the practice the record is of."""
    problems = list(record.rule_problems())
    practice_id: uuid.UUID | None = entity_id if kind.entity_type == "practice" else None
    refuse_practice_limited(principal, kind)
    for ref in record.references():
        found = (
            await session.execute(
                select(master_records.c.practice_id).where(
                    master_records.c.entity_type == ref.entity_type,
                    master_records.c.entity_id == ref.entity_id,
                    master_records.c.deleted.is_(False),
                )
            )
        ).first()
        if ref.entity_type == "payer" and ref.entity_id == entity_id:
            problems.append((ref.field, "a payer cannot refer to itself"))
        elif found is None or (
            ref.entity_type != "practice" and found.practice_id and not principal.may_access_practice(found.practice_id)
        ):
            problems.append((ref.field, f"no {ref.entity_type} {ref.entity_id} in this organization"))
        elif ref.entity_type == "practice" and not principal.may_access_practice(ref.entity_id):
            problems.append((ref.field, "this API key is not allowed for that practice"))
        if ref.field == "practice_id":
            practice_id = ref.entity_id
        elif ref.field == "patient_id" and found is not None:
            practice_id = found.practice_id
    attributes = record.model_dump(mode="json")
    if previous is not None:
        problems += [
            (name, "cannot change; create a new record instead")
            for name in kind.immutable
            if previous.get(name) != attributes.get(name)
        ]
    if problems:
        raise invalid_fields(problems)
    for names in kind.unique:
        values = {name: attributes.get(name) for name in names}
        if None in values.values():
            continue
        await _lock(session, principal, kind.entity_type, *values.values())
        clashes = [
            found_id for found_id, _ in await find_masters(session, kind.entity_type, **values) if found_id != entity_id
        ]
        if clashes:
            field = names[-1]
            raise conflict(field, f"another {kind.entity_type} ({clashes[0]}) already has this {field}")
    if kind.entity_type == "fee_schedule_entry":
        await _check_fee_overlap(session, principal, entity_id, attributes)
    return practice_id


def refuse_practice_limited(principal: Principal, kind: MasterKind) -> None:
    """A key limited to some practices may not change practices or records shared by the whole organization."""
    if principal.practice_ids and (kind.entity_type == "practice" or not kind.practice_scoped):
        raise Problem(
            403,
            "Forbidden",
            f"this API key is limited to some practices; it cannot change {kind.plural.replace('-', ' ')}",
        )


async def _lock(session: AsyncSession, principal: Principal, *parts: object) -> None:
    """Serialize checks of one uniqueness key within the organization until the transaction ends."""
    key = ":".join(["intake", str(principal.organization_id), *(str(p) for p in parts)])
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def _check_fee_overlap(
    session: AsyncSession, principal: Principal, entity_id: uuid.UUID, attributes: dict[str, Any]
) -> None:
    """Two entries for the same practice, payer, code and modifier may not be in force on the same day."""
    same = {name: attributes.get(name) for name in ("practice_id", "payer_id", "code", "modifier")}
    await _lock(session, principal, "fee_schedule_entry", *same.values())
    starts = date.fromisoformat(attributes["effective_from"])
    ends = date.fromisoformat(attributes["effective_to"]) if attributes.get("effective_to") else None
    for other_id, other in await find_masters(session, "fee_schedule_entry", **same):
        if other_id == entity_id:
            continue
        other_ends = date.fromisoformat(other["effective_to"]) if other.get("effective_to") else None
        if master_domain.ranges_overlap(starts, ends, date.fromisoformat(other["effective_from"]), other_ends):
            raise conflict(
                "effective_from",
                f"overlaps fee schedule entry {other_id} ({other['effective_from']} to "
                f"{other.get('effective_to') or 'open'}) for the same practice, payer, code and modifier",
            )


async def referencing_records(
    session: AsyncSession, entity_type: str, entity_id: uuid.UUID
) -> list[tuple[str, uuid.UUID]]:
    """Live records that still point at a record (a few, to name them when a delete is refused)."""
    attributes = master_records.c.attributes
    id_text = str(entity_id)
    condition: ColumnElement[bool] | None = None
    if entity_type == "practice":
        condition = master_records.c.practice_id == entity_id
    elif entity_type == "payer":
        condition = (
            (attributes["payer_id"].astext == id_text)
            | (attributes["carve_out_payer_id"].astext == id_text)
            | attributes.contains({"credentialing": [{"payer_id": id_text}]})
            | attributes.contains({"credentialed_payer_ids": [id_text]})
        )
    elif entity_type == "patient":
        condition = attributes["patient_id"].astext == id_text
    if condition is None:
        return []
    rows = (
        await session.execute(
            select(master_records.c.entity_type, master_records.c.entity_id)
            .where(condition, master_records.c.deleted.is_(False), master_records.c.entity_id != entity_id)
            .order_by(master_records.c.entity_type, master_records.c.entity_id)
            .limit(5)
        )
    ).all()
    return [(row.entity_type, row.entity_id) for row in rows]
