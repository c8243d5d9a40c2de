"""The benchmark harness: /proc accounting, the floor multiple and targets worked out right, a tiny run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy import bench, bench_floor, bench_observe, bench_report, bench_result
from deploy.procstats import (
    TICKS,
    TreeCpu,
    cpu_by_label,
    parse_reaped_cpu,
    parse_stat,
    parse_status_memory,
    postgres_role,
    tree,
)
from deploy.profiles import py_spy
from deploy.runtime import SERVICES, process_names


def test_stat_lines_whose_command_holds_spaces_and_parentheses_parse() -> None:
    fields = ["S", "41", *["0"] * 9, str(3 * TICKS), str(TICKS), *["0"] * 30]
    parent, cpu = parse_stat("4242 (uvicorn (intake) x) " + " ".join(fields))
    assert parent == 41
    assert cpu == pytest.approx(4.0)


def test_cpu_of_ended_children_the_process_waited_for_is_read_from_cutime_and_cstime() -> None:
    fields = ["S", "41", *["0"] * 9, str(TICKS), str(TICKS), str(5 * TICKS), str(2 * TICKS), *["0"] * 30]
    assert parse_reaped_cpu("4242 (postgres) " + " ".join(fields)) == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("postgres: analytics_app claimflow 127.0.0.1(48958) idle", "analytics_app"),
        ("postgres: coding_app claimflow 127.0.0.1(49024) idle in transaction", "coding_app"),
        ("postgres: main: intake_app claimflow [local] INSERT", "intake_app"),
        ("postgres: checkpointer", ""),
        ("postgres: autovacuum worker claimflow", ""),
        ("postgres: logical replication launcher", ""),
        ("postgres: parallel worker for PID 4242", ""),
    ],
)
def test_a_backend_names_its_role_in_its_title_and_background_processes_have_none(title: str, role: str) -> None:
    assert postgres_role(title) == role


def test_database_cpu_goes_to_the_role_of_each_backend_and_ended_ones_stay_unattributed() -> None:
    before = TreeCpu(by_pid={10: 1.0, 11: 2.0, 12: 0.5}, labels={10: "", 11: "coding", 12: "analytics"}, reaped=5.0)
    # 11 used 1.0 more; 12 used 0.25 more and ended (the postmaster reaped its 0.75); 13 is new with 0.25.
    after = TreeCpu(by_pid={10: 1.5, 11: 3.0, 13: 0.25}, labels={10: "", 11: "coding", 13: "analytics"}, reaped=5.75)
    spent = cpu_by_label(before, after)
    assert spent["coding"] == pytest.approx(1.0)
    assert spent["analytics"] == pytest.approx(0.25)
    assert spent[""] == pytest.approx(0.5 + 0.25)  # the background process 10 and what 12 used before it ended
    assert sum(spent.values()) == pytest.approx(after.total() - before.total())


def test_status_memory_is_read_in_bytes_and_missing_for_kernel_threads() -> None:
    text = "Name:\tpostgres\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t1\n"
    assert parse_status_memory(text) == (1024 * 1024, 2048 * 1024)
    assert parse_status_memory("Name:\tkthreadd\n") == (0, 0)


def test_a_component_is_its_process_and_every_descendant() -> None:
    table = {1: (0, 0.0), 10: (1, 1.0), 11: (10, 1.0), 12: (11, 1.0), 20: (1, 1.0)}
    assert sorted(tree(10, table)) == [10, 11, 12]
    assert tree(99, table) == []


def test_percentiles_are_in_milliseconds() -> None:
    figures = bench.percentiles([i / 1000 for i in range(1, 101)])
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p99_ms"] == pytest.approx(99.0, abs=0.1)
    assert bench.percentiles([0.1]) == {}


FLOOR = {
    "kafka_cpu_ms_per_message": 0.05,
    "postgres_cpu_ms_per_insert": 0.25,
    "kafka_round_trip_per_second": 6000,
    "postgres_single_row_inserts_per_second": 2000,
}


def test_an_event_at_the_floor_costs_a_kafka_round_trip_plus_a_committed_insert() -> None:
    # CPU adds: 0.05 + 0.25 ms; one after the other: 1 / (1/6000 + 1/2000) = 6000 / 4 events a second.
    assert bench_floor.floor_per_event(FLOOR) == {"floor_cpu_ms_per_event": 0.3, "floor_events_per_second": 1500.0}


def stage_costs_of_a_run(floor: dict[str, float]) -> dict[str, dict[str, float | None]]:
    """Stage costs of 100 encounters in 10 s with hand-picked CPU figures."""
    return bench_report.stage_costs(
        accepted=100,
        seconds=10,
        events={"intake": 100, "coding": 100, "analytics": 600, "remittance": 0},
        cpu_ms_per_encounter={
            "intake-api": 6.0,
            "intake-worker": 3.0,
            "coding-api": 0.5,
            "coding-worker": 5.5,
            "analytics-api": 1.0,
            "analytics-worker": 29.0,
            "remittance-api": 0.2,
            "remittance-worker": 0.3,
            "postgres": 20.0,
        },
        postgres_ms_per_encounter={"coding": 3.0, "analytics": 6.0, "other": 11.0},
        floor=floor,
        statements_per_encounter={"coding-api": 0.25, "coding-worker": 5.75, "intake-api": 8.0},
    )


def test_each_stage_cost_is_its_cpu_per_event_over_the_floor_cpu_per_event() -> None:
    costs = stage_costs_of_a_run({"floor_cpu_ms_per_event": 0.3, "floor_events_per_second": 1500})
    # coding: 1 event per encounter, 6 ms of CPU each (20× 0.3 ms), 3 ms of its database backends (30× with them),
    # 10 events a second against 1,500 at the floor.
    assert costs["coding"] == {
        "events": 100,
        "events_per_encounter": 1.0,
        "events_per_second": 10.0,
        "cpu_ms_per_encounter": 6.0,
        "cpu_ms_per_event": 6.0,
        "postgres_cpu_ms_per_event": 3.0,
        "cpu_multiple": 20.0,
        "cpu_multiple_with_postgres": 30.0,
        "rate_multiple": 150.0,
        "statements_per_encounter": 6.0,
    }
    # analytics: 6 events per encounter share 30 ms: 5 ms each (16.7×), 1 ms of database each (20× with it).
    assert costs["analytics"]["cpu_ms_per_event"] == 5.0
    assert costs["analytics"]["cpu_multiple"] == 16.7
    assert costs["analytics"]["cpu_multiple_with_postgres"] == 20.0
    assert costs["analytics"]["rate_multiple"] == 25.0
    assert costs["intake"]["cpu_ms_per_event"] == 9.0
    assert costs["intake"]["postgres_cpu_ms_per_event"] == 0.0
    assert costs["intake"]["statements_per_encounter"] == 8.0
    assert costs["remittance"]["statements_per_encounter"] == 0.0  # counted, none sent


def test_statements_are_read_from_the_counter_of_every_label_set() -> None:
    exposition = "\n".join(
        [
            "# TYPE claimflow_db_statements_total counter",
            'claimflow_db_statements_total{process="worker",service="coding"} 120.0',
            'claimflow_db_statements_total{process="api",service="coding"} 3.0',
            'claimflow_db_statements_created{process="api",service="coding"} 1.7e+09',
            'claimflow_events_consumed_total{outcome="processed",topic="t"} 9.0',
        ]
    )
    assert bench_observe.counter_total(exposition, "claimflow_db_statements_total", "") == 123.0
    assert bench_observe.counter_total(exposition, "claimflow_events_consumed_total", 'outcome="processed"') == 9.0


def test_a_stage_without_events_or_a_run_without_floor_has_no_multiple() -> None:
    costs = stage_costs_of_a_run({"floor_cpu_ms_per_event": 0.3, "floor_events_per_second": 1500})
    assert costs["remittance"]["cpu_ms_per_encounter"] == 0.5
    assert costs["remittance"]["cpu_ms_per_event"] is None
    assert costs["remittance"]["cpu_multiple"] is None
    without_floor = stage_costs_of_a_run({})
    assert without_floor["coding"]["cpu_multiple"] is None
    assert without_floor["coding"]["rate_multiple"] is None


def test_the_bounding_stage_costs_most_per_encounter_not_per_event() -> None:
    costs = stage_costs_of_a_run({"floor_cpu_ms_per_event": 0.3, "floor_events_per_second": 1500})
    assert bench_report.bounding_stage(costs) == "analytics"  # 30 ms per encounter, though only 5 ms per event
    assert bench_report.bounding_stage({}) is None


def test_targets_say_met_or_not_and_name_what_bounds_each_one_missed() -> None:
    result = bench_result.BenchResult(started_at="2026-12-01T10:00:00+00:00", config={})
    result.accepted, result.encounters_per_second = 600, 28.0
    result.cpu_ms_per_encounter = {"total": 58.0}
    result.latency = {"intake": {"p99_ms": 45.0}, "end_to_end": {"p95_ms": 1500.0}, "end_to_end_missing": 0}
    result.soak = {"rss_growth_percent": {"postgres": 15.0, "intake-api": 3.0}, "max_growth_percent": 15.0}
    result.bounded_by = {"stage": "analytics"}
    rows = {row["target"]: row for row in bench_report.evaluate_targets(result)}
    assert [(row["measured"], row["met"], row["bound_by"]) for row in rows.values()] == [
        (28.0, False, "analytics"),
        (58.0, False, "analytics"),
        (45.0, True, None),
        (1500.0, True, None),
        (15.0, False, "postgres"),
    ]
    assert rows["end-to-end throughput"]["limit"] == "≥ 500 encounters/s"
    result.latency["end_to_end_missing"] = 3
    result.soak = {}
    rows = {row["target"]: row for row in bench_report.evaluate_targets(result)}
    assert rows["POST to analytics p95 at half load"]["met"] is False
    assert rows["soak: resident memory growth after warm-up"]["met"] is None


def test_soak_growth_compares_the_first_and_last_fifth_so_a_periodic_working_set_is_not_a_leak() -> None:
    seconds = [float(t) for t in range(0, 600, 5)]
    # Every 60 s a pass holds 100 MiB more for 10 s; the leaking process gains 0.05 MiB a second.
    cycling = [200.0 + (100.0 if t % 60 >= 50 else 0.0) for t in seconds]
    leaking = [200.0 + 0.05 * t for t in seconds]
    growth = bench_report.rss_growth(seconds, {"cycling": cycling, "leaking": leaking}, 100.0, 595.0)
    assert growth["median"]["cycling"] == 0.0
    assert growth["peak"]["cycling"] == 0.0
    # Medians of the samples at 100–195 s and at 500–595 s: those at 147.5 s and 547.5 s.
    assert growth["median"]["leaking"] == round((227.375 - 207.375) / 207.375 * 100, 1)
    assert bench_report.rss_growth([1.0], {"p": [5.0]}, 100.0, 595.0) == {"median": {}, "peak": {}}
    # A process restarted late in the soak (no reading, 0) is judged by the samples it has.
    restarted = [0.0 if 560 <= t < 580 else size for t, size in zip(seconds, leaking, strict=True)]
    with_gap = bench_report.rss_growth(seconds, {"leaking": restarted}, 100.0, 595.0)
    assert 0 < with_gap["median"]["leaking"] < 10


@pytest.mark.usefixtures("stack_env")
def test_a_tiny_benchmark_run_measures_every_stage(tmp_path: Path) -> None:
    argv = ["--encounters", "24", "--practices", "2", "--payers", "2", "--latency-seconds", "2"]
    argv += ["--soak-minutes", "0.05", "--floor-messages", "200", "--no-start", "--out", str(tmp_path)]
    argv += ["--profile-delay", "0", "--profile-seconds", "5"]
    assert bench.main(argv) == 0
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["accepted"] + result["refused"] == 24
    assert result["accepted"] >= 20
    outcomes = result["outcomes"]
    assert outcomes.get("charge.created", 0) + outcomes.get("charge.held", 0) >= result["accepted"]
    assert result["encounters_per_second"] > 0
    assert result["cpu_ms_per_encounter"]["total"] > 0
    assert set(result["cpu_ms_per_encounter"]) >= {"postgres", "kafka", "intake-api", "analytics-worker", "total"}
    assert result["latency"]["intake"]["p99_ms"] >= result["latency"]["intake"]["p50_ms"] > 0
    assert result["floor"]["kafka_produce_per_second"] > 0
    assert result["floor"]["postgres_single_row_inserts_per_second"] > 0
    assert result["floor"]["floor_cpu_ms_per_event"] > 0
    assert result["floor"]["kafka_client_cpu_ms_per_message"] > 0
    assert result["floor"]["postgres_client_cpu_ms_per_insert"] > 0
    assert set(result["stage_cost"]) == set(SERVICES)
    assert result["stage_cost"]["intake"]["events_per_encounter"] == 1.0
    assert result["stage_cost"]["coding"]["events_per_encounter"] >= 1.0  # every encounter.received at least
    assert result["stage_cost"]["analytics"]["cpu_multiple"] > 0
    assert all(cost["statements_per_encounter"] > 0 for cost in result["stage_cost"].values())
    assert result["bounded_by"]["stage"] in SERVICES
    assert result["bounded_by"]["stage"] in result["bounded_by"]["summary"]
    assert [row["target"] for row in result["targets"]] == [target.name for target in bench_report.TARGETS]
    assert result["targets"][0]["measured"] == result["encounters_per_second"]
    assert all(row["met"] in (True, False) for row in result["targets"])
    samples = result["soak"]["samples"]
    assert len(samples["seconds"]) >= 5
    assert all(len(sizes) == len(samples["seconds"]) and min(sizes) > 0 for sizes in samples["rss_mib"].values())
    assert set(result["soak"]["rss_growth_percent"]) == set(samples["rss_mib"])
    profile = result["profile"]
    if py_spy() is None:
        assert profile["status"] == "unavailable"
        return
    assert profile["status"] == "recorded", profile
    assert set(profile["processes"]) == set(process_names())
    assert sum(figures["busy_samples"] for figures in profile["processes"].values()) > 0
    for name, figures in profile["processes"].items():
        assert Path(figures["file"]).is_relative_to(tmp_path / "profiles")
        assert Path(figures["file"]).name == f"{name}.txt"
