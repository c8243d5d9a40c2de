"""The APIs' connection pool against the real database: a connection PostgreSQL closed while it sat in the pool is
replaced at checkout, without a round trip, instead of failing the request that drew it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.infra import PG_PORT, PG_SOCKET, as_postgres
from shared.db import create_engine
from shared.settings import ServiceSettings, load_settings

pytestmark = pytest.mark.stack


def terminate_backend(pid: int) -> None:
    """End one PostgreSQL backend as the superuser (what a restart or an administrator does to it)."""
    result = as_postgres(
        "psql", "-X", "-h", str(PG_SOCKET), "-p", str(PG_PORT), "-d", "postgres", "-Atc",
        f"SELECT pg_terminate_backend({int(pid)})",
    )  # fmt: skip
    assert result.stdout.strip() == "t", result.stderr


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@pytest.mark.parametrize("checked", [True, False])
async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(
    stack_env: dict[str, str], checked: bool
) -> None:
    settings = load_settings(ServiceSettings).model_copy(update={"service_name": "intake"})
    engine = create_engine(settings, pool_size=1, pre_ping=checked)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one connection: the next checkout reuses it
    try:
        first = await backend_pid(engine)
        terminate_backend(first)
        await asyncio.sleep(0.2)  # the connection sits in the pool while the event loop runs on
        if checked:
            assert await backend_pid(engine) != first
        else:  # without the check the request that draws the closed connection fails
            with pytest.raises(Exception, match=r"(?i)connection|closed|terminat"):
                await backend_pid(engine)
    finally:
        await engine.dispose()
