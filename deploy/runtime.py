"""Paths, progress output, pid files, signals and ports shared by the native local stack's modules."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
HOME = Path(os.environ.get("CLAIMFLOW_HOME", "/var/lib/claimflow"))
CACHE = Path(os.environ.get("CLAIMFLOW_CACHE", "/var/cache/claimflow"))
RUN, LOGS, PG_DIR, KAFKA_DIR = HOME / "run", HOME / "logs", HOME / "pg", HOME / "kafka"
PG_DATA, PG_SOCKET, LIBS = PG_DIR / "data", PG_DIR / "socket", CACHE / "kafka-libs"
PG_PORT, KAFKA_PORT, CONTROLLER_PORT, PROMETHEUS_PORT = 55432, 39092, 39093, 39090
SERVICES = ("intake", "coding", "submission", "remittance", "analytics")
PY = str(REPO / ".venv/bin/python") if (REPO / ".venv/bin/python").exists() else sys.executable
INFRA_MARKERS = {"postgres": "postgres", "kafka": "kafka.Kafka", "prometheus": "prometheus"}
QUIET = False
_clock = [time.monotonic()]


class StackError(RuntimeError):
    """A failure the user can act on: printed as one line, without a traceback."""


def require_root() -> None:
    """Fail unless running as root: the stack installs packages and runs PostgreSQL via runuser."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        raise StackError("run the stack as root on Debian (it uses apt-get and `runuser -u postgres`)")


def reset_clock() -> None:
    """Start counting the elapsed seconds shown in progress lines from now."""
    _clock[0] = time.monotonic()


def say(msg: str) -> None:
    """Print one progress line with the seconds elapsed since the command started."""
    if not QUIET:
        print(f"[{time.monotonic() - _clock[0]:5.1f}s] {msg}", flush=True)


def last_line(text: str | Path) -> str:
    """Last non-empty line of a text or of a file's tail, for one-line error reasons."""
    if isinstance(text, Path):
        try:
            with open(text, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - 4096))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def process_names() -> list[str]:
    """Every service process the stack runs, in start order."""
    return [f"{s}-{kind}" for s in SERVICES for kind in ("api", "worker")] + ["sandbox-api"]


def marker(name: str) -> str:
    """Text that /proc/<pid>/cmdline of the named component contains (validates the name)."""
    if name in INFRA_MARKERS:
        return INFRA_MARKERS[name]
    if name not in process_names():
        raise StackError(f"unknown process {name!r}; known: postgres, kafka, prometheus, {', '.join(process_names())}")
    service, _, kind = name.rpartition("-")
    return f"{service}.worker" if kind == "worker" else f"{service}.main:create_app"


def alive(pid: int, cmd_marker: str) -> bool:
    """True if pid is a live, non-zombie process whose command line contains cmd_marker."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and cmd_marker in cmdline


def wait_gone(pid: int, timeout: float = 15) -> None:
    """Wait until every thread of pid has exited, so its sockets and files are closed.

    A killed multi-threaded process (the JVM) shows its main thread as a zombie while the other
    threads are still being torn down; its ports stay bound until the last one is gone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
            if all((t / "stat").read_text().rpartition(")")[2].split()[0] in "ZX" for t in tasks):
                return
        except (OSError, IndexError):
            return
        time.sleep(0.05)


def pid_of(name: str) -> int | None:
    """Pid of the named component if it runs (checked against its command line), else None."""
    path = PG_DATA / "postmaster.pid" if name == "postgres" else RUN / f"{name}.pid"
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid, marker(name)) else None


def write_pid(name: str, pid: int, argv: list[str]) -> None:
    """Record a started process: run/<name>.pid plus a JSON sidecar with its command and checkout."""
    RUN.mkdir(parents=True, exist_ok=True)
    sidecar = {"pid": pid, "argv": argv, "cwd": str(REPO), "started": time.time()}
    (RUN / f"{name}.json").write_text(json.dumps(sidecar))
    (RUN / f"{name}.pid").write_text(f"{pid}\n")


def send_signal(pid: int, sig: int) -> None:
    """Signal a process and, when it leads its own process group (ours do), the whole group."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def stop_all(names: list[str], timeout: float) -> None:
    """SIGTERM the named running components, SIGKILL what is left after timeout, drop their pid files."""
    running = {name: pid for name in names if (pid := pid_of(name))}
    for pid in running.values():
        send_signal(pid, signal.SIGTERM)
    for grace, sig in ((timeout, signal.SIGKILL), (10.0, None)):
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p, marker(n)) for n, p in running.items()):
            time.sleep(0.1)
        for name, pid in running.items():
            if not alive(pid, marker(name)):
                continue
            if sig is None:
                raise StackError(f"{name} (pid {pid}) survived SIGKILL: check `ps -o pid,stat,cmd -p {pid}`")
            say(f"{name}: still running {timeout:.0f} s after SIGTERM, sending SIGKILL")
            send_signal(pid, sig)
    for pid in running.values():
        wait_gone(pid)
    for name in names:
        if name != "postgres":
            (RUN / f"{name}.pid").unlink(missing_ok=True)
            (RUN / f"{name}.json").unlink(missing_ok=True)


def port_open(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def check_port_free(port: int, what: str, grace: float = 2) -> None:
    """Fail with a one-line reason naming the owner if another program still listens on the port after grace.

    The grace covers a server that has just exited and whose listening socket is still closing.
    """
    deadline = time.monotonic() + grace
    while port_open(port):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    else:
        return
    found = ""
    if shutil.which("ss"):
        found = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    owner = re.search(r'users:\(\("([^"]+)",pid=(\d+)', found)
    who = f"{owner[1]} (pid {owner[2]})" if owner else "another program"
    raise StackError(
        f"port {port} for {what} is taken by {who}, which this stack ({HOME}) did not start: "
        "stop it (or `stack.py down` with the CLAIMFLOW_HOME that started it), then rerun"
    )


_apt_updated = [False]


def apt_install(*packages: str) -> None:
    """Install Debian packages non-interactively (apt-get update first, once per run)."""
    names = " ".join(packages)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(f"{names} is missing: install it as root (apt-get install {names}), then rerun")
    log = LOGS / "apt.log"
    say(f"installing {names} with apt-get (a few minutes, once; output in {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [] if _apt_updated[0] else [["apt-get", "update"]]
    with open(log, "ab") as out:
        for argv in [*steps, ["apt-get", "install", "-y", *packages]]:
            rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            if rc.returncode:
                raise StackError(
                    f"`{' '.join(argv)}` failed (exit {rc.returncode}): {last_line(log)} (see {log}); fix, rerun"
                )
    _apt_updated[0] = True
