"""Native local stack for Claimflow (no Docker): PostgreSQL 15, single-node Kafka 3.9 and the services.

Usage: .venv/bin/python deploy/stack.py up [--infra-only] [--quiet] | down | status
       | start-process NAME | stop-process NAME | restart-process NAME | kill-process NAME [--signal KILL]
NAME is postgres, kafka, prometheus, <service>-api, <service>-worker or sandbox-api.
Tests `import deploy.stack as stack`.
State lives in $CLAIMFLOW_HOME (default /var/lib/claimflow), downloads in $CLAIMFLOW_CACHE. Stdlib only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `deploy` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import runtime
from deploy.infra import bootstrap_db, kafka_version, start_kafka, start_postgres, stop_kafka, stop_postgres
from deploy.monitoring import start_prometheus, stop_prometheus
from deploy.runtime import (
    CACHE,
    HOME,
    KAFKA_DIR,
    KAFKA_PORT,
    LOGS,
    PG_PORT,
    PROMETHEUS_PORT,
    PY,
    REPO,
    RUN,
    SERVICES,
    StackError,
    alive,
    check_port_free,
    last_line,
    marker,
    pid_of,
    process_names,
    require_root,
    say,
    send_signal,
    stop_all,
    wait_gone,
    write_pid,
)

__all__ = [
    "StackError", "down", "is_running", "kafka_version", "kill_process", "load_env", "process_names",
    "restart_process", "start_kafka", "start_postgres", "start_process", "status", "stop_kafka", "stop_postgres",
    "stop_process", "up", "wait_ready",
]  # fmt: skip

ENV_FILE = Path(os.environ.get("CLAIMFLOW_ENV_FILE") or HOME / "stack.env")  # the path shared.settings reads
API_PORTS = {"intake": 8101, "coding": 8102, "submission": 8103, "remittance": 8104, "analytics": 8105, "sandbox": 8109}
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never send loopback calls to a proxy


def _env_defaults() -> dict[str, str]:
    """Every key stack.env must hold, with fresh random secrets."""
    env = {
        "CLAIMFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{KAFKA_PORT}",
        "CLAIMFLOW_PG_HOST": "127.0.0.1",
        "CLAIMFLOW_PG_PORT": str(PG_PORT),
        "CLAIMFLOW_PG_DATABASE": "claimflow",
    }
    for service in SERVICES:
        prefix = f"CLAIMFLOW_{service.upper()}_"
        env[prefix + "DB_USER"], env[prefix + "DB_PASSWORD"] = f"{service}_app", secrets.token_hex(24)
        env[prefix + "OWNER_USER"], env[prefix + "OWNER_PASSWORD"] = f"{service}_owner", secrets.token_hex(24)
        env[prefix + "RELAY_USER"], env[prefix + "RELAY_PASSWORD"] = f"{service}_relay", secrets.token_hex(24)
    env["CLAIMFLOW_OPERATOR_TOKEN"] = secrets.token_hex(32)
    env["CLAIMFLOW_CLEARINGHOUSE_SECRET"] = secrets.token_hex(32)
    # Signs analytics' dashboard links: a secret of its own, so no other credential can forge them.
    env["CLAIMFLOW_DASHBOARD_LINK_SECRET"] = secrets.token_hex(32)
    env |= {f"CLAIMFLOW_{name.upper()}_PORT": str(port) for name, port in API_PORTS.items()}
    env |= {f"CLAIMFLOW_{s.upper()}_WORKER_METRICS_PORT": str(8201 + i) for i, s in enumerate(SERVICES)}
    env["CLAIMFLOW_SANDBOX_URL"] = f"http://127.0.0.1:{API_PORTS['sandbox']}"
    env["CLAIMFLOW_REMITTANCE_URL"] = f"http://127.0.0.1:{API_PORTS['remittance']}"
    return env


def _read_env_file() -> dict[str, str]:
    """KEY=VALUE pairs of stack.env (empty if it does not exist yet)."""
    values: dict[str, str] = {}
    if ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.lstrip().startswith("#"):
                values[key.strip()] = value.strip()
    return values


def ensure_env_file() -> dict[str, str]:
    """Create stack.env once (mode 600), append keys a newer stack.py needs, and return its values."""
    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    current = _read_env_file()
    missing = {key: value for key, value in _env_defaults().items() if key not in current}
    if missing:
        with os.fdopen(os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as f:
            if not current:
                f.write("# Claimflow local stack, written once by deploy/stack.py. Holds secrets: keep private.\n")
            f.writelines(f"{key}={value}\n" for key, value in missing.items())
        current |= missing
    ENV_FILE.chmod(0o600)
    return current


def load_env() -> dict[str, str]:
    """stack.env values, each overridden by the same variable in the caller's environment."""
    return {key: os.environ.get(key, value) for key, value in ensure_env_file().items()}


def _child_env() -> dict[str, str]:
    """Environment of a service process: the caller's environment over stack.env, this checkout first."""
    env = {**ensure_env_file(), **os.environ, "CLAIMFLOW_HOME": str(HOME), "PYTHONUNBUFFERED": "1"}
    paths = [str(REPO)] + [str(p) for p in sorted((REPO / "services").glob("*")) if p.is_dir()]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def _port_of(name: str, env: dict[str, str]) -> int:
    """HTTP port of a service process: its API port, or a worker's metrics port."""
    service, _, kind = name.rpartition("-")
    return int(env[f"CLAIMFLOW_{service.upper()}_{'PORT' if kind == 'api' else 'WORKER_METRICS_PORT'}"])


def _command(name: str, env: dict[str, str]) -> list[str]:
    """argv of a service process."""
    service, _, kind = name.rpartition("-")
    if kind == "worker":
        return [PY, "-m", f"{service}.worker"]
    port = str(_port_of(name, env))
    uvicorn = [PY, "-m", "uvicorn", f"{service}.main:create_app", "--factory", "--host", "127.0.0.1"]
    return [*uvicorn, "--port", port, "--log-level", "warning", "--no-access-log"]


def is_running(name: str) -> bool:
    """True if the named component (postgres, kafka or a service process) runs."""
    return pid_of(name) is not None


def start_process(name: str, wait: bool = False) -> int:
    """Start a component by name unless it runs; returns its pid (wait: until its /readyz answers 200)."""
    if name in ("postgres", "kafka"):
        return start_postgres() if name == "postgres" else start_kafka()
    if name == "prometheus":
        env = _child_env()
        return start_prometheus({process: _port_of(process, env) for process in process_names()})
    marker(name)  # rejects unknown names
    if pid := pid_of(name):
        return pid
    env = _child_env()
    check_port_free(_port_of(name, env), name)
    argv = _command(name, env)
    with open(LOGS / f"{name}.log", "ab") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    write_pid(name, process.pid, argv)
    if wait:
        wait_ready([name])
    return process.pid


def stop_process(name: str, timeout: float = 10) -> None:
    """Stop a component by name (SIGTERM, SIGKILL after timeout); no-op if it is stopped."""
    if name in ("postgres", "kafka"):
        return stop_postgres() if name == "postgres" else stop_kafka()
    if name == "prometheus":
        return stop_prometheus()
    marker(name)
    return stop_all([name], timeout)


def restart_process(name: str, wait: bool = True) -> int:
    """Stop a component and start it again from the current checkout."""
    stop_process(name)
    return start_process(name, wait=wait)


def kill_process(name: str, sig: int = signal.SIGKILL) -> bool:
    """Send a signal to a running component (fault tests); after KILL or TERM wait until it is gone."""
    if not (pid := pid_of(name)):
        return False
    send_signal(pid, sig)
    deadline = time.monotonic() + 30
    while sig in (signal.SIGKILL, signal.SIGTERM) and alive(pid, marker(name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if sig in (signal.SIGKILL, signal.SIGTERM):
        wait_gone(pid)
    return True


def _answers_200(url: str) -> bool:
    """True if GET url answers 200; refused connections, timeouts and other codes mean not yet."""
    try:
        with _LOOPBACK.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, http.client.HTTPException, ValueError):
        return False


def _still_there(name: str) -> bool:
    """A second look, a second later, before calling a just-started process gone (a loaded machine may show a
    process between fork and exec with its parent's command line)."""
    time.sleep(1)
    return pid_of(name) is not None


def wait_ready(names: list[str], timeout: float = 60) -> None:
    """Wait until each named service process answers GET /readyz with 200; fail naming the laggards."""
    env, pending = load_env(), list(names)
    started = reported = time.monotonic()
    while pending:
        for name in list(pending):
            if not pid_of(name) and not _still_there(name):
                log = LOGS / f"{name}.log"
                raise StackError(f"{name} exited while starting: {last_line(log) or 'no output'} (see {log})")
            if _answers_200(f"http://127.0.0.1:{_port_of(name, env)}/readyz"):
                pending.remove(name)
        if pending and time.monotonic() - started > timeout:
            names_left = ", ".join(pending)
            raise StackError(f"no 200 from /readyz after {timeout:.0f} s: {names_left}; see {LOGS}/{pending[0]}.log")
        if pending and time.monotonic() - reported > 5:
            reported = time.monotonic()
            say(f"waiting for /readyz: {', '.join(pending)}")
        time.sleep(0.3)


def _run_step(what: str, argv: list[str]) -> None:
    """Run a setup command from the checkout (topics, migrations); fail with its last line of output."""
    result = subprocess.run(argv, cwd=REPO, env=_child_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    log = LOGS / "setup.log"
    with open(log, "a") as f:
        f.write(f"$ {' '.join(argv)}  (exit {result.returncode})\n{result.stdout}{result.stderr}")
    if result.returncode:
        reason = last_line(result.stderr or result.stdout)
        raise StackError(f"{what} failed (exit {result.returncode}): {reason} (see {log})")
    say(f"{what}: done")


def up(infra_only: bool = False) -> None:
    """Install, start or reuse the infrastructure; unless infra_only, (re)start every service process."""
    runtime.reset_clock()
    require_root()
    for folder in (HOME, RUN, LOGS, KAFKA_DIR, CACHE):
        folder.mkdir(parents=True, exist_ok=True)
    HOME.chmod(0o755)  # the postgres user must traverse it to reach pg/
    env = load_env()
    say(f"state in {HOME}, settings and secrets in {ENV_FILE}, downloads in {CACHE}")
    start_postgres()
    bootstrap_db(env)
    start_kafka()
    if not infra_only:
        _run_step("topics", [PY, "-m", "shared.topics", "ensure"])
        for service in SERVICES:
            _run_step(f"migrations {service}", [PY, "-m", "shared.migrate", service])
        names = process_names()
        stop_all(names, 10)
        for name in names:
            start_process(name)
        say(f"started {len(names)} processes from {REPO}; waiting for /readyz")
        wait_ready(names)
        say("all processes ready")
        start_prometheus({name: _port_of(name, env) for name in names})
    print_table()


def down() -> None:
    """Stop the service processes, then Kafka, then PostgreSQL; fine when nothing was running."""
    runtime.reset_clock()
    require_root()
    stop_prometheus()
    stop_all(process_names(), 10)
    stop_kafka()
    stop_postgres()
    for path in [*RUN.glob("*.pid"), *RUN.glob("*.json")]:
        path.unlink(missing_ok=True)
    say("stack stopped")


def status() -> list[tuple[str, int | None, str]]:
    """(name, pid or None, address) of every component."""
    env = {**_env_defaults(), **_read_env_file(), **os.environ}
    rows = [
        ("postgres", pid_of("postgres"), f"postgresql://127.0.0.1:{PG_PORT}/{env['CLAIMFLOW_PG_DATABASE']}"),
        ("kafka", pid_of("kafka"), f"127.0.0.1:{KAFKA_PORT}"),
        ("prometheus", pid_of("prometheus"), f"http://127.0.0.1:{PROMETHEUS_PORT}/alerts"),
    ]
    for name in process_names():
        page = "/docs" if name.endswith("-api") else "/metrics"
        rows.append((name, pid_of(name), f"http://127.0.0.1:{_port_of(name, env)}{page}"))
    return rows


def print_table() -> None:
    """Print one line per component: state, pid, address."""
    if not runtime.QUIET:
        for name, pid, address in status():
            print(f"  {name:18} {'running' if pid else 'stopped':8} {pid or '-'!s:>8}  {address}")


def _parse_signal(text: str) -> int:
    """Signal number from a name (KILL, SIGTERM) or a number."""
    name = text.upper().removeprefix("SIG")
    if name.isdigit():
        return int(name)
    if f"SIG{name}" not in signal.Signals.__members__:
        raise StackError(f"unknown signal {text!r}: use a name such as KILL, TERM, STOP or CONT")
    return int(signal.Signals[f"SIG{name}"])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; user-caused failures print one line and exit non-zero."""
    parser = argparse.ArgumentParser(prog="stack.py", description="Claimflow native local stack")
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="install, start or reuse everything")
    up_parser.add_argument("--infra-only", action="store_true", help="PostgreSQL and Kafka only")
    up_parser.add_argument("--quiet", action="store_true", help="print errors only")
    commands.add_parser("down", help="stop everything")
    commands.add_parser("status", help="one line per component")
    for command in ("start-process", "stop-process", "restart-process", "kill-process"):
        sub = commands.add_parser(command, help=f"{command.split('-')[0]} one component")
        sub.add_argument("name", help="postgres, kafka, <service>-api, <service>-worker or sandbox-api")
        if command == "kill-process":
            sub.add_argument("--signal", default="KILL", help="signal name or number (default KILL)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            runtime.QUIET = args.quiet
            up(infra_only=args.infra_only)
        elif args.command == "down":
            down()
        elif args.command == "status":
            print_table()
        elif args.command == "kill-process":
            if not kill_process(args.name, _parse_signal(args.signal)):
                raise StackError(f"{args.name} is not running")
        elif args.command == "start-process":
            start_process(args.name, wait=True)
        elif args.command == "stop-process":
            stop_process(args.name)
        else:
            restart_process(args.name)
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
