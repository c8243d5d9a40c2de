"""Database plumbing: engines for the runtime role and units of work that set the tenant for row-level security."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import CTE, BindParameter, Insert, Table, bindparam, event, exc, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.observability import DB_STATEMENTS
from shared.settings import ServiceSettings

TENANT_SETTING = "claimflow.organization_id"


def create_engine(
    settings: ServiceSettings,
    *,
    owner: bool = False,
    relay: bool = False,
    pool_size: int | None = None,
    pre_ping: bool = True,
    process: str = "api",
) -> AsyncEngine:
    """An async engine connecting as the service's runtime role (or its migration role, or its outbox relay's).

    `pre_ping` checks each connection as it leaves the pool so an HTTP request does not fail on a connection
    PostgreSQL closed while it was idle (a restart, an administrator ending backends): the check is local, whether
    the driver has seen the server close its socket, so it costs no round trip; SQLAlchemy's own pre-ping costs
    three (BEGIN, an empty query, ROLLBACK) per checkout, a third of a small request's statements. A connection
    lost without a word (a dead network path) is found by its first statement as before, and the failure
    invalidates the pool. Workers turn the check off: they retry every transient failure anyway.
    """
    engine = create_async_engine(
        settings.database_url(owner=owner, relay=relay),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=5,
        pool_recycle=1800,
        # A failed statement's parameters are patient data (a note, a raw 835): they never reach an error's text.
        hide_parameters=True,
        # JSONB read back (event attributes, snapshots, ledgers of facts) is decoded by orjson, several times faster
        # than the standard library on the same documents; what is written keeps the standard encoder.
        json_deserializer=orjson.loads,
        connect_args={
            "server_settings": {"application_name": f"claimflow-{settings.service_name}-{process}"},
            "timeout": 5,
            "command_timeout": 30,
        },
    )
    if pre_ping:
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connection)
    statements = DB_STATEMENTS.labels(settings.service_name, process)
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *_: statements.inc())
    for name in ("begin", "commit", "rollback"):
        event.listen(engine.sync_engine, name, lambda *_: statements.inc())
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout hook: a connection the server has closed is discarded and the pool hands out another."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("PostgreSQL closed this pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that never expire objects on commit (the boundary commits once)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def set_tenant(session: AsyncSession, organization_id: uuid.UUID | None) -> None:
    """Scope the current transaction to one organization for row-level security.

    The setting is transaction-local and never set for a whole connection, so a transaction starts scoped to no
    organization: scoping it to none then, or to the organization it already has, sends nothing.
    """
    transaction = session.get_transaction()
    scoped = session.info.get(_TENANT_SCOPE)
    current = scoped[1] if scoped is not None and scoped[0] is transaction else None
    session.info[TENANT_SETTING] = organization_id
    if organization_id == current:
        return
    await session.execute(
        _SCOPE_TRANSACTION, {"name": TENANT_SETTING, "value": str(organization_id) if organization_id else ""}
    )
    session.info[_TENANT_SCOPE] = (session.get_transaction(), organization_id)


_TENANT_SCOPE = "claimflow.tenant-scope"  # (transaction, organization) the setting was last sent for
_SCOPE_TRANSACTION = text("SELECT set_config(:name, :value, true)")  # built once: every transaction sends it


DeferredAction = Callable[[AsyncSession], Awaitable[None]]
_DEFERRED = "claimflow.deferred"


def defer_until_commit(session: AsyncSession, key: str, action: DeferredAction) -> None:
    """Run `action` once at the end of the current unit of work, however many handlers asked for it.

    A consumer applies a poll batch in one transaction; work that is cheaper done once for the whole batch
    (refreshing summaries of every claim the batch touched, say) registers here and runs before the commit.
    """
    session.info.setdefault(_DEFERRED, {})[key] = action


def current_tenant(session: AsyncSession) -> uuid.UUID | None:
    """The organization the session's transaction was last scoped to (None: none, or not through set_tenant)."""
    value = session.info.get(TENANT_SETTING)
    return value if isinstance(value, uuid.UUID) else None


async def run_deferred(session: AsyncSession) -> None:
    """Carry out the actions deferred to the end of the unit of work, in the order first registered."""
    while actions := session.info.pop(_DEFERRED, None):
        for action in actions.values():
            await action(session)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID | None
) -> AsyncIterator[AsyncSession]:
    """One transaction for the tenant: runs deferred actions and commits when the block ends normally, rolls back
    otherwise."""
    async with sessions() as session, session.begin():
        await set_tenant(session, organization_id)
        yield session
        await run_deferred(session)


def bound(table: Table, prefix: str, columns: Sequence[str]) -> dict[str, BindParameter[Any]]:
    """Bind parameters named `prefix` + column for a statement built once and executed with `prefixed` values: a
    statement object used again keeps its cache key, where building a large one per call costs more than running
    it. The prefix keeps parameter names off column names: SQLAlchemy adds a parameter named like a column of a
    nested INSERT or UPDATE to that statement's values."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in columns}


def bound_insert_for_each(
    table: Table, source: CTE, prefix: str, columns: Sequence[str], *, carry: tuple[str, ...] = ()
) -> Insert:
    """An insert of one row into `table` per row of `source`, a data-modifying CTE's RETURNING, so the row is
    written only when that write happened (in the same statement): the columns named in `carry` come from `source`,
    the others from bind parameters (`bound`), for a statement built once and executed with `prefixed` values."""
    rows = select(*(source.c[name] for name in carry), *bound(table, prefix, columns).values()).select_from(source)
    return insert(table).from_select([*carry, *columns], rows)


def prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Execution parameters for the bind parameters `bound` made with the same prefix."""
    return {prefix + name: value for name, value in values.items()}


def tenant_rls_sql(schema: str, table: str) -> list[str]:
    """DDL that forces row-level security on a tenant table keyed by organization_id."""
    predicate = f"organization_id = nullif(current_setting('{TENANT_SETTING}', true), '')::uuid"
    return [
        f"ALTER TABLE {schema}.{table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {schema}.{table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {schema}.{table} USING ({predicate}) WITH CHECK ({predicate})",
    ]
