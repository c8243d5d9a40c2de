"""Direct database reads for tests, through a service's runtime role with the tenant set (as the service sees it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def connect_as(
    env: dict[str, str], service: str, *, owner: bool = False, relay: bool = False
) -> asyncpg.Connection:
    """A connection as the service's runtime role (or its migration role, or its outbox relay's role)."""
    kind = "OWNER" if owner else "RELAY" if relay else "DB"
    return await asyncpg.connect(
        host=env["CLAIMFLOW_PG_HOST"],
        port=int(env["CLAIMFLOW_PG_PORT"]),
        database=env["CLAIMFLOW_PG_DATABASE"],
        user=env[f"CLAIMFLOW_{service.upper()}_{kind}_USER"],
        password=env[f"CLAIMFLOW_{service.upper()}_{kind}_PASSWORD"],
    )


async def tenant_rows(env: dict[str, str], service: str, organization_id: str, sql: str, *args: Any) -> list[Any]:
    """Rows of a query run as the service's runtime role inside one organization's transaction."""
    connection = await connect_as(env, service)
    try:
        async with connection.transaction():
            await connection.execute("SELECT set_config('claimflow.organization_id', $1, true)", organization_id)
            return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


@contextmanager
def statements_sent(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    """The statements the sessions' engine sends while the block runs (BEGIN and COMMIT are not statements here)."""
    engine = sessions.kw["bind"].sync_engine
    sent: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def outbox_rows(env: dict[str, str], service: str, sql: str, *args: Any) -> list[Any]:
    """Rows of a query on a service's outbox, as its relay's role (the runtime role may only add outbox rows)."""
    connection = await connect_as(env, service, relay=True)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()
