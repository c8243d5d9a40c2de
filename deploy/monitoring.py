"""Prometheus of the native local stack: installed from Debian, scraping every service process on loopback.

The alert rules are the repository's own (deploy/prometheus/alerts.yml), so what ops teams see locally is what
docker-compose and production load. Grafana is not packaged for Debian; its dashboards run under docker-compose.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

from deploy.runtime import (
    DEPLOY,
    HOME,
    LOGS,
    PROMETHEUS_PORT,
    StackError,
    apt_install,
    check_port_free,
    last_line,
    pid_of,
    say,
    send_signal,
    stop_all,
    write_pid,
)

PROMETHEUS_DIR = HOME / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "alerts.yml"
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def ensure_prometheus() -> str:
    """Path of the prometheus binary, installed from Debian's package (without recommends) when missing."""
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        apt_install("--no-install-recommends", "prometheus")
    found = shutil.which("prometheus")
    if found is None:
        raise StackError("apt-get installed prometheus, but the prometheus binary is not on PATH")
    return found


def scraped(ports: dict[str, int]) -> dict[str, int]:
    """The processes Prometheus scrapes: every API and worker of the five services (not the sandbox)."""
    return {name: port for name, port in ports.items() if name != "sandbox-api"}


def scrape_config(ports: dict[str, int]) -> dict[str, object]:
    """The configuration: one job for the APIs, one for the workers, the repository's alert rules."""
    apis = [f"127.0.0.1:{port}" for name, port in scraped(ports).items() if name.endswith("-api")]
    workers = [f"127.0.0.1:{port}" for name, port in scraped(ports).items() if name.endswith("-worker")]
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "claimflow-api", "static_configs": [{"targets": apis}]},
            {"job_name": "claimflow-worker", "static_configs": [{"targets": workers}]},
        ],
    }


def write_config(ports: dict[str, int]) -> bool:
    """Write the configuration (JSON is valid YAML); True when it changed."""
    PROMETHEUS_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(scrape_config(ports), indent=2) + "\n"
    if CONFIG.is_file() and CONFIG.read_text() == text:
        return False
    CONFIG.write_text(text)
    return True


def _ready() -> bool:
    """Whether Prometheus answers its readiness endpoint."""
    try:
        with _LOOPBACK.open(f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_prometheus(ports: dict[str, int]) -> int:
    """Start Prometheus (or reuse it, reloading a changed configuration); wait until it is ready."""
    binary = ensure_prometheus()
    changed = write_config(ports)
    check = subprocess.run(["promtool", "check", "config", str(CONFIG)], capture_output=True, text=True)
    if check.returncode:
        raise StackError(f"prometheus configuration is invalid: {last_line(check.stdout + check.stderr)}")
    if pid := pid_of("prometheus"):
        if changed:
            send_signal(pid, signal.SIGHUP)
        say(f"prometheus: running (pid {pid}), reused")
        return pid
    check_port_free(PROMETHEUS_PORT, "Prometheus")
    argv = [
        binary,
        f"--config.file={CONFIG}",
        f"--storage.tsdb.path={PROMETHEUS_DIR / 'data'}",
        "--storage.tsdb.retention.time=15d",
        f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
    ]
    with open(LOGS / "prometheus.log", "ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=PROMETHEUS_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "GOMAXPROCS": "1"},
        )
    write_pid("prometheus", process.pid, argv)
    deadline = time.monotonic() + 60
    while not _ready():
        if process.poll() is not None:
            raise StackError(f"prometheus exited: {last_line(LOGS / 'prometheus.log')}")
        if time.monotonic() > deadline:
            raise StackError(f"prometheus did not become ready in 60 s; see {LOGS / 'prometheus.log'}")
        time.sleep(0.5)
    say(f"prometheus: started (http://127.0.0.1:{PROMETHEUS_PORT}, {len(scraped(ports))} targets)")
    return process.pid


def stop_prometheus() -> None:
    """Stop Prometheus; no-op if stopped."""
    if pid := pid_of("prometheus"):
        stop_all(["prometheus"], 15)
        say(f"prometheus: stopped (was pid {pid})")
