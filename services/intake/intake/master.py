"""Master-data use cases: organizations, API keys, and create / read / update / delete / list of every kind."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from intake import master_domain
from intake.common import (
    announce_change,
    attribute_equals,
    audit,
    audit_many,
    business_today,
    check_master,
    conflict,
    invalid,
    not_found,
    publish_reference,
    referencing_records,
    refuse_practice_limited,
)
from intake.master_kinds import MasterKind
from intake.models import encounters, issued_api_keys, master_records, organizations
from intake.schemas import ApiKeyCreated, ApiKeyOut, ApiKeyQuery, ListQuery, MasterIn, MasterOut, Page
from shared.auth import Principal, generate_api_key
from shared.events import reference
from shared.problems import invalid_fields


async def create_organization(session: AsyncSession, organization_id: uuid.UUID, name: str) -> ApiKeyCreated:
    """Create an organization and its first admin key."""
    await session.execute(organizations.insert().values(organization_id=organization_id, name=name))
    today = await business_today(session, organization_id)
    await publish_reference(session, organization_id, str(organization_id), reference.OrganizationRef(name=name), today)
    return await create_api_key(session, organization_id, scopes=["admin"], practice_ids=[], label="first admin key")


async def create_api_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    scopes: list[str],
    practice_ids: list[uuid.UUID],
    label: str | None,
    user_id: uuid.UUID | None = None,
    issuer_practice_ids: frozenset[uuid.UUID] = frozenset(),
) -> ApiKeyCreated:
    """Issue a key (hash stored and replicated; the secret is returned once).

    A key limited to some practices can only issue keys limited to some of those practices.
    """
    problems: list[tuple[str, str]] = []
    if issuer_practice_ids and (not practice_ids or not set(practice_ids) <= issuer_practice_ids):
        problems.append(("practice_ids", "must name only practices the issuing key is limited to"))
    for index, practice_id in enumerate(practice_ids):
        if not await _live(session, "practice", practice_id):
            problems.append((f"practice_ids.{index}", f"no practice {practice_id} in this organization"))
    if user_id is not None and not await _live(session, "user", user_id):
        problems.append(("user_id", f"no user {user_id} in this organization"))
    if problems:
        raise invalid_fields(problems)
    key_id, secret, key_hash = generate_api_key()
    await session.execute(
        issued_api_keys.insert().values(
            key_id=key_id,
            organization_id=organization_id,
            key_hash=key_hash,
            scopes=scopes,
            practice_ids=[str(p) for p in practice_ids],
            label=label,
            user_id=user_id,
            revoked=False,
        )
    )
    await publish_reference(
        session,
        organization_id,
        f"api_key:{key_id}",
        reference.ApiKeyRef(
            key_id=key_id, key_hash=key_hash, scopes=scopes, practice_ids=practice_ids, user_id=user_id
        ),
        await business_today(session, organization_id),
    )
    return ApiKeyCreated(
        key_id=key_id,
        api_key=secret,
        scopes=scopes,
        organization_id=organization_id,
        practice_ids=practice_ids,
        user_id=user_id,
        label=label,
    )


def _keys_visible_to(query: Select[Any], issuer_practice_ids: frozenset[uuid.UUID]) -> Select[Any]:
    """A key limited to some practices sees only keys limited to a subset of them."""
    if not issuer_practice_ids:
        return query
    allowed = [str(p) for p in issuer_practice_ids]
    return query.where(
        func.jsonb_array_length(issued_api_keys.c.practice_ids) > 0,
        issued_api_keys.c.practice_ids.contained_by(allowed),
    )


async def revoke_api_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key_id: str,
    issuer_practice_ids: frozenset[uuid.UUID] = frozenset(),
) -> bool:
    """Revoke a key of the organization; False when it does not exist there (or is not the issuer's to see)."""
    query = _keys_visible_to(select(issued_api_keys).where(issued_api_keys.c.key_id == key_id), issuer_practice_ids)
    row = (await session.execute(query)).first()
    if row is None:
        return False
    await session.execute(issued_api_keys.update().where(issued_api_keys.c.key_id == key_id).values(revoked=True))
    await publish_reference(
        session,
        organization_id,
        f"api_key:{key_id}",
        reference.ApiKeyRef(
            key_id=key_id,
            key_hash=row.key_hash,
            scopes=list(row.scopes),
            practice_ids=[uuid.UUID(p) for p in row.practice_ids],
            user_id=row.user_id,
            revoked=True,
        ),
        await business_today(session, organization_id),
    )
    return True


async def list_api_keys(session: AsyncSession, principal: Principal, query: ApiKeyQuery) -> Page[ApiKeyOut]:
    """The organization's keys, oldest id first; never the secret nor its hash."""
    statement = _keys_visible_to(select(issued_api_keys), principal.practice_ids)
    if query.revoked is not None:
        statement = statement.where(issued_api_keys.c.revoked.is_(query.revoked))
    if query.user_id is not None:
        statement = statement.where(issued_api_keys.c.user_id == query.user_id)
    if query.cursor is not None:
        statement = statement.where(issued_api_keys.c.key_id > query.cursor)
    rows = (await session.execute(statement.order_by(issued_api_keys.c.key_id).limit(query.limit + 1))).all()
    items = [
        ApiKeyOut(
            key_id=row.key_id,
            scopes=list(row.scopes),
            practice_ids=[uuid.UUID(p) for p in row.practice_ids],
            user_id=row.user_id,
            label=row.label,
            revoked=row.revoked,
            created_at=row.created_at,
        )
        for row in rows[: query.limit]
    ]
    next_cursor = items[-1].key_id if len(rows) > query.limit else None
    return Page[ApiKeyOut](items=items, next_cursor=next_cursor)


async def _live(session: AsyncSession, entity_type: str, entity_id: uuid.UUID) -> bool:
    """Whether a live record of a kind exists in the session's organization."""
    found = await session.scalar(
        select(master_records.c.entity_id).where(
            master_records.c.entity_type == entity_type,
            master_records.c.entity_id == entity_id,
            master_records.c.deleted.is_(False),
        )
    )
    return found is not None


def _visible(kind: MasterKind, principal: Principal) -> Select[Any]:
    """Live records of a kind the caller may see: a key limited to some practices sees only theirs."""
    query = select(master_records.c.entity_id, master_records.c.attributes).where(
        master_records.c.entity_type == kind.entity_type, master_records.c.deleted.is_(False)
    )
    if kind.practice_scoped and principal.practice_ids:
        query = query.where(master_records.c.practice_id.in_(list(principal.practice_ids)))
    return query


def _response(kind: MasterKind, entity_id: uuid.UUID, attributes: dict[str, Any]) -> MasterOut:
    """The response model of a stored record."""
    return kind.response.model_validate({**attributes, "id": entity_id})


async def read_record(session: AsyncSession, principal: Principal, kind: MasterKind, entity_id: uuid.UUID) -> MasterOut:
    """One record the caller may see (404 otherwise); reads of patient data are audited."""
    row = (await session.execute(_visible(kind, principal).where(master_records.c.entity_id == entity_id))).first()
    if row is None:
        raise not_found(kind.entity_type, entity_id)
    if kind.audited:
        await audit(session, principal, "read", kind.entity_type, entity_id)
    return _response(kind, entity_id, dict(row.attributes))


async def update_record(
    session: AsyncSession, principal: Principal, kind: MasterKind, entity_id: uuid.UUID, record: MasterIn
) -> MasterOut:
    """Replace a record with a new, fully re-validated version; replicate or audit the change."""
    row = (
        await session.execute(
            _visible(kind, principal).where(master_records.c.entity_id == entity_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found(kind.entity_type, entity_id)
    await check_master(session, principal, kind, record, entity_id=entity_id, previous=dict(row.attributes))
    attributes = record.model_dump(mode="json")
    await session.execute(
        master_records.update()
        .where(master_records.c.entity_type == kind.entity_type, master_records.c.entity_id == entity_id)
        .values(attributes=attributes, updated_at=func.now())
    )
    await announce_change(session, principal, kind, entity_id, attributes, action="update")
    return _response(kind, entity_id, attributes)


async def delete_record(session: AsyncSession, principal: Principal, kind: MasterKind, entity_id: uuid.UUID) -> None:
    """Soft-delete a record nothing live points at; replicated kinds publish reference.deleted."""
    refuse_practice_limited(principal, kind)
    row = (
        await session.execute(
            _visible(kind, principal).where(master_records.c.entity_id == entity_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found(kind.entity_type, entity_id)
    dependents = await referencing_records(session, kind.entity_type, entity_id)
    if kind.entity_type == "patient":
        has_encounters = await session.scalar(
            select(encounters.c.encounter_id).where(encounters.c.patient_id == entity_id).limit(1)
        )
        if has_encounters is not None:
            dependents.append(("encounter", has_encounters))
    if kind.entity_type == "user":
        key = await session.scalar(
            select(issued_api_keys.c.key_id)
            .where(issued_api_keys.c.user_id == entity_id, issued_api_keys.c.revoked.is_(False))
            .limit(1)
        )
        if key is not None:
            raise conflict("id", f"user still owns API key {key}; revoke it first")
    if dependents:
        named = ", ".join(f"{entity_type} {dependent}" for entity_type, dependent in dependents)
        raise conflict("id", f"{kind.entity_type} is still referenced by {named}; delete or change those first")
    await session.execute(
        master_records.update()
        .where(master_records.c.entity_type == kind.entity_type, master_records.c.entity_id == entity_id)
        .values(deleted=True, updated_at=func.now())
    )
    await announce_change(session, principal, kind, entity_id, None, action="delete")


async def list_records(
    session: AsyncSession, principal: Principal, kind: MasterKind, query: ListQuery
) -> Page[MasterOut]:
    """One page of the records the caller may see, filtered, in id order; listed patient data is audited."""
    statement = _visible(kind, principal)
    for name, value in query.model_dump(exclude={"limit", "cursor"}, exclude_none=True).items():
        statement = statement.where(_filter(kind, name, value))
    if query.cursor is not None:
        after = master_domain.decode_cursor(query.cursor)
        if after is None:
            raise invalid("cursor", "is not a cursor this list returned")
        statement = statement.where(master_records.c.entity_id > after)
    rows = (await session.execute(statement.order_by(master_records.c.entity_id).limit(query.limit + 1))).all()
    page = rows[: query.limit]
    if kind.audited:
        await audit_many(session, principal, "list", kind.entity_type, [row.entity_id for row in page])
    next_cursor = master_domain.encode_cursor(page[-1].entity_id) if len(rows) > query.limit else None
    return Page[MasterOut](
        items=[_response(kind, row.entity_id, dict(row.attributes)) for row in page], next_cursor=next_cursor
    )


def _filter(kind: MasterKind, name: str, value: Any) -> Any:
    """The SQL condition of one list filter."""
    attributes = master_records.c.attributes
    if name == "practice_id":
        return master_records.c.practice_id == value
    if name == "name_prefix" and kind.name_field is not None:
        return func.lower(attributes[kind.name_field].astext).startswith(str(value).lower(), autoescape=True)
    if name == "active_on" and kind.date_range is not None:
        start, end = kind.date_range
        on: date = value
        return (cast(attributes[start].astext, Date) <= on) & (
            attributes[end].astext.is_(None) | (cast(attributes[end].astext, Date) >= on)
        )
    if name == "email":
        return attributes["email"].astext == str(value).lower()
    return attribute_equals(name, value)
