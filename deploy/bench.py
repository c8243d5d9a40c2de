"""`make bench`: a bounded load through the whole pipeline, measured from the outside.

Reports end-to-end and per-stage throughput, CPU milliseconds per encounter for every process (OS accounting),
latency at half the measured maximum, peak and soak memory, and the raw floor of the same broker and database;
each service stage's CPU per event as a multiple of the floor's, the stage that bounds the run, a sampling profile
of every Python process, and each target met or not. Results go to bench/results/<timestamp>.json and latest.json,
profiles to bench/results/profiles/<timestamp>/; docs/performance.md explains the method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deploy import stack
from deploy.bench_floor import measure_floor
from deploy.bench_load import BenchConfig, Poster, encounter, seed
from deploy.bench_observe import ChargeProbe, analytics_outcomes, consumed_totals, statement_totals
from deploy.bench_report import describe_bound, evaluate_targets, report, rss_growth, save, stage_costs
from deploy.bench_result import RESULTS, BenchResult, stamp
from deploy.client import ClaimflowClient, Tenant
from deploy.procstats import (
    UNATTRIBUTED,
    Usage,
    command_line,
    cpu_by_label,
    postgres_role,
    process_table,
    tree_cpu,
    usage,
)
from deploy.profiles import ProfileRecorder, ProfileSettings
from deploy.runtime import SERVICES, StackError, pid_of

console = Console()


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
    """Single POSTs at a fixed offered rate: intake response times and POST-to-analytics times.

    A probe polls analytics every 100 ms from the first POST on, asking only about the encounters still awaited
    (one indexed query on one connection), so the measurement adds little load of its own.
    """
    poster = Poster(tenant, BenchConfig())
    total = max(2, int(rate * seconds))
    interval = 1 / rate
    awaited: dict[str, float] = {}  # encounter id → when its POST was sent
    end_to_end: list[float] = []
    posting_done = asyncio.Event()

    async def post(body: dict[str, Any]) -> None:
        sent_at = time.monotonic()
        await poster.single(body)
        if (encounter_id := poster.ids.get(body["ehr_encounter_id"])) is not None:
            awaited[encounter_id] = sent_at

    async def probe() -> None:
        deadline = None
        async with ChargeProbe(env, tenant.organization_id) as charges:
            while not posting_done.is_set() or awaited:
                if posting_done.is_set():
                    deadline = deadline or time.monotonic() + 300
                    if time.monotonic() > deadline:
                        return
                if awaited:
                    seen = await charges.seen(list(awaited))
                    now = time.monotonic()
                    for encounter_id in seen & awaited.keys():
                        end_to_end.append(now - awaited.pop(encounter_id))
                await asyncio.sleep(0.1)

    prober = asyncio.create_task(probe())
    started = time.monotonic()
    in_flight = []
    for number in range(total):
        body = encounter(practices[number % len(practices)], rng, day, number, run)
        await asyncio.sleep(max(0.0, started + number * interval - time.monotonic()))
        in_flight.append(asyncio.create_task(post(body)))
    await asyncio.gather(*in_flight)
    posting_done.set()
    await prober
    pending = awaited
    return {
        "offered_per_second": round(rate, 1),
        "requests": total,
        "intake": percentiles(poster.latencies),
        "end_to_end": percentiles(end_to_end),
        "end_to_end_missing": len(pending),
        "poll_resolution_ms": 100,
    }


SOAK_SAMPLE_SECONDS = 5.0


async def soak(
    tenant: Tenant, pids: dict[str, int], rate: float, minutes: float, practices: list[dict[str, Any]], day: date
) -> dict[str, Any]:
    """Half load for a while, every component's resident memory sampled every few seconds; growth between the
    first and the last fifth after warm-up (the first fifth of the time), and between the readings at warm-up and
    at the end."""
    poster = Poster(tenant, BenchConfig())
    rng = random.Random(99)
    seconds = minutes * 60
    started = time.monotonic()
    sampled_at: list[float] = []
    sizes: dict[str, list[float]] = {name: [] for name in pids}

    async def sample() -> None:
        while True:
            readings = snapshot(pids)
            sampled_at.append(round(time.monotonic() - started, 1))
            for name in pids:
                sizes[name].append(round(readings[name].rss_bytes / 2**20, 1))
            await asyncio.sleep(min(SOAK_SAMPLE_SECONDS, seconds / 10))

    sampler = asyncio.create_task(sample())
    number = 0
    tasks: set[asyncio.Task[None]] = set()
    try:
        while time.monotonic() - started < seconds:
            body = encounter(practices[number % len(practices)], rng, day, number, "soak")
            task = asyncio.create_task(poster.single(body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            number += 1
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
        await asyncio.gather(*tasks)
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    warm_up = seconds / 5
    warm = next((i for i, at in enumerate(sampled_at) if at >= warm_up), 0)
    endpoints = {
        name: round((sizes[name][-1] - sizes[name][warm]) / sizes[name][warm] * 100, 1)
        for name in pids
        if sizes[name] and sizes[name][warm]
    }
    growth = rss_growth(sampled_at, sizes, warm_up, sampled_at[-1] if sampled_at else seconds)
    return {
        "minutes": minutes,
        "requests": number,
        "rss_growth_percent": growth["median"],
        "max_growth_percent": max(growth["median"].values(), default=None),
        "peak_growth_percent": growth["peak"],
        "endpoint_growth_percent": endpoints,
        "samples": {"seconds": sampled_at, "rss_mib": sizes},
    }


# ---------------------------------------------------------------- the run


def postgres_labels(roles: dict[str, str]) -> Callable[[int], str]:
    """pid → the service whose runtime or relay role a PostgreSQL backend serves (empty for anything else)."""

    def label(pid: int) -> str:
        """The service of one backend."""
        return roles.get(postgres_role(command_line(pid)), UNATTRIBUTED)

    return label


async def run(config: BenchConfig, profile: ProfileSettings | None = None, out: Path = RESULTS) -> BenchResult:
    """One benchmark run against the running stack: floor, throughput with profiles, latency, soak."""
    env = stack.load_env()
    profile = profile or ProfileSettings()
    result = BenchResult(started_at=datetime.now(UTC).isoformat(timespec="seconds"), config=asdict(config))
    # The load keeps `concurrency` requests in flight, batches of `batch_size` among them: on a saturated stack a
    # batch waits behind the others, concurrency × batch_size / throughput seconds (some 30 s at 25 encounters a
    # second), so the run's requests may take minutes before anything is wrong.
    client = ClaimflowClient(env, timeout=300)
    run_id = uuid.uuid4().hex[:6]
    roles = {
        env[f"CLAIMFLOW_{service.upper()}_{kind}_USER"]: service for service in SERVICES for kind in ("DB", "RELAY")
    }
    recorder: ProfileRecorder | None = None
    try:
        pids = components()
        if config.floor_messages > 0:
            with console.status("raw floor of the broker and the database, on the idle stack"):
                result.floor = await measure_floor(env, pids, config.floor_messages)
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
        label = postgres_labels(roles)
        before, consumed_before = snapshot(pids), await consumed_totals(env)
        statements_before = await statement_totals(env)
        database_before = tree_cpu(pids["postgres"], label=label)
        recorder = ProfileRecorder(
            profile,
            {name: pids[name] for name in stack.process_names()},
            out / "profiles" / stamp(result.started_at),
        )
        poster = Poster(tenant, config)
        started = time.monotonic()
        recorder.start()
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
        now_running = {name: pid_of(name) for name in pids}
        result.restarted = {name: "throughput run" for name, pid in now_running.items() if pid != pids[name]}
        after = snapshot({name: now_running[name] or pids[name] for name in pids})
        consumed_after = await consumed_totals(env)
        statements_after = await statement_totals(env)
        database_after = tree_cpu(pids["postgres"], label=label)
        with console.status("writing and summarising the profiles"):
            result.profile = await recorder.stop()
        seconds = max(ended - started, 1e-6)
        result.accepted, result.refused, result.outcomes = poster.accepted, poster.refused, outcomes
        result.seconds = round(seconds, 1)
        result.encounters_per_second = round(poster.accepted / seconds, 1)
        consumed = {  # a counter lower than before was reset by a restart of the worker: count since then
            service: count - consumed_before[service] if count >= consumed_before[service] else count
            for service, count in consumed_after.items()
        }
        result.stage_events_per_second = {service: round(count / seconds, 1) for service, count in consumed.items()}
        per = max(poster.accepted, 1)
        result.statements_per_encounter = {  # the same for a counter reset by a restart
            name: round((count - statements_before[name] if count >= statements_before[name] else count) / per, 2)
            for name, count in statements_after.items()
        }
        result.cpu_ms_per_encounter = {  # a restarted process: what its successor used (flagged)
            name: round(
                (after[name].cpu_seconds if name in result.restarted else (after[name] - before[name]).cpu_seconds)
                * 1000
                / per,
                3,
            )
            for name in pids
        }
        result.cpu_ms_per_encounter["total"] = round(sum(result.cpu_ms_per_encounter.values()), 3)
        result.postgres_cpu_ms_per_encounter = {
            service or "other": round(cpu * 1000 / per, 3)
            for service, cpu in sorted(cpu_by_label(database_before, database_after).items())
        }
        result.stage_cost = stage_costs(
            accepted=poster.accepted,
            seconds=seconds,
            events=consumed | {"intake": float(poster.accepted)},
            cpu_ms_per_encounter=result.cpu_ms_per_encounter,
            postgres_ms_per_encounter=result.postgres_cpu_ms_per_encounter,
            floor=result.floor,
            statements_per_encounter=result.statements_per_encounter,
        )
        result.bounded_by = describe_bound(result)
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
        for name, pid in pids.items():
            if pid_of(name) != pid:
                result.restarted.setdefault(name, "latency or soak")
        result.targets = evaluate_targets(result)
        return result
    finally:
        if recorder is not None and not result.profile:  # the run failed inside the window: stop py-spy now
            await recorder.stop()
        await client.close()


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
    profile_defaults = ProfileSettings()
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=profile_defaults.enabled,
        help="sample every Python process of the stack with py-spy during the throughput run (default: on)",
    )
    parser.add_argument("--profile-delay", type=float, default=profile_defaults.delay_seconds, metavar="SECONDS")
    parser.add_argument("--profile-seconds", type=float, default=profile_defaults.seconds, metavar="SECONDS")
    parser.add_argument("--profile-rate", type=int, default=profile_defaults.rate_hz, metavar="HZ")
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
        profile = ProfileSettings(
            enabled=args.profile,
            delay_seconds=args.profile_delay,
            seconds=args.profile_seconds,
            rate_hz=args.profile_rate,
        )
        result = asyncio.run(run(config, profile, args.out))
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
