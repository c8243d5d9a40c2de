"""Per-process CPU time and memory from /proc, summed over each stack component's process tree.

PostgreSQL serves each connection from a child of the postmaster, so a component's cost is its own process plus
every descendant, read from the OS accounting (utime + stime of /proc/<pid>/stat; VmRSS and VmHWM of status), plus
what the root has collected from children that ended (cutime + cstime), so a connection closed during a measurement
still counts. PostgreSQL's process titles name the role a backend serves, which attributes database CPU to the
service whose runtime role it is.
"""

from __future__ import annotations

import os
import re
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")
UNATTRIBUTED = ""
# "postgres: [cluster: ]<role> <database> <client address> <state>": the client address is "[local]" or "host(port)".
BACKEND_TITLE = re.compile(r"^postgres: (?:[^:\s]+: )?(?P<role>\S+) \S+ (?:\[local\]|\S+\(\d+\))(?: |$)")


@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far, resident and peak resident memory (bytes) of a process tree."""

    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int

    def __sub__(self, earlier: Usage) -> Usage:
        """CPU used between two readings; memory as of the later one."""
        return Usage(self.cpu_seconds - earlier.cpu_seconds, self.rss_bytes, self.peak_rss_bytes)


@dataclass(frozen=True)
class TreeCpu:
    """CPU seconds of every live process of a tree by pid, a label per pid, and what the root reaped from ended ones."""

    by_pid: dict[int, float]
    labels: dict[int, str]
    reaped: float

    def total(self) -> float:
        """CPU seconds of the whole tree, ended children included."""
        return sum(self.by_pid.values()) + self.reaped


def parse_stat(text: str) -> tuple[int, float]:
    """(parent pid, CPU seconds) from a /proc/<pid>/stat line (the command may hold spaces and parentheses)."""
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state; ppid is field 4 of the line, utime 14 and stime 15 (1-based).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def parse_reaped_cpu(text: str) -> float:
    """CPU seconds of waited-for children that ended (cutime + cstime, fields 16 and 17) from a stat line."""
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / TICKS


def parse_status_memory(text: str) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes from /proc/<pid>/status (0 for kernel threads without them)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def postgres_role(title: str) -> str:
    """The role a PostgreSQL backend serves, from its process title; empty for background processes."""
    match = BACKEND_TITLE.match(title)
    return match.group("role") if match else UNATTRIBUTED


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


def reaped_cpu(pid: int) -> float:
    """CPU seconds a process has collected from its ended children (0 when it is gone)."""
    try:
        return parse_reaped_cpu((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return 0.0


def process_cpu(pid: int) -> float:
    """CPU seconds one process (not its children) has used so far; 0 when it is gone."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())[1]
    except (OSError, ValueError, IndexError):
        return 0.0


def command_line(pid: int) -> str:
    """A process's command line (its title for PostgreSQL backends); empty when it is gone."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def usage(root: int, table: dict[int, tuple[int, float]] | None = None) -> Usage:
    """Usage of a process tree now (CPU of ended children the root collected included)."""
    table = table if table is not None else process_table()
    members = tree(root, table)
    cpu, rss, peak = reaped_cpu(root) if members else 0.0, 0, 0
    for pid in members:
        cpu += table[pid][1]
        try:
            now, high = parse_status_memory((PROC / str(pid) / "status").read_text())
        except OSError:
            continue
        rss, peak = rss + now, peak + high
    return Usage(cpu, rss, peak)


def tree_cpu(
    root: int, table: dict[int, tuple[int, float]] | None = None, label: Callable[[int], str] = lambda _: ""
) -> TreeCpu:
    """CPU of every process of a tree now, each labelled (e.g. by the role a PostgreSQL backend serves)."""
    table = table if table is not None else process_table()
    members = tree(root, table)
    return TreeCpu(
        by_pid={pid: table[pid][1] for pid in members},
        labels={pid: label(pid) for pid in members},
        reaped=reaped_cpu(root) if members else 0.0,
    )


def cpu_by_label(before: TreeCpu, after: TreeCpu) -> dict[str, float]:
    """CPU seconds each label's processes used between two readings of one tree.

    A process that ended in between cannot be labelled any more: what it used goes to the empty label, as the
    difference between the tree's total and the labelled processes' sum.
    """
    spent: dict[str, float] = {}
    for pid, cpu in after.by_pid.items():
        label = after.labels[pid]
        earlier = before.by_pid.get(pid, 0.0) if before.labels.get(pid) == label else 0.0
        spent[label] = spent.get(label, 0.0) + cpu - earlier
    labelled = sum(cpu for label, cpu in spent.items() if label != UNATTRIBUTED)
    spent[UNATTRIBUTED] = after.total() - before.total() - labelled
    return spent


def own_cpu_seconds() -> float:
    """CPU seconds (user + system) this process has used so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def children_cpu_seconds() -> float:
    """CPU seconds (user + system) of the ended child processes this process has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime
