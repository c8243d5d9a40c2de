"""The pipeline seen from outside: analytics' facts of an organization and what each worker consumed."""

from __future__ import annotations

import asyncpg
import httpx

from deploy.runtime import SERVICES


class ChargeProbe:
    """One connection to analytics' tables, asking which of some encounters already have a charge outcome."""

    def __init__(self, env: dict[str, str], organization_id: str) -> None:
        self.env = env
        self.organization_id = organization_id
        self.connection: asyncpg.Connection | None = None

    async def __aenter__(self) -> ChargeProbe:
        self.connection = await asyncpg.connect(
            host=self.env["CLAIMFLOW_PG_HOST"],
            port=int(self.env["CLAIMFLOW_PG_PORT"]),
            database=self.env["CLAIMFLOW_PG_DATABASE"],
            user=self.env["CLAIMFLOW_ANALYTICS_DB_USER"],
            password=self.env["CLAIMFLOW_ANALYTICS_DB_PASSWORD"],
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def seen(self, encounter_ids: list[str]) -> set[str]:
        """Those of the encounters analytics has a charge outcome (created or held) for (one indexed query)."""
        assert self.connection is not None
        async with self.connection.transaction():
            await self.connection.execute(
                "SELECT set_config('claimflow.organization_id', $1, true)", self.organization_id
            )
            rows = await self.connection.fetch(
                "SELECT DISTINCT charge_id FROM analytics.facts WHERE organization_id = $1::uuid"
                " AND charge_id = ANY($2::text[]) AND event_type IN ('charge.created', 'charge.held')",
                self.organization_id,
                encounter_ids,
            )
        return {row["charge_id"] for row in rows}


async def analytics_rows(env: dict[str, str], organization_id: str, sql: str) -> list[asyncpg.Record]:
    """Rows of a query on analytics' tables as its runtime role, inside the organization."""
    connection = await asyncpg.connect(
        host=env["CLAIMFLOW_PG_HOST"],
        port=int(env["CLAIMFLOW_PG_PORT"]),
        database=env["CLAIMFLOW_PG_DATABASE"],
        user=env["CLAIMFLOW_ANALYTICS_DB_USER"],
        password=env["CLAIMFLOW_ANALYTICS_DB_PASSWORD"],
    )
    try:
        async with connection.transaction():
            await connection.execute("SELECT set_config('claimflow.organization_id', $1, true)", organization_id)
            return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def analytics_outcomes(env: dict[str, str], organization_id: str) -> dict[str, int]:
    """Event type → facts analytics holds for the organization."""
    sql = "SELECT event_type, count(*) AS n FROM analytics.facts GROUP BY event_type"
    return {row["event_type"]: int(row["n"]) for row in await analytics_rows(env, organization_id, sql)}


async def consumed_totals(env: dict[str, str]) -> dict[str, float]:
    """Service → events its worker consumed so far (from the workers' /metrics)."""
    totals: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        for service in SERVICES:
            port = env[f"CLAIMFLOW_{service.upper()}_WORKER_METRICS_PORT"]
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            totals[service] = counter_total(text, "claimflow_events_consumed_total", 'outcome="processed"')
    return totals


async def statement_totals(env: dict[str, str]) -> dict[str, float]:
    """Process (intake-api, intake-worker, ...) → statements it has sent to PostgreSQL so far, BEGIN and COMMIT
    included (`claimflow_db_statements_total` of each API's and worker's /metrics)."""
    totals: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10, trust_env=False, follow_redirects=True) as http:
        for service in SERVICES:
            ports = {
                "api": env[f"CLAIMFLOW_{service.upper()}_PORT"],
                "worker": env[f"CLAIMFLOW_{service.upper()}_WORKER_METRICS_PORT"],
            }
            for process, port in ports.items():
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                totals[f"{service}-{process}"] = counter_total(text, "claimflow_db_statements_total", "")
    return totals


def counter_total(text: str, name: str, label: str) -> float:
    """The sum of a counter's samples in a Prometheus text exposition, over those whose labels contain `label`."""
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") and label in line
    )
