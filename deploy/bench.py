"""`make bench`: a bounded load through the whole pipeline, measured from the outside.

Reports end-to-end and per-stage throughput, CPU milliseconds per encounter for every process (OS accounting),
latency at half the measured maximum, peak and soak memory, and the raw floor of the same broker and database.
Results go to bench/results/<timestamp>.json and latest.json; docs/performance.md explains the method.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deploy import stack
from deploy.bench_load import BenchConfig, Poster, encounter, seed
from deploy.client import ClaimflowClient, Tenant
from deploy.procstats import Usage, process_table, usage
from deploy.runtime import REPO, SERVICES, StackError, pid_of

console = Console()
RESULTS = REPO / "bench" / "results"


@dataclass
class BenchResult:
    """Every figure of one run (serialised to JSON as is)."""

    started_at: str
    config: dict[str, Any]
    accepted: int = 0
    refused: int = 0
    seconds: float = 0.0
    encounters_per_second: float = 0.0
    stage_events_per_second: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_encounter: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    soak: dict[str, Any] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 in milliseconds of latencies given in seconds (empty when there were none)."""
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
    }


def components() -> dict[str, int]:
    """Name → pid of every running component of the stack."""
    names = ["postgres", "kafka", *stack.process_names()]
    found = {name: pid_of(name) for name in names}
    missing = [name for name, pid in found.items() if pid is None]
    if missing:
        raise StackError(f"not running: {', '.join(missing)}; start the stack with `make up`")
    return {name: pid for name, pid in found.items() if pid is not None}


def snapshot(pids: dict[str, int]) -> dict[str, Usage]:
    """Usage of every component's process tree now."""
    table = process_table()
    return {name: usage(pid, table) for name, pid in pids.items()}


# ---------------------------------------------------------------- observing the pipeline


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


async def charges_seen(env: dict[str, str], organization_id: str) -> set[str]:
    """Encounter ids analytics has a charge outcome (created or held) for."""
    sql = "SELECT DISTINCT charge_id FROM analytics.facts WHERE event_type IN ('charge.created', 'charge.held')"
    return {row["charge_id"] for row in await analytics_rows(env, organization_id, sql)}


async def settle(
    env: dict[str, str], organization_id: str, expected_charges: int, timeout: float
) -> tuple[float, dict[str, int]]:
    """Wait until analytics has a charge outcome for every accepted encounter and nothing changes for a while.

    Returns the monotonic time of the last change seen (the end of the run) and the outcome counts.
    """
    last_counts: dict[str, int] = {}
    last_change = time.monotonic()
    quiet_polls = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = await analytics_outcomes(env, organization_id)
        if counts != last_counts:
            last_counts, last_change, quiet_polls = counts, time.monotonic(), 0
        else:
            quiet_polls += 1
        charges = counts.get("charge.created", 0) + counts.get("charge.held", 0)
        if charges >= expected_charges and quiet_polls >= 5:
            return last_change, counts
        await asyncio.sleep(1)
    raise TimeoutError(f"analytics did not settle in {timeout:.0f} s; last counts {last_counts}")


async def consumed_totals(env: dict[str, str]) -> dict[str, float]:
    """Service → events its worker consumed so far (from the workers' /metrics)."""
    totals: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        for service in SERVICES:
            port = env[f"CLAIMFLOW_{service.upper()}_WORKER_METRICS_PORT"]
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            totals[service] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("claimflow_events_consumed_total{") and 'outcome="processed"' in line
            )
    return totals


# ---------------------------------------------------------------- phases


async def latency_at(
    tenant: Tenant,
    env: dict[str, str],
    rate: float,
    seconds: float,
    rng: random.Random,
    practices: list[dict[str, Any]],
    day: date,
    run: str,
) -> dict[str, Any]:
    """Single POSTs at a fixed offered rate: intake response times and POST-to-analytics times."""
    poster = Poster(tenant, BenchConfig())
    sent: dict[str, float] = {}
    total = max(2, int(rate * seconds))
    interval = 1 / rate
    started = time.monotonic()
    in_flight = []
    for number in range(total):
        body = encounter(practices[number % len(practices)], rng, day, number, run)
        await asyncio.sleep(max(0.0, started + number * interval - time.monotonic()))
        sent[body["ehr_encounter_id"]] = time.monotonic()
        in_flight.append(asyncio.create_task(poster.single(body)))
    await asyncio.gather(*in_flight)
    pending = {poster.ids[ehr]: at for ehr, at in sent.items() if ehr in poster.ids}
    end_to_end: list[float] = []
    deadline = time.monotonic() + 300
    while pending and time.monotonic() < deadline:
        seen = await charges_seen(env, tenant.organization_id)
        now = time.monotonic()
        for encounter_id in [e for e in pending if e in seen]:
            end_to_end.append(now - pending.pop(encounter_id))
        await asyncio.sleep(0.1)
    return {
        "offered_per_second": round(rate, 1),
        "requests": total,
        "intake": percentiles(poster.latencies),
        "end_to_end": percentiles(end_to_end),
        "end_to_end_missing": len(pending),
        "poll_resolution_ms": 100,
    }


async def kafka_floor(env: dict[str, str], messages: int, size: int) -> dict[str, float]:
    """aiokafka produce-then-consume of same-sized messages on a throw-away topic, with our producer settings."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"claimflow.bench-floor.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"])
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
        producer = AIOKafkaProducer(
            bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"], enable_idempotence=True, acks="all", linger_ms=5
        )
        await producer.start()
        payload = b"x" * size
        started = time.perf_counter()
        try:
            batch = [producer.send(topic, payload, key=str(i).encode()) for i in range(messages)]
            await asyncio.gather(*[await f for f in batch])
        finally:
            await producer.stop()
        produce_seconds = time.perf_counter() - started
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"],
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=topic,
            max_poll_records=500,
        )
        await consumer.start()
        received = 0
        started = time.perf_counter()
        try:
            while received < messages:
                batches = await consumer.getmany(timeout_ms=1000)
                received += sum(len(records) for records in batches.values())
        finally:
            await consumer.stop()
        consume_seconds = time.perf_counter() - started
        return {
            "kafka_produce_per_second": round(messages / produce_seconds),
            "kafka_consume_per_second": round(messages / consume_seconds),
            "message_bytes": size,
        }
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def postgres_floor(env: dict[str, str], rows: int) -> dict[str, float]:
    """asyncpg single-row inserts, one transaction each, into a throw-away table of the analytics rebuild schema."""
    connection = await asyncpg.connect(
        host=env["CLAIMFLOW_PG_HOST"],
        port=int(env["CLAIMFLOW_PG_PORT"]),
        database=env["CLAIMFLOW_PG_DATABASE"],
        user=env["CLAIMFLOW_ANALYTICS_OWNER_USER"],
        password=env["CLAIMFLOW_ANALYTICS_OWNER_PASSWORD"],
    )
    table = f"analytics_rebuild.bench_floor_{uuid.uuid4().hex[:8]}"
    try:
        await connection.execute(f"CREATE TABLE {table} (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        body = json.dumps({"x": "y" * 1500})
        started = time.perf_counter()
        for _ in range(rows):
            await connection.execute(f"INSERT INTO {table} VALUES ($1, $2)", uuid.uuid4(), body)
        seconds = time.perf_counter() - started
        return {"postgres_single_row_inserts_per_second": round(rows / seconds)}
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()


async def soak(
    tenant: Tenant, pids: dict[str, int], rate: float, minutes: float, practices: list[dict[str, Any]], day: date
) -> dict[str, Any]:
    """Half load for a while; resident memory per component after warm-up (a fifth of the time) and at the end."""
    poster = Poster(tenant, BenchConfig())
    rng = random.Random(99)
    seconds = minutes * 60
    warm_up_at = time.monotonic() + seconds / 5
    started = time.monotonic()
    warm: dict[str, Usage] = {}
    number = 0
    tasks: set[asyncio.Task[None]] = set()
    while time.monotonic() - started < seconds:
        if not warm and time.monotonic() >= warm_up_at:
            warm = snapshot(pids)
        body = encounter(practices[number % len(practices)], rng, day, number, "soak")
        task = asyncio.create_task(poster.single(body))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        number += 1
        await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
    await asyncio.gather(*tasks)
    final = snapshot(pids)
    warm = warm or final
    growth = {
        name: round((final[name].rss_bytes - warm[name].rss_bytes) / warm[name].rss_bytes * 100, 1)
        for name in pids
        if warm[name].rss_bytes
    }
    return {
        "minutes": minutes,
        "requests": number,
        "rss_growth_percent": growth,
        "max_growth_percent": max(growth.values()),
    }


async def run(config: BenchConfig) -> BenchResult:
    """One benchmark run against the running stack."""
    env = stack.load_env()
    result = BenchResult(started_at=datetime.now(UTC).isoformat(timespec="seconds"), config=asdict(config))
    client = ClaimflowClient(env)
    run_id = uuid.uuid4().hex[:6]
    try:
        today = datetime.now(UTC).date()
        tenant = await client.create_tenant(f"Benchmark {result.started_at}")
        await tenant.set_business_date(today)
        await tenant.sandbox(
            "PUT",
            "/v1/behaviour",
            json={"submitter": tenant.organization_id, "payment_lag_business_days": 0, "denial_rate": 0.05},
        )
        with console.status(f"seeding {config.practices} practices and {config.payers} payers"):
            practices = await seed(tenant, config, today)
        rng = random.Random(config.seed)
        bodies = [
            encounter(practices[n % len(practices)], rng, today - timedelta(days=rng.randrange(1, 28)), n, run_id)
            for n in range(config.encounters)
        ]
        pids = components()
        before, consumed_before = snapshot(pids), await consumed_totals(env)
        poster = Poster(tenant, config)
        started = time.monotonic()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            await poster.run(bodies, progress)
        with console.status("waiting until analytics has seen every outcome"):
            ended, outcomes = await settle(env, tenant.organization_id, poster.accepted, config.settle_timeout)
        after, consumed_after = snapshot(pids), await consumed_totals(env)
        seconds = max(ended - started, 1e-6)
        result.accepted, result.refused, result.outcomes = poster.accepted, poster.refused, outcomes
        result.seconds = round(seconds, 1)
        result.encounters_per_second = round(poster.accepted / seconds, 1)
        result.stage_events_per_second = {
            service: round((consumed_after[service] - consumed_before[service]) / seconds, 1)
            for service in consumed_after
        }
        per = max(poster.accepted, 1)
        result.cpu_ms_per_encounter = {
            name: round((after[name] - before[name]).cpu_seconds * 1000 / per, 3) for name in pids
        }
        result.cpu_ms_per_encounter["total"] = round(sum(result.cpu_ms_per_encounter.values()), 3)
        result.latency["throughput_run_intake"] = percentiles(poster.latencies)
        if config.latency_seconds > 0:
            with console.status("latency at half the measured maximum"):
                half = max(result.encounters_per_second / 2, 1.0)
                result.latency |= await latency_at(
                    tenant, env, half, config.latency_seconds, rng, practices, today - timedelta(days=1), run_id + "l"
                )
        if config.soak_minutes > 0:
            with console.status(f"soak: {config.soak_minutes:g} minutes at half load"):
                result.soak = await soak(
                    tenant,
                    pids,
                    max(result.encounters_per_second / 2, 1.0),
                    config.soak_minutes,
                    practices,
                    today - timedelta(days=2),
                )
        final = snapshot(pids)
        result.peak_rss_mib = {name: round(final[name].peak_rss_bytes / 2**20, 1) for name in pids}
        if config.floor_messages > 0:
            with console.status("raw floor of the broker and the database"):
                result.floor = await kafka_floor(env, config.floor_messages, 2048)
                result.floor |= await postgres_floor(env, max(config.floor_messages // 10, 100))
        return result
    finally:
        await client.close()


def report(result: BenchResult) -> Table:
    """The figures as a terminal table."""
    table = Table(title=f"Claimflow benchmark {result.started_at}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("encounters accepted / refused", f"{result.accepted} / {result.refused}")
    table.add_row("end-to-end encounters per second", f"{result.encounters_per_second}")
    for service, rate in result.stage_events_per_second.items():
        table.add_row(f"  {service} events consumed per second", f"{rate}")
    for name, ms in result.cpu_ms_per_encounter.items():
        table.add_row(f"CPU ms per encounter: {name}", f"{ms}")
    for name, figures in result.latency.items():
        if isinstance(figures, dict):
            table.add_row(f"latency {name}", ", ".join(f"{k} {v}" for k, v in figures.items()))
    if result.soak:
        table.add_row("soak: max RSS growth after warm-up", f"{result.soak['max_growth_percent']}%")
    for name, mib in result.peak_rss_mib.items():
        table.add_row(f"peak RSS MiB: {name}", f"{mib}")
    for name, value in result.floor.items():
        table.add_row(f"floor: {name}", f"{value}")
    return table


def save(result: BenchResult, folder: Path = RESULTS) -> Path:
    """Write the run as JSON (timestamped, and as latest.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(result), indent=2) + "\n"
    path = folder / f"{result.started_at.replace(':', '').replace('+0000', 'Z')}.json"
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m deploy.bench`."""
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=defaults.encounters)
    parser.add_argument("--practices", type=int, default=defaults.practices)
    parser.add_argument("--payers", type=int, default=defaults.payers)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--batch-share", type=float, default=defaults.batch_share)
    parser.add_argument("--latency-seconds", type=float, default=defaults.latency_seconds)
    parser.add_argument("--soak-minutes", type=float, default=defaults.soak_minutes)
    parser.add_argument("--floor-messages", type=int, default=defaults.floor_messages)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-start", action="store_true", help="use the running stack; fail if it is not running")
    args = parser.parse_args(argv)
    config = BenchConfig(
        encounters=args.encounters,
        practices=args.practices,
        payers=args.payers,
        concurrency=args.concurrency,
        batch_share=args.batch_share,
        latency_seconds=args.latency_seconds,
        soak_minutes=args.soak_minutes,
        floor_messages=args.floor_messages,
        seed=args.seed,
    )
    try:
        if not args.no_start and not all(pid_of(name) for name in ["postgres", "kafka", *stack.process_names()]):
            stack.up()
        result = asyncio.run(run(config))
    except (StackError, TimeoutError, RuntimeError, httpx.HTTPError, OSError) as error:
        console.print(f"[red]benchmark stopped:[/] {type(error).__name__}: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
    console.print(report(result))
    console.print(f"results written to {save(result, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
