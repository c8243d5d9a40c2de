"""Direct database reads for tests, through a service's runtime role with the tenant set (as the service sees it)."""

from __future__ import annotations

from typing import Any

import asyncpg


async def connect_as(env: dict[str, str], service: str, *, owner: bool = False) -> asyncpg.Connection:
    """A connection as the service's runtime role (or its migration role)."""
    kind = "OWNER" if owner else "DB"
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
