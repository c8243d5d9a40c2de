"""Per-process CPU time and memory from /proc, summed over each stack component's process tree.

PostgreSQL serves each connection from a child of the postmaster, so a component's cost is its own process plus
every descendant, read from the OS accounting (utime + stime of /proc/<pid>/stat; VmRSS and VmHWM of status).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far, resident and peak resident memory (bytes) of a process tree."""

    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int

    def __sub__(self, earlier: Usage) -> Usage:
        """CPU used between two readings; memory as of the later one."""
        return Usage(self.cpu_seconds - earlier.cpu_seconds, self.rss_bytes, self.peak_rss_bytes)


def parse_stat(text: str) -> tuple[int, float]:
    """(parent pid, CPU seconds) from a /proc/<pid>/stat line (the command may hold spaces and parentheses)."""
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state; ppid is field 4 of the line, utime 14 and stime 15 (1-based).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def parse_status_memory(text: str) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes from /proc/<pid>/status (0 for kernel threads without them)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def process_table() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds) of every process visible now."""
    table = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                table[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # the process ended while being read
    return table


def tree(root: int, table: dict[int, tuple[int, float]]) -> list[int]:
    """root and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            found.append(pid)
            stack.extend(children.get(pid, []))
    return found


def usage(root: int, table: dict[int, tuple[int, float]] | None = None) -> Usage:
    """Usage of a process tree now."""
    table = table if table is not None else process_table()
    cpu, rss, peak = 0.0, 0, 0
    for pid in tree(root, table):
        cpu += table[pid][1]
        try:
            now, high = parse_status_memory((PROC / str(pid) / "status").read_text())
        except OSError:
            continue
        rss, peak = rss + now, peak + high
    return Usage(cpu, rss, peak)
