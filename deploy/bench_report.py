"""What a run's figures mean: stage costs against the floor, what bounds the run, targets, tables and the saved JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table

from deploy.bench_result import RESULTS, BenchResult, stamp

# ---------------------------------------------------------------- what the figures mean


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """numerator / denominator rounded, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, digits)


def rss_growth(
    seconds: list[float], mib: dict[str, list[float]], start: float, end: float
) -> dict[str, dict[str, float]]:
    """Each process's resident growth between the first and the last fifth of [start, end] of a soak, from samples.

    `seconds[i]` is when sample i was taken, `mib[name][i]` what the process held then. "median": growth of the
    median sample of the last fifth over that of the first, the target's figure: a process that builds and frees a
    large working set now and then (analytics' gauge pass) is otherwise measured by where in its cycle two readings
    happen to fall, and a leak moves every sample. "peak": the same for the largest sample of each fifth.
    """
    fifth = (end - start) / 5
    first = [i for i, at in enumerate(seconds) if start <= at < start + fifth]
    last = [i for i, at in enumerate(seconds) if end - fifth <= at <= end]
    growth: dict[str, dict[str, float]] = {"median": {}, "peak": {}}
    if not first or not last:
        return growth
    for name, sizes in mib.items():
        # A sample of 0 is a process that was not running then (restarted): it says nothing about growth.
        before_sizes, after_sizes = [sizes[i] for i in first if sizes[i] > 0], [sizes[i] for i in last if sizes[i] > 0]
        if not before_sizes or not after_sizes:
            continue
        for kind, pick in (("median", statistics.median), ("peak", max)):
            before, after = pick(before_sizes), pick(after_sizes)
            growth[kind][name] = round((after - before) / before * 100, 1)
    return growth


def stage_costs(
    *,
    accepted: int,
    seconds: float,
    events: dict[str, float],
    cpu_ms_per_encounter: dict[str, float],
    postgres_ms_per_encounter: dict[str, float],
    floor: dict[str, float],
    statements_per_encounter: dict[str, float] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Each service stage's cost per event and per encounter, and as a multiple of the floor's.

    A stage is a service's API and worker processes; its events are what its worker consumed during the run
    (intake's are the encounters it accepted); its database CPU is that of the backends of its runtime role.
    `cpu_multiple` = stage CPU per event / floor CPU per event; `rate_multiple` = floor events per second / stage
    events per second. `statements_per_encounter`: what its API and worker sent to PostgreSQL, BEGIN and COMMIT
    included (None when not counted).
    """
    statements = statements_per_encounter or {}
    floor_cpu_per_event = floor.get("floor_cpu_ms_per_event")
    floor_rate = floor.get("floor_events_per_second")
    costs: dict[str, dict[str, float | None]] = {}
    for service, count in events.items():
        cpu = cpu_ms_per_encounter.get(f"{service}-api", 0.0) + cpu_ms_per_encounter.get(f"{service}-worker", 0.0)
        database = postgres_ms_per_encounter.get(service, 0.0)
        per_encounter = ratio(count, accepted)
        cpu_per_event = ratio(cpu, per_encounter)
        database_per_event = ratio(database, per_encounter)
        rate = ratio(count, seconds, 1)
        costs[service] = {
            "events": count,
            "events_per_encounter": per_encounter,
            "events_per_second": rate,
            "cpu_ms_per_encounter": round(cpu, 3),
            "cpu_ms_per_event": cpu_per_event,
            "postgres_cpu_ms_per_event": database_per_event,
            "cpu_multiple": ratio(cpu_per_event, floor_cpu_per_event, 1),
            "cpu_multiple_with_postgres": ratio(
                None if cpu_per_event is None else cpu_per_event + (database_per_event or 0.0), floor_cpu_per_event, 1
            ),
            "rate_multiple": ratio(floor_rate, rate, 1),
            "statements_per_encounter": (
                round(statements.get(f"{service}-api", 0.0) + statements.get(f"{service}-worker", 0.0), 1)
                if statements
                else None
            ),
        }
    return costs


def bounding_stage(costs: dict[str, dict[str, float | None]]) -> str | None:
    """The service stage with the highest CPU per encounter (None when there are no stages)."""
    return max(costs, key=lambda service: costs[service]["cpu_ms_per_encounter"] or 0.0, default=None)


@dataclass(frozen=True)
class Target:
    """One target of issue 9: a measured figure that must be at most (or at least) a limit."""

    key: str
    name: str
    limit: float
    unit: str
    at_most: bool


TARGETS = (
    Target("throughput", "end-to-end throughput", 500, "encounters/s", at_most=False),
    Target("cpu", "CPU per encounter, all processes", 3, "ms", at_most=True),
    Target("intake_p99", "intake response p99 at half load", 50, "ms", at_most=True),
    Target("end_to_end_p95", "POST to analytics p95 at half load", 2000, "ms", at_most=True),
    Target("soak_rss_growth", "soak: resident memory growth after warm-up", 10, "%", at_most=True),
)


def measured(result: BenchResult) -> dict[str, float | None]:
    """Target key → the run's figure for it (None when the phase did not run)."""
    return {
        "throughput": result.encounters_per_second if result.accepted else None,
        "cpu": result.cpu_ms_per_encounter.get("total"),
        "intake_p99": result.latency.get("intake", {}).get("p99_ms"),
        "end_to_end_p95": result.latency.get("end_to_end", {}).get("p95_ms"),
        "soak_rss_growth": result.soak.get("max_growth_percent"),
    }


def evaluate_targets(result: BenchResult) -> list[dict[str, Any]]:
    """Every target with the measured value, met or not (None: not measured), and what bounds it when not met.

    Throughput, CPU and end-to-end latency are bounded by the bounding stage; intake's response time by intake;
    memory growth by the component that grew most. POST-to-analytics latency is not met while any encounter of
    the latency phase never arrived.
    """
    figures = measured(result)
    stage = result.bounded_by.get("stage")
    growth: dict[str, float] = result.soak.get("rss_growth_percent", {})
    bounds = {
        "throughput": stage,
        "cpu": stage,
        "intake_p99": "intake",
        "end_to_end_p95": stage,
        "soak_rss_growth": max(growth, key=lambda name: growth[name], default=None),
    }
    rows = []
    for target in TARGETS:
        value = figures[target.key]
        met = None if value is None else (value <= target.limit if target.at_most else value >= target.limit)
        if target.key == "end_to_end_p95" and result.latency.get("end_to_end_missing"):
            met = False
        rows.append(
            {
                "target": target.name,
                "limit": f"{'≤' if target.at_most else '≥'} {target.limit:g} {target.unit}",
                "measured": value,
                "met": met,
                "bound_by": bounds[target.key] if met is False else None,
            }
        )
    return rows


def describe_bound(result: BenchResult) -> dict[str, Any]:
    """The bounding stage with its figures, its busiest process's profile and a sentence saying so."""
    stage = bounding_stage(result.stage_cost)
    if stage is None:
        return {}
    cost = result.stage_cost[stage]
    process = max((f"{stage}-api", f"{stage}-worker"), key=lambda name: result.cpu_ms_per_encounter.get(name, 0.0))
    profiled = result.profile.get("processes", {}).get(process, {})
    frames = profiled.get("deepest_project") or []
    floor = result.floor.get("floor_cpu_ms_per_event")
    text = (
        f"{stage} bounds the run: {cost['cpu_ms_per_encounter']} ms CPU per encounter in its API and worker "
        f"({cost['events_per_encounter']} events per encounter at {cost['cpu_ms_per_event']} ms each)"
    )
    if floor:
        text += f", {cost['cpu_multiple']}× the floor's {floor} ms per event (Kafka message + committed insert)"
    if frames:
        text += f"; profile of {process}: " + ", ".join(f"{f['share']:.0%} {f['frame']}" for f in frames[:3])
    else:
        text += f"; no profile of {process} ({profiled.get('error') or result.profile.get('status', 'off')})"
    return {
        "stage": stage,
        "process": process,
        "cpu_ms_per_encounter": cost["cpu_ms_per_encounter"],
        "cpu_multiple": cost["cpu_multiple"],
        "profile": profiled.get("file"),
        "top_frames": frames,
        "summary": text,
    }


# ---------------------------------------------------------------- the terminal and the file


def figure(value: float | None) -> str:
    """A figure for the table ('–' when missing)."""
    return "–" if value is None else f"{value:g}"


def figures_table(result: BenchResult) -> Table:
    """The run's figures, one per row."""
    table = Table(title=f"Claimflow benchmark {result.started_at}")
    table.add_column("figure", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_row("encounters accepted / refused", f"{result.accepted} / {result.refused}")
    table.add_row("end-to-end encounters per second", f"{result.encounters_per_second}")
    for service, rate in result.stage_events_per_second.items():
        table.add_row(f"  {service} events consumed per second", f"{rate}")
    for name, ms in result.cpu_ms_per_encounter.items():
        table.add_row(f"CPU ms per encounter: {name}", f"{ms}")
    for name, ms in result.postgres_cpu_ms_per_encounter.items():
        table.add_row(f"  postgres CPU ms per encounter: {name}", f"{ms}")
    for name, figures in result.latency.items():
        if isinstance(figures, dict):
            table.add_row(f"latency {name}", ", ".join(f"{k} {v}" for k, v in figures.items()))
    if result.soak:
        grown = result.soak["max_growth_percent"]
        table.add_row("soak: max RSS growth after warm-up (medians)", f"{grown}%" if grown is not None else "–")
        for kind in ("peak_growth_percent", "endpoint_growth_percent"):
            grown = result.soak.get(kind) or {}
            largest = max(grown, key=lambda name: grown[name], default=None)
            if largest is not None:
                label = "largest samples" if kind.startswith("peak") else "two readings"
                table.add_row(f"soak: max RSS growth ({label})", f"{grown[largest]}% ({largest})")
    for name, mib in result.peak_rss_mib.items():
        table.add_row(f"peak RSS MiB: {name}", f"{mib}")
    for name, value in result.floor.items():
        table.add_row(f"floor: {name}", f"{value}")
    for name, phase in result.restarted.items():
        table.add_row(f"[red]restarted during the {phase} (CPU: its successor's, start-up included)", name)
    return table


def stage_table(result: BenchResult) -> Table:
    """Each service stage's cost per event and its multiples of the floor."""
    floor_cpu_text = figure(result.floor.get("floor_cpu_ms_per_event"))
    floor_rate_text = figure(result.floor.get("floor_events_per_second"))
    table = Table(
        title="stage cost against the floor",
        caption=f"floor per event (a Kafka message produced and consumed + a committed insert): {floor_cpu_text} ms"
        f" CPU, {floor_rate_text} events/s. ev: events consumed (intake: encounters accepted); pg: its database"
        " backends; ×floor: CPU per event over the floor's; ×rate: floor rate over the stage's; sql/enc: statements"
        " its API and worker sent per encounter",
    )
    table.add_column("stage", no_wrap=True)
    for heading in ("ev/enc", "ms/enc", "ms/ev", "pg ms/ev", "×floor", "×floor+pg", "ev/s", "×rate", "sql/enc"):
        table.add_column(heading, justify="right")
    keys = (
        "events_per_encounter",
        "cpu_ms_per_encounter",
        "cpu_ms_per_event",
        "postgres_cpu_ms_per_event",
        "cpu_multiple",
        "cpu_multiple_with_postgres",
        "events_per_second",
        "rate_multiple",
        "statements_per_encounter",
    )
    for service, cost in result.stage_cost.items():
        table.add_row(service, *(figure(cost.get(key)) for key in keys))
    return table


def profile_table(profile: dict[str, Any]) -> Table:
    """Busy samples and the two deepest project frames of every profiled process."""
    table = Table(
        title=f"profiles: {profile['status']}",
        caption=f"{profile['recorded_seconds']} s at {profile['rate_hz']} Hz; py-spy used "
        f"{profile['profiler_cpu_seconds']} CPU s; raw stacks in {profile['folder']}",
    )
    table.add_column("process", no_wrap=True)
    table.add_column("busy samples", justify="right")
    table.add_column("busy fraction", justify="right")
    table.add_column("deepest project frames")
    for name, figures in profile["processes"].items():
        top = "; ".join(f"{f['share']:.0%} {f['frame']}" for f in figures.get("deepest_project", [])[:2])
        table.add_row(
            name, figure(figures.get("busy_samples")), figure(figures.get("busy_fraction")), top or figures.get("error")
        )
    return table


def target_table(targets: list[dict[str, Any]]) -> Table:
    """Every target, the measured value, met or not and what bounds it."""
    table = Table(title="targets")
    for heading in ("target", "limit", "measured", "met", "bound by"):
        table.add_column(heading)
    for row in targets:
        met = {True: "[green]met", False: "[red]not met", None: "not measured"}[row["met"]]
        table.add_row(row["target"], row["limit"], figure(row["measured"]), met, row["bound_by"] or "")
    return table


def report(result: BenchResult) -> Group:
    """The run for the terminal: figures, stage costs against the floor, profiles, targets, what bounds it."""
    parts: list[Table | str] = [figures_table(result)]
    if result.stage_cost:
        parts.append(stage_table(result))
    if result.profile.get("processes"):
        parts.append(profile_table(result.profile))
    elif result.profile:
        parts.append(f"profile: {result.profile.get('status')} {result.profile.get('reason', '')}")
    if result.targets:
        parts.append(target_table(result.targets))
    if result.bounded_by:
        parts.append(result.bounded_by["summary"])
    return Group(*parts)


def save(result: BenchResult, folder: Path = RESULTS) -> Path:
    """Write the run as JSON (timestamped, and as latest.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(result), indent=2) + "\n"
    path = folder / f"{stamp(result.started_at)}.json"
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path
