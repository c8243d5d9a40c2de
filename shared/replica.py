"""Keeps a service's replica of claimflow.reference.v1 (master data and API keys) up to date."""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, Table, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import Handler
from shared.db import bound, current_tenant
from shared.events.catalogue import ReferenceDeletedEvent, ReferenceUpsertedEvent
from shared.events.reference import ApiKeyRef
from shared.failures import NotYetReplicated
from shared.infra_tables import InfraTables
from shared.observability import event_time_var
from shared.problems import invalid_fields

_CACHE = "claimflow.reference-entities"
T = TypeVar("T")


def reference_handlers(tables: InfraTables) -> dict[str, Handler]:
    """Handlers applying reference upserts and deletes, newest state wins."""

    async def on_upserted(session: AsyncSession, event: ReferenceUpsertedEvent) -> None:
        entity = event.data.entity
        if isinstance(entity, ApiKeyRef):
            values: dict[str, Any] = {
                "organization_id": event.organizationid,
                "key_hash": entity.key_hash,
                "scopes": entity.scopes,
                "practice_ids": [str(p) for p in entity.practice_ids],
                "user_id": entity.user_id,
                "revoked": entity.revoked,
            }
            await session.execute(
                pg_insert(tables.api_keys)
                .values(key_id=entity.key_id, **values)
                .on_conflict_do_update(index_elements=["key_id"], set_=values)
            )
        await _store(
            session,
            tables,
            event.organizationid,
            entity.entity_type,
            event.data.entity_id,
            entity.model_dump(mode="json"),
            deleted=False,
            event_time=event.time,
        )

    async def on_deleted(session: AsyncSession, event: ReferenceDeletedEvent) -> None:
        if event.data.entity_type == "api_key":
            await session.execute(
                tables.api_keys.update().where(tables.api_keys.c.key_id == event.data.entity_id).values(revoked=True)
            )
        await _store(
            session,
            tables,
            event.organizationid,
            event.data.entity_type,
            event.data.entity_id,
            {},
            deleted=True,
            event_time=event.time,
        )

    return {"reference.upserted": on_upserted, "reference.deleted": on_deleted}


async def _store(
    session: AsyncSession,
    tables: InfraTables,
    organization_id: uuid.UUID,
    entity_type: str,
    entity_id: str,
    attributes: dict[str, Any],
    *,
    deleted: bool,
    event_time: Any,
) -> None:
    """Upsert one entity unless a newer version is already stored."""
    session.info.pop(_CACHE, None)
    table = tables.reference_entities
    statement = pg_insert(table).values(
        organization_id=organization_id,
        entity_type=entity_type,
        entity_id=entity_id,
        attributes=attributes,
        deleted=deleted,
        event_time=event_time,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "entity_type", "entity_id"],
            set_={
                "attributes": statement.excluded.attributes,
                "deleted": statement.excluded.deleted,
                "event_time": statement.excluded.event_time,
            },
            where=table.c.event_time <= statement.excluded.event_time,
        )
    )


# How long a message waits for reference data it needs (replication normally lags by milliseconds): beyond this the
# entity is taken as unknown, as for a message handled long after its reference data was deleted.
REPLICATION_GRACE = timedelta(minutes=2)


async def required_reference(
    session: AsyncSession,
    tables: InfraTables,
    entity_type: str,
    entity_id: str,
    *,
    organization_precedes: bool = False,
) -> dict[str, Any] | None:
    """A replicated entity a message cannot be handled correctly without (a payer's rules, a provider's dates).

    Live: its attributes. Never replicated, in an organization this service knows, while the message being handled
    is younger than REPLICATION_GRACE: NotYetReplicated, so the consumer retries the message until the reference
    event has been applied instead of handling it as if the entity had no settings. Deleted, unknown after the grace
    period, in an organization never replicated here (nothing of it will follow) unless `organization_precedes`,
    or outside a consumer: None, and the caller's defaults apply.

    `organization_precedes`: the message comes from intake, which publishes an organization's reference data before
    any message of it, on another topic that a busy service can read later: an organization not replicated here yet
    is waited for too, so a new organization's first visits are not handled with no payer or provider settings.
    """
    attributes = await reference_entity(session, tables, entity_type, entity_id)
    if attributes is not None:
        return attributes
    recorded = event_time_var.get()
    if recorded is None or datetime.now(UTC) - recorded > REPLICATION_GRACE:
        return None
    table = tables.reference_entities
    known = (
        await session.execute(
            select(table.c.entity_type, table.c.entity_id).where(
                table.c.entity_type.in_([entity_type, "organization"]),
                table.c.entity_id.in_([entity_id, str(current_tenant(session))]),
            )
        )
    ).all()
    entity_known = any(row.entity_type == entity_type and row.entity_id == entity_id for row in known)
    organization_known = any(row.entity_type == "organization" for row in known)
    if (organization_known or organization_precedes) and not entity_known:
        raise NotYetReplicated(f"{entity_type} {entity_id} has not been replicated yet")
    return None


async def reference_entity(
    session: AsyncSession, tables: InfraTables, entity_type: str, entity_id: str
) -> dict[str, Any] | None:
    """Attributes of a live replicated entity of the session's organization.

    Read once per unit of work (a consumer's batch reads the same payers and providers over and over); storing
    any replicated entity in the same unit of work forgets what was read.
    """
    cache: dict[tuple[uuid.UUID | None, str, str], dict[str, Any] | None] = session.info.setdefault(_CACHE, {})
    key = (current_tenant(session), entity_type, entity_id)
    if key not in cache:
        query = _live_entity_query(tables.reference_entities)
        row = (await session.execute(query, {"entity_type": entity_type, "entity_id": entity_id})).first()
        cache[key] = dict(row.attributes) if row else None
    attributes = cache[key]
    return copy.deepcopy(attributes) if attributes is not None else None


@functools.cache
def _live_entity_query(table: Table) -> Select[tuple[Any]]:
    """A live entity's attributes by type and id, built once per service's table (every charge and claim asks)."""
    key = bound(table, "", ("entity_type", "entity_id"))
    return select(table.c.attributes).where(
        table.c.entity_type == key["entity_type"], table.c.entity_id == key["entity_id"], table.c.deleted.is_(False)
    )


async def remembered(session: AsyncSession, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
    """A read of replicated entities kept for the unit of work, like `reference_entity`'s (storing any replicated
    entity in the same unit of work forgets it): `load` runs the first time the session's organization asks for
    `key`."""
    cache: dict[tuple[Any, ...], Any] = session.info.setdefault(_CACHE, {})
    full_key = (current_tenant(session), *key)
    if full_key not in cache:
        cache[full_key] = await load()
    return cache[full_key]  # type: ignore[no-any-return]


async def refuse_unknown_references(
    session: AsyncSession,
    tables: InfraTables,
    practice_ids: frozenset[uuid.UUID],
    **references: tuple[str, uuid.UUID | None],
) -> None:
    """A 422 naming each id a request names (field=(entity type, id)) that is not one of the session's
    organization's, worded as intake words it, so every service answers another organization's practice, provider
    or payer alike instead of an empty 200. Deleted entities still count (their history is reported); for a key
    limited to some practices, a provider of another practice is not one of its own. One query."""
    wanted = {field: (kind, entity_id) for field, (kind, entity_id) in references.items() if entity_id is not None}
    if not wanted:
        return
    table = tables.reference_entities
    rows = (
        await session.execute(
            select(table.c.entity_type, table.c.entity_id, table.c.attributes).where(
                tuple_(table.c.entity_type, table.c.entity_id).in_(
                    [(kind, str(entity_id)) for kind, entity_id in wanted.values()]
                )
            )
        )
    ).all()
    found = {(row.entity_type, row.entity_id): dict(row.attributes or {}) for row in rows}
    problems: list[tuple[str, str]] = []
    for field, (kind, entity_id) in wanted.items():
        attributes = found.get((kind, str(entity_id)))
        practice = attributes.get("practice_id") if attributes else None
        outside_the_key = bool(practice_ids) and practice is not None and uuid.UUID(str(practice)) not in practice_ids
        if kind == "practice" and practice_ids and entity_id not in practice_ids:
            outside_the_key = True
        if attributes is None or outside_the_key:  # a key limited to practices sees no other (as their 404s say)
            problems.append((field, f"no {kind} {entity_id} in this organization"))
    if problems:
        raise invalid_fields(problems)
