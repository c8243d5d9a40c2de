"""Liveness and readiness checks: the database answers and the Kafka broker accepts connections."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def database_reachable(engine: AsyncEngine) -> bool:
    """True when a trivial query succeeds within two seconds."""
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def kafka_reachable(bootstrap: str) -> bool:
    """True when a TCP connection to the first bootstrap server opens within two seconds."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        async with asyncio.timeout(2):
            _, writer = await asyncio.open_connection(host, int(port))
        writer.close()
        await writer.wait_closed()
        return True
    except Exception:
        return False


class HealthReporter:
    """Readiness of a worker's loops, reported by each loop after every attempt."""

    def __init__(self) -> None:
        self._state: dict[str, bool] = {}

    def report(self, part: str, healthy: bool) -> None:
        """Record whether a loop's last attempt reached its dependencies."""
        self._state[part] = healthy

    @property
    def ready(self) -> bool:
        """True when every loop that reported is healthy."""
        return all(self._state.values()) and bool(self._state)

    def detail(self) -> dict[str, bool]:
        """Per-loop readiness."""
        return dict(self._state)
