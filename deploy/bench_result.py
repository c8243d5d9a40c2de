"""One benchmark run's figures as recorded, and where runs are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy.runtime import REPO

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
    postgres_cpu_ms_per_encounter: dict[str, float] = field(default_factory=dict)
    statements_per_encounter: dict[str, float] = field(default_factory=dict)
    stage_cost: dict[str, dict[str, float | None]] = field(default_factory=dict)
    bounded_by: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)
    restarted: dict[str, str] = field(default_factory=dict)


def stamp(started_at: str) -> str:
    """The file-name form of a run's start instant (2026-12-01T101500Z)."""
    return started_at.replace(":", "").replace("+0000", "Z")
