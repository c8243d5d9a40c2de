"""The benchmark harness: /proc accounting parsed right, and a tiny run of `make bench` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy import bench
from deploy.procstats import TICKS, parse_stat, parse_status_memory, tree


def test_stat_lines_whose_command_holds_spaces_and_parentheses_parse() -> None:
    fields = ["S", "41", *["0"] * 9, str(3 * TICKS), str(TICKS), *["0"] * 30]
    parent, cpu = parse_stat("4242 (uvicorn (intake) x) " + " ".join(fields))
    assert parent == 41
    assert cpu == pytest.approx(4.0)


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


@pytest.mark.usefixtures("stack_env")
def test_a_tiny_benchmark_run_measures_every_stage(tmp_path: Path) -> None:
    argv = ["--encounters", "24", "--practices", "2", "--payers", "2", "--latency-seconds", "2"]
    argv += ["--soak-minutes", "0.05", "--floor-messages", "200", "--no-start", "--out", str(tmp_path)]
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
