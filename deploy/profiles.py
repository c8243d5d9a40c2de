"""Sampling profiles of the stack's Python processes for `make bench`: py-spy recording and a summary of each.

py-spy writes collapsed stacks (`--format raw`): one line per distinct stack, frames root first and separated by
`;`, each frame `function (file:line)`, then a space and the number of samples. The summary counts a sample as idle
when its innermost frame waits for work (the event loop's epoll, a thread pool's queue, a condition) and leaves it
out of every share; the shares are of busy samples only. Under uvloop the event loop is C code: a sample whose
innermost Python frame is the loop's entry is waiting in epoll or running the loop's own C machinery, which py-spy
cannot tell apart without native stacks; it counts as idle (native sampling showed it to be mostly epoll).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deploy.procstats import children_cpu_seconds
from deploy.runtime import REPO, pid_of

PROJECT_FOLDERS = ("services", "shared")
# (file name ending, function name ending) of innermost frames that wait for work rather than do it.
IDLE_LEAVES = (
    ("selectors.py", "select"),  # the event loop in epoll_wait
    ("threading.py", ".wait"),  # Condition.wait / Event.wait of an idle thread
    ("concurrent/futures/thread.py", "_worker"),  # a thread-pool thread blocked on its work queue
    ("asyncio/runners.py", "Runner.run"),  # uvloop's C event loop, entered from asyncio.run
    ("uvloop/__init__.py", "run"),  # uvloop's C event loop, entered from uvloop.run
)
NO_PYTHON_FRAME = "(no Python frame)"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
LIBRARY_PATH = re.compile(r"/lib/python3\.\d+/(?:site-packages/)?(?P<module>.+)$")


@dataclass(frozen=True)
class ProfileSettings:
    """When and how finely the stack is sampled during the throughput run."""

    enabled: bool = True
    delay_seconds: float = 10.0
    seconds: float = 30.0
    rate_hz: int = 50
    top_inclusive: int = 8
    top_self: int = 5


@dataclass(frozen=True)
class FrameShare:
    """A frame (function and file, without line) and its share of a process's busy samples (0–1)."""

    frame: str
    share: float


@dataclass(frozen=True)
class ProfileSummary:
    """Where one process spent its busy samples."""

    busy_samples: int
    idle_samples: int
    inclusive: list[FrameShare] = field(default_factory=list)
    self_time: list[FrameShare] = field(default_factory=list)
    deepest_project: list[FrameShare] = field(default_factory=list)


@dataclass(frozen=True)
class Frame:
    """One parsed frame: its display label, whether it is project code, and whether waiting in it is idle."""

    label: str
    project: bool
    file: str
    function: str


def parse_frame(text: str, repo: Path = REPO) -> Frame:
    """A frame of py-spy's output with its file made repo- or library-relative and its line number stripped."""
    match = FRAME.match(text)
    if match is None:
        return Frame(label=text, project=False, file="", function=text)
    function, path = match.group("function"), match.group("file")
    relative, project = path, False
    with contextlib.suppress(ValueError):
        inside = Path(path).relative_to(repo)
        relative, project = inside.as_posix(), bool(inside.parts) and inside.parts[0] in PROJECT_FOLDERS
    if not project and (library := LIBRARY_PATH.search(path)):
        relative = library.group("module")
    return Frame(label=f"{function} ({relative})", project=project, file=relative, function=function)


def is_idle(leaf: Frame) -> bool:
    """Whether a sample whose innermost frame is `leaf` waits for work."""
    return any(leaf.file.endswith(file) and leaf.function.endswith(name) for file, name in IDLE_LEAVES)


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """(frames root first, samples) of every line of py-spy's raw output; malformed lines are skipped."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        stacks.append(([frame for frame in stack.split(";") if frame], int(count)))
    return stacks


def summarise(text: str, settings: ProfileSettings | None = None, repo: Path = REPO) -> ProfileSummary:
    """Busy and idle samples, top project frames by inclusive share, top frames by self share, of one profile.

    Inclusive: the share of busy samples with the frame anywhere on the stack (counted once per sample even when
    recursive); only project frames (under services/ or shared/), module bodies left out. Self: the share with
    the frame innermost, any code. Deepest project: the share whose innermost project frame it is (the project
    code responsible for the time, library calls below it included).
    """
    settings = settings or ProfileSettings()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    deepest: Counter[str] = Counter()
    busy = idle = 0
    for raw_frames, count in parse_collapsed(text):
        frames = [parse_frame(raw, repo) for raw in raw_frames]
        if frames and is_idle(frames[-1]):
            idle += count
            continue
        busy += count
        own[frames[-1].label if frames else NO_PYTHON_FRAME] += count
        project = [frame for frame in frames if frame.project and frame.function != "<module>"]
        for label in {frame.label for frame in project}:
            inclusive[label] += count
        if project:
            deepest[project[-1].label] += count

    def shares(counter: Counter[str], top: int) -> list[FrameShare]:
        """The `top` most frequent frames of a counter (ties by name) as shares of the busy samples."""
        ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
        return [FrameShare(label, round(n / busy, 3)) for label, n in ranked] if busy else []

    return ProfileSummary(
        busy_samples=busy,
        idle_samples=idle,
        inclusive=shares(inclusive, settings.top_inclusive),
        self_time=shares(own, settings.top_self),
        deepest_project=shares(deepest, settings.top_self),
    )


def py_spy() -> Path | None:
    """The py-spy executable: the project's dev dependency, else one on PATH."""
    local = REPO / ".venv" / "bin" / "py-spy"
    if local.exists():
        return local
    found = shutil.which("py-spy")
    return Path(found) if found else None


class ProfileRecorder:
    """Records every given process with py-spy for one window, started with the throughput run.

    The window opens `delay_seconds` after `start()` and lasts `seconds`, or until `stop()`, which interrupts
    py-spy (it then writes what it has) so that no sample falls outside the throughput run.
    """

    def __init__(self, settings: ProfileSettings, pids: dict[str, int], folder: Path) -> None:
        """Prepare; nothing runs before `start()`."""
        self.settings, self.pids, self.folder = settings, pids, folder
        self.executable = py_spy()
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.window: asyncio.Task[None] | None = None
        self.opened_at: float | None = None
        self.closed_at: float | None = None
        self.children_cpu_before = 0.0

    def start(self) -> None:
        """Open the window after the delay (in the background)."""
        if self.settings.enabled and self.executable is not None:
            self.window = asyncio.create_task(self._record())

    async def _record(self) -> None:
        """Sleep the delay, then start one py-spy per process."""
        await asyncio.sleep(self.settings.delay_seconds)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.children_cpu_before = children_cpu_seconds()
        self.opened_at = time.monotonic()
        for name, pid in self.pids.items():
            current = pid_of(name) or pid  # a process restarted since the run began is sampled in its new life
            self.processes[name] = await asyncio.create_subprocess_exec(
                str(self.executable),
                "record",
                "--pid",
                str(current),
                "--rate",
                str(self.settings.rate_hz),
                "--duration",
                str(max(1, round(self.settings.seconds))),
                "--format",
                "raw",
                "--full-filenames",
                "--output",
                str(self.folder / f"{name}.txt"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )

    async def stop(self) -> dict[str, Any]:
        """Close the window now and summarise every process's profile (the result's `profile` section)."""
        section: dict[str, Any] = {
            "rate_hz": self.settings.rate_hz,
            "delay_seconds": self.settings.delay_seconds,
            "window_seconds": self.settings.seconds,
        }
        if not self.settings.enabled:
            return section | {"status": "off"}
        if self.executable is None:
            return section | {"status": "unavailable", "reason": "py-spy not found (.venv/bin/py-spy or PATH)"}
        if self.window is not None and not self.window.done():
            self.window.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.window
        failure = self.window.exception() if self.window and not self.window.cancelled() else None
        if failure is not None and not self.processes:
            return section | {"status": "failed", "reason": f"{type(failure).__name__}: {failure}"}
        if not self.processes:
            return section | {"status": "not recorded", "reason": "the run ended before the profile window opened"}
        for process in self.processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGINT)
        errors = {name: await self._finish(process) for name, process in self.processes.items()}
        self.closed_at = time.monotonic()
        recorded = (self.closed_at - self.opened_at) if self.opened_at is not None else 0.0
        profiler_cpu = children_cpu_seconds() - self.children_cpu_before
        processes: dict[str, Any] = {}
        for name in self.processes:
            path = self.folder / f"{name}.txt"
            if not path.exists():
                processes[name] = {"error": errors[name] or "py-spy wrote no profile"}
                continue
            summary = summarise(path.read_text(), self.settings)
            possible = self.settings.rate_hz * recorded
            processes[name] = {
                "file": str(path),
                "busy_fraction": round(summary.busy_samples / possible, 3) if possible else None,
                **asdict(summary),
            }
        failed = sum(1 for figures in processes.values() if "error" in figures)
        return section | {
            "status": "recorded" if not failed else f"recorded, {failed} of {len(processes)} processes failed",
            "folder": str(self.folder),
            "recorded_seconds": round(recorded, 1),
            "profiler_cpu_seconds": round(profiler_cpu, 2),
            "processes": processes,
        }

    @staticmethod
    async def _finish(process: asyncio.subprocess.Process) -> str:
        """Wait for one py-spy; its last error line when it failed, else empty."""
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()
            return "py-spy did not stop within 30 s"
        if process.returncode == 0:
            return ""
        lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error")]  # the rest may be a Rust backtrace
        return (errors or lines or [f"py-spy exited with {process.returncode}"])[0]
