#!/usr/bin/env python3
"""Native local stack for Claimflow (no Docker): PostgreSQL 15, single-node Kafka 3.9 (KRaft), the services.

Usage: .venv/bin/python deploy/stack.py up [--infra-only] [--quiet] | down | status
       | start-process NAME | stop-process NAME | restart-process NAME | kill-process NAME [--signal KILL]
NAME is postgres, kafka, <service>-api, <service>-worker or sandbox-api. Tests may `import deploy.stack`.
State lives in $CLAIMFLOW_HOME (default /var/lib/claimflow), downloads in $CLAIMFLOW_CACHE. Stdlib only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
HOME = Path(os.environ.get("CLAIMFLOW_HOME", "/var/lib/claimflow"))
CACHE = Path(os.environ.get("CLAIMFLOW_CACHE", "/var/cache/claimflow"))
RUN, LOGS, PG_DIR, KAFKA_DIR = HOME / "run", HOME / "logs", HOME / "pg", HOME / "kafka"
PG_DATA, PG_SOCKET, ENV_FILE, LIBS = PG_DIR / "data", PG_DIR / "socket", HOME / "stack.env", CACHE / "kafka-libs"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT, KAFKA_PORT, CONTROLLER_PORT = 55432, 39092, 39093
SERVICES = ("intake", "coding", "submission", "remittance", "analytics")
API_PORTS = {"intake": 8101, "coding": 8102, "submission": 8103, "remittance": 8104, "analytics": 8105,
             "sandbox": 8109}
PY = str(REPO / ".venv/bin/python") if (REPO / ".venv/bin/python").exists() else sys.executable
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
QUIET = False
_T0 = time.monotonic()
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
_ADMIN_CHECK = """import asyncio, sys
from aiokafka.admin import AIOKafkaAdminClient
async def main():
    client = AIOKafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000)
    await client.start()
    try:
        await client.list_topics()
    finally:
        await client.close()
asyncio.run(main())"""


class StackError(RuntimeError):
    """A failure the user can act on: printed as one line, without a traceback."""


def say(msg: str) -> None:
    """Print one progress line with the seconds elapsed since the command started."""
    if not QUIET:
        print(f"[{time.monotonic() - _T0:5.1f}s] {msg}", flush=True)


def _last_line(text: str | Path) -> str:
    """Last non-empty line of a text or of a file's tail (for one-line error reasons)."""
    if isinstance(text, Path):
        try:
            with open(text, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - 4096))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


# ---------------------------------------------------------------- state dirs and the env file
def ensure_dirs() -> None:
    """Create the state and cache folders (HOME stays traversable so the postgres user reaches pg/)."""
    for d in (HOME, RUN, LOGS, KAFKA_DIR, CACHE):
        d.mkdir(parents=True, exist_ok=True)
    HOME.chmod(0o755)


def _env_defaults() -> dict[str, str]:
    """Every key stack.env must hold, with fresh random secrets."""
    env = {"CLAIMFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{KAFKA_PORT}", "CLAIMFLOW_PG_HOST": "127.0.0.1",
           "CLAIMFLOW_PG_PORT": str(PG_PORT), "CLAIMFLOW_PG_DATABASE": "claimflow"}
    for i, s in enumerate(SERVICES):
        u = f"CLAIMFLOW_{s.upper()}_"
        env |= {u + "DB_USER": f"{s}_app", u + "DB_PASSWORD": secrets.token_hex(24),
                u + "OWNER_USER": f"{s}_owner", u + "OWNER_PASSWORD": secrets.token_hex(24)}
    env |= {"CLAIMFLOW_OPERATOR_TOKEN": secrets.token_hex(32), "CLAIMFLOW_CLEARINGHOUSE_SECRET": secrets.token_hex(32)}
    env |= {f"CLAIMFLOW_{s.upper()}_PORT": str(p) for s, p in API_PORTS.items()}
    env |= {f"CLAIMFLOW_{s.upper()}_WORKER_METRICS_PORT": str(8201 + i) for i, s in enumerate(SERVICES)}
    return env | {"CLAIMFLOW_SANDBOX_URL": "http://127.0.0.1:8109", "CLAIMFLOW_REMITTANCE_URL": "http://127.0.0.1:8104"}


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
    HOME.mkdir(parents=True, exist_ok=True)
    current = _read_env_file()
    missing = {k: v for k, v in _env_defaults().items() if k not in current}
    if missing:
        with os.fdopen(os.open(ENV_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as f:
            if not current:
                f.write("# Claimflow local stack, generated once by deploy/stack.py. Holds secrets: keep private.\n")
            f.writelines(f"{k}={v}\n" for k, v in missing.items())
        current |= missing
    ENV_FILE.chmod(0o600)
    return current


def load_env() -> dict[str, str]:
    """stack.env values, each overridden by the same variable in the caller's environment."""
    return {k: os.environ.get(k, v) for k, v in ensure_env_file().items()}


def _child_env() -> dict[str, str]:
    """Environment of a service process: the caller's environment over stack.env, this checkout first."""
    env = {**ensure_env_file(), **os.environ, "CLAIMFLOW_HOME": str(HOME), "PYTHONUNBUFFERED": "1"}
    paths = [str(REPO)] + [str(p) for p in sorted((REPO / "services").glob("*")) if p.is_dir()]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    return env


# ---------------------------------------------------------------- processes, pids, ports
def process_names() -> list[str]:
    """Every service process the stack runs, in start order."""
    return [f"{s}-{kind}" for s in SERVICES for kind in ("api", "worker")] + ["sandbox-api"]


def _marker(name: str) -> str:
    """Text that /proc/<pid>/cmdline of the named component must contain."""
    if name in ("postgres", "kafka"):
        return {"postgres": "postgres", "kafka": "kafka.Kafka"}[name]
    svc, _, kind = name.rpartition("-")
    if name not in process_names():
        raise StackError(f"unknown process {name!r}; known: postgres, kafka, {', '.join(process_names())}")
    return f"{svc}.worker" if kind == "worker" else f"{svc}.main:create_app"


def _port_of(name: str, env: dict[str, str]) -> int:
    """HTTP port of a service process (API port, or the worker's metrics port)."""
    svc, _, kind = name.rpartition("-")
    return int(env[f"CLAIMFLOW_{svc.upper()}_{'PORT' if kind == 'api' else 'WORKER_METRICS_PORT'}"])


def _command(name: str, env: dict[str, str]) -> list[str]:
    """argv of a service process."""
    svc, _, kind = name.rpartition("-")
    if kind == "worker":
        return [PY, "-m", f"{svc}.worker"]
    return [PY, "-m", "uvicorn", f"{svc}.main:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(_port_of(name, env)), "--log-level", "warning", "--no-access-log"]


def _alive(pid: int, marker: str) -> bool:
    """True if pid is a live, non-zombie process whose command line contains marker."""
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and marker in cmdline


def pid_of(name: str) -> int | None:
    """Pid of the named component if it runs (checked against its command line), else None."""
    path = PG_DATA / "postmaster.pid" if name == "postgres" else RUN / f"{name}.pid"
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid, _marker(name)) else None


def is_running(name: str) -> bool:
    """True if the named component (postgres, kafka or a service process) runs."""
    return pid_of(name) is not None


def _write_pid(name: str, pid: int, argv: list[str]) -> None:
    """Record a started process: run/<name>.pid plus a JSON sidecar with its command and checkout."""
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / f"{name}.json").write_text(json.dumps({"pid": pid, "argv": argv, "cwd": str(REPO), "started": time.time()}))
    (RUN / f"{name}.pid").write_text(f"{pid}\n")


def _signal(pid: int, sig: int) -> None:
    """Signal a process and, when it leads its own session (all ours do), its whole process group."""
    try:
        os.killpg(pid, sig) if os.getpgid(pid) == pid else os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _stop_many(names: list[str], timeout: float) -> None:
    """SIGTERM the named running components, wait up to timeout, SIGKILL what is left; drop pid files."""
    running = {n: p for n in names if (p := pid_of(n))}
    for pid in running.values():
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for sig_deadline, sig in ((deadline, signal.SIGKILL), (deadline + 10, None)):
        while any(_alive(p, _marker(n)) for n, p in running.items()) and time.monotonic() < sig_deadline:
            time.sleep(0.1)
        left = {n: p for n, p in running.items() if _alive(p, _marker(n))}
        for n, pid in left.items():
            if sig is None:
                raise StackError(f"{n} (pid {pid}) survived SIGKILL; check `ps -o stat -p {pid}`")
            say(f"{n}: no exit {timeout:.0f} s after SIGTERM, sending SIGKILL")
            _signal(pid, sig)
    for n in names:
        if n != "postgres":
            for suffix in (".pid", ".json"):
                (RUN / f"{n}{suffix}").unlink(missing_ok=True)


def _port_open(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _check_port_free(port: int, what: str) -> None:
    """Fail with a one-line reason if another program already listens on the port."""
    if not _port_open(port):
        return
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout \
        if shutil.which("ss") else ""
    owner = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
    who = f"{owner[1]} (pid {owner[2]})" if owner else "another program"
    raise StackError(f"port {port} for {what} is taken by {who}, not started from this CLAIMFLOW_HOME ({HOME}): "
                     f"stop it (or run `stack.py down` with that program's CLAIMFLOW_HOME), then rerun")


# ---------------------------------------------------------------- installation
_apt_updated = False


def apt_install(*packages: str) -> None:
    """Install Debian packages non-interactively (apt-get update first, once per run)."""
    global _apt_updated
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(f"{' '.join(packages)} missing: install it (apt-get install {' '.join(packages)}) as root")
    log = LOGS / "apt.log"
    say(f"installing {' '.join(packages)} with apt-get (takes a few minutes, once; output in {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = ([] if _apt_updated else [["apt-get", "update"]]) + [["apt-get", "install", "-y", *packages]]
    with open(log, "ab") as out:
        for argv in steps:
            rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env).returncode
            if rc:
                raise StackError(f"`{' '.join(argv)}` failed (exit {rc}): {_last_line(log)} (see {log}); fix, then rerun")
    _apt_updated = True


def _as_postgres(*argv: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command as the postgres OS user (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        raise StackError("run the stack as root: it runs PostgreSQL through `runuser -u postgres`")
    return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, argv)], cwd=PG_DIR, input=stdin,
                          capture_output=True, text=True)


# ---------------------------------------------------------------- PostgreSQL
def install_postgres() -> None:
    """Install Debian's PostgreSQL 15 if its binaries are missing (Debian's own 15/main cluster stays off)."""
    if (PG_BIN / "initdb").exists():
        return
    apt_install("postgresql")
    if not (PG_BIN / "initdb").exists():
        raise StackError(f"apt-get installed PostgreSQL, but not version 15 ({PG_BIN} missing): install postgresql-15")
    if "online" in subprocess.run(["pg_lsclusters", "15", "main"], capture_output=True, text=True).stdout:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "stop"], capture_output=True)


def init_postgres() -> None:
    """Create the stack's own cluster once (postgres-owned pg/) and rewrite its settings file."""
    PG_DIR.mkdir(parents=True, exist_ok=True)
    PG_SOCKET.mkdir(exist_ok=True)
    log = LOGS / "postgres.log"
    log.touch()
    for path, mode in ((PG_DIR, 0o700), (PG_SOCKET, 0o700), (log, 0o640)):
        shutil.chown(path, "postgres", "postgres")
        path.chmod(mode)
    if _as_postgres("test", "-w", PG_DIR).returncode:
        raise StackError(f"the postgres user cannot reach {PG_DIR}: set CLAIMFLOW_HOME to a folder outside /root")
    if not (PG_DATA / "PG_VERSION").exists():
        say("postgres: initdb (once)")
        r = _as_postgres(PG_BIN / "initdb", "-D", PG_DATA, "-U", "postgres", "--auth-local=peer",
                         "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        if r.returncode:
            raise StackError(f"initdb failed: {_last_line(r.stderr or r.stdout)}")
    sock = str(PG_SOCKET).replace("'", "''")
    (PG_DATA / "claimflow.conf").write_text(
        "# Written by deploy/stack.py on every start; edit there.\n"
        f"listen_addresses = '127.0.0.1'\nport = {PG_PORT}\nunix_socket_directories = '{sock}'\n"
        "max_connections = 200\nshared_buffers = 256MB\nfsync = on\nsynchronous_commit = on\n"
        "password_encryption = scram-sha-256\ntimezone = 'UTC'\nlog_timezone = 'UTC'\n"
        "log_line_prefix = '%m [%p] %q%u@%d '\n")
    shutil.chown(PG_DATA / "claimflow.conf", "postgres", "postgres")
    conf = PG_DATA / "postgresql.conf"
    if "include_if_exists = 'claimflow.conf'" not in conf.read_text():
        with open(conf, "a") as f:
            f.write("\ninclude_if_exists = 'claimflow.conf'\n")


def start_postgres() -> int:
    """Install, initialise and start the stack's PostgreSQL, or reuse it if it runs; returns its pid."""
    install_postgres()
    init_postgres()
    if pid := pid_of("postgres"):
        say(f"postgres: running (pid {pid}), reused")
        return pid
    _check_port_free(PG_PORT, "PostgreSQL")
    log = LOGS / "postgres.log"
    r = _as_postgres(PG_BIN / "pg_ctl", "-D", PG_DATA, "-l", log, "-w", "-t", "60", "start")
    if r.returncode or not (pid := pid_of("postgres")):
        raise StackError(f"PostgreSQL did not start: {_last_line(log) or _last_line(r.stderr)} (see {log})")
    say(f"postgres: started (pid {pid}, 127.0.0.1:{PG_PORT})")
    return pid


def stop_postgres() -> None:
    """Stop the stack's PostgreSQL (`pg_ctl stop -m fast`, SIGKILL if that fails); no-op if stopped."""
    if not (pid := pid_of("postgres")):
        return
    r = _as_postgres(PG_BIN / "pg_ctl", "-D", PG_DATA, "-m", "fast", "-w", "-t", "30", "stop")
    if r.returncode and pid_of("postgres"):
        _stop_many(["postgres"], 0)
    say(f"postgres: stopped (was pid {pid})")


def bootstrap_db(env: dict[str, str]) -> None:
    """Create the database, per-service roles and schemas idempotently; sync role passwords to env."""
    db = env["CLAIMFLOW_PG_DATABASE"]
    script = ["\\set ON_ERROR_STOP on",
              f"SELECT 'CREATE DATABASE {db}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{db}')\\gexec",
              f"\\connect {db}", "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
              f"REVOKE CREATE, CONNECT ON DATABASE {db} FROM PUBLIC;"]
    for s in SERVICES:
        owner, app = env[f"CLAIMFLOW_{s.upper()}_OWNER_USER"], env[f"CLAIMFLOW_{s.upper()}_DB_USER"]
        for role, key in ((owner, "OWNER_PASSWORD"), (app, "DB_PASSWORD")):
            if not NAME_RE.match(role):
                raise StackError(f"role name {role!r} is not a plain identifier: fix it in {ENV_FILE}")
            pw = env[f"CLAIMFLOW_{s.upper()}_{key}"].replace("\\", "\\\\").replace("'", "''")
            script += [f"SELECT 'CREATE ROLE {role} LOGIN' WHERE NOT EXISTS "
                       f"(SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec", f"\\set pw '{pw}'",
                       f"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                       "PASSWORD :'pw';", f"ALTER ROLE {role} IN DATABASE {db} SET search_path = {s};"]
        script.append(f"GRANT CONNECT ON DATABASE {db} TO {owner}, {app};")
        for schema in [s] + (["analytics_rebuild"] if s == "analytics" else []):
            script += [f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner};",
                       f"ALTER SCHEMA {schema} OWNER TO {owner};", f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;",
                       f"GRANT USAGE ON SCHEMA {schema} TO {app};",
                       f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                       f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};",
                       f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                       f"GRANT USAGE, SELECT ON SEQUENCES TO {app};"]
    if not NAME_RE.match(db):
        raise StackError(f"database name {db!r} is not a plain identifier: fix CLAIMFLOW_PG_DATABASE")
    r = _as_postgres("psql", "-X", "-q", "-h", PG_SOCKET, "-p", str(PG_PORT), "-d", "postgres", "-f", "-",
                     stdin="\n".join(script) + "\n")
    if r.returncode:
        raise StackError(f"database bootstrap failed: {_last_line(r.stderr)}")
    say(f"postgres: database {db}, roles and schemas of {len(SERVICES)} services in place")


# ---------------------------------------------------------------- Kafka
def kafka_version() -> str:
    """Kafka version pinned in deploy/pom.xml."""
    return re.search(r"<kafka\.version>([^<]+)</kafka\.version>", (DEPLOY / "pom.xml").read_text())[1]


def ensure_kafka_libs() -> None:
    """Fetch the broker jars with Maven into the cache once (a temp folder renamed when complete)."""
    if not shutil.which("java"):
        apt_install("openjdk-17-jre-headless")
    jar = LIBS / f"kafka_2.13-{kafka_version()}.jar"
    if jar.exists():
        return
    if not shutil.which("mvn"):
        apt_install("maven")
    tmp, old, log = CACHE / "kafka-libs.partial", CACHE / "kafka-libs.old", LOGS / "mvn.log"
    shutil.rmtree(tmp, ignore_errors=True)
    say(f"kafka: downloading Kafka {kafka_version()} jars from Maven Central (~50 MB, once; log {log})")
    with open(log, "wb") as out:
        rc = subprocess.run(["mvn", "-q", "-B", "-f", str(DEPLOY / "pom.xml"), "dependency:copy-dependencies",
                             "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    if rc or not (tmp / jar.name).exists():
        raise StackError(f"mvn could not fetch the Kafka jars (exit {rc}): see {log}; check Maven Central, then rerun")
    shutil.rmtree(old, ignore_errors=True)
    if LIBS.exists():
        LIBS.rename(old)
    tmp.rename(LIBS)
    shutil.rmtree(old, ignore_errors=True)


def _storage_tool(*args: str) -> str:
    """Run kafka.tools.StorageTool and return its output's last line."""
    r = subprocess.run(["java", "-cp", f"{LIBS}/*", "kafka.tools.StorageTool", *args], cwd=KAFKA_DIR,
                       capture_output=True, text=True)
    if r.returncode:
        raise StackError(f"kafka StorageTool {args[0]} failed: {_last_line(r.stderr) or _last_line(r.stdout)}")
    return _last_line(r.stdout)


def prepare_kafka() -> Path:
    """Install the jars, write server.properties, and format the storage once; returns the properties path."""
    ensure_kafka_libs()
    props = KAFKA_DIR / "server.properties"
    template = (DEPLOY / "kafka/server.properties.in").read_text()
    props.write_text(template.replace("@DATA_DIR@", str(KAFKA_DIR / "data")))
    id_file = KAFKA_DIR / "cluster-id"
    if not id_file.exists():
        id_file.write_text(_storage_tool("random-uuid") + "\n")
    if not (KAFKA_DIR / "data/meta.properties").exists():
        say("kafka: formatting storage (once)")
        _storage_tool("format", "-t", id_file.read_text().strip(), "-c", str(props), "--ignore-formatted")
    return props


def _wait_kafka(pid: int, timeout: float = 90) -> None:
    """Wait until the broker accepts TCP and answers an admin metadata request (aiokafka)."""
    deadline = time.monotonic() + timeout
    while True:
        if not _alive(pid, "kafka.Kafka"):
            raise StackError(f"Kafka exited while starting: {_last_line(LOGS / 'kafka.out')} "
                             f"(see {LOGS}/server.log and kafka.out)")
        if _port_open(KAFKA_PORT) and subprocess.run(
                [PY, "-c", _ADMIN_CHECK, f"127.0.0.1:{KAFKA_PORT}"], capture_output=True, timeout=30).returncode == 0:
            return
        if time.monotonic() > deadline:
            raise StackError(f"Kafka (pid {pid}) did not answer within {timeout:.0f} s: see {LOGS}/server.log")
        time.sleep(0.5)


def start_kafka() -> int:
    """Start the broker (installing and formatting first if needed) or reuse it; wait until it answers."""
    props = prepare_kafka()
    if pid := pid_of("kafka"):
        _wait_kafka(pid)
        say(f"kafka: running (pid {pid}), reused")
        return pid
    for port in (KAFKA_PORT, CONTROLLER_PORT):
        _check_port_free(port, "Kafka")
    argv = ["java", "-Xms512m", "-Xmx512m", f"-Dlog4j.configuration=file:{DEPLOY / 'kafka/log4j.properties'}",
            f"-Dkafka.logs.dir={LOGS}", "-cp", f"{LIBS}/*", "kafka.Kafka", str(props)]
    with open(LOGS / "kafka.out", "ab") as out:
        proc = subprocess.Popen(argv, cwd=KAFKA_DIR, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _write_pid("kafka", proc.pid, argv)
    say(f"kafka: starting (pid {proc.pid}), waiting for the broker")
    _wait_kafka(proc.pid)
    say(f"kafka: started (127.0.0.1:{KAFKA_PORT})")
    return proc.pid


def stop_kafka(timeout: float = 30) -> None:
    """Stop the broker (SIGTERM, SIGKILL after timeout); no-op if stopped."""
    if pid := pid_of("kafka"):
        _stop_many(["kafka"], timeout)
        say(f"kafka: stopped (was pid {pid})")


# ---------------------------------------------------------------- service processes
def start_process(name: str, wait: bool = False) -> int:
    """Start one component by name unless it runs; returns its pid (wait: until its /readyz answers 200)."""
    if name in ("postgres", "kafka"):
        return start_postgres() if name == "postgres" else start_kafka()
    _marker(name)  # validates the name
    if pid := pid_of(name):
        return pid
    env = _child_env()
    _check_port_free(_port_of(name, env), name)
    argv = _command(name, env)
    with open(LOGS / f"{name}.log", "ab") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _write_pid(name, proc.pid, argv)
    if wait:
        wait_ready([name])
    return proc.pid


def stop_process(name: str, timeout: float = 10) -> None:
    """Stop one component by name (SIGTERM, then SIGKILL after timeout); no-op if stopped."""
    if name in ("postgres", "kafka"):
        return stop_postgres() if name == "postgres" else stop_kafka()
    _marker(name)
    _stop_many([name], timeout)


def restart_process(name: str, wait: bool = True) -> int:
    """Stop and start one component from the current checkout."""
    stop_process(name)
    return start_process(name, wait=wait)


def kill_process(name: str, sig: int = signal.SIGKILL) -> bool:
    """Send a signal to a running component (fault tests); waits for exit after KILL/TERM. False if not running."""
    if not (pid := pid_of(name)):
        return False
    _signal(pid, sig)
    deadline = time.monotonic() + 30
    while sig in (signal.SIGKILL, signal.SIGTERM) and _alive(pid, _marker(name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def _http_ok(url: str) -> bool:
    """True if GET url answers 200 (connection refused, timeouts and other codes count as not yet)."""
    try:
        with _HTTP.open(url, timeout=2) as resp:
            return resp.status == 200
    except (OSError, http.client.HTTPException, ValueError):
        return False


def wait_ready(names: list[str], timeout: float = 60) -> None:
    """Wait until every named service process answers GET /readyz with 200; fail naming the laggards."""
    env, pending = load_env(), list(names)
    deadline, reported = time.monotonic() + timeout, time.monotonic()
    while pending:
        for name in list(pending):
            if not pid_of(name):
                log = LOGS / f"{name}.log"
                raise StackError(f"{name} exited while starting: {_last_line(log)} (see {log})")
            if _http_ok(f"http://127.0.0.1:{_port_of(name, env)}/readyz"):
                pending.remove(name)
        if pending and time.monotonic() > deadline:
            raise StackError(f"not ready after {timeout:.0f} s (GET /readyz): {', '.join(pending)}; "
                             f"see {LOGS}/{pending[0]}.log")
        if pending and time.monotonic() - reported > 5:
            reported = time.monotonic()
            say(f"waiting for /readyz: {', '.join(pending)}")
        time.sleep(0.3)


def _run_step(what: str, argv: list[str]) -> None:
    """Run a setup command from the checkout (topics, migrations); fail with its last output line."""
    r = subprocess.run(argv, cwd=REPO, env=_child_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    with open(LOGS / "setup.log", "a") as log:
        log.write(f"$ {' '.join(argv)}  (exit {r.returncode})\n{r.stdout}{r.stderr}")
    if r.returncode:
        raise StackError(f"{what} failed (exit {r.returncode}): {_last_line(r.stderr or r.stdout)} "
                         f"(see {LOGS / 'setup.log'})")
    say(f"{what}: done")


# ---------------------------------------------------------------- commands
def up(infra_only: bool = False) -> None:
    """Install, start or reuse the infrastructure; unless infra_only, (re)start every service process."""
    global _T0
    _T0 = time.monotonic()
    ensure_dirs()
    say(f"state in {HOME}, downloads in {CACHE}")
    env = load_env()
    say(f"settings and secrets in {ENV_FILE}")
    start_postgres()
    bootstrap_db(env)
    start_kafka()
    if not infra_only:
        _run_step("topics", [PY, "-m", "shared.topics", "ensure"])
        for s in SERVICES:
            _run_step(f"migrations {s}", [PY, "-m", "shared.migrate", s])
        names = process_names()
        _stop_many(names, 10)
        for name in names:
            start_process(name)
        say(f"started {len(names)} processes from {REPO}; waiting for /readyz")
        wait_ready(names)
        say("all processes ready")
    print_table()


def down() -> None:
    """Stop the service processes, then Kafka, then PostgreSQL; fine when nothing was running."""
    _stop_many(process_names(), 10)
    stop_kafka()
    stop_postgres()
    for path in list(RUN.glob("*.pid")) + list(RUN.glob("*.json")):
        path.unlink(missing_ok=True)
    say("stack stopped")


def status() -> list[tuple[str, int | None, str]]:
    """(name, pid or None, address) for every component."""
    env = {**_env_defaults(), **_read_env_file(), **os.environ}
    rows = [("postgres", pid_of("postgres"), f"postgresql://127.0.0.1:{PG_PORT}/{env['CLAIMFLOW_PG_DATABASE']}"),
            ("kafka", pid_of("kafka"), f"127.0.0.1:{KAFKA_PORT}")]
    for name in process_names():
        path = "/docs" if name.endswith("-api") else "/metrics"
        rows.append((name, pid_of(name), f"http://127.0.0.1:{_port_of(name, env)}{path}"))
    return rows


def print_table() -> None:
    """Print one line per component: state, pid, address."""
    if not QUIET:
        for name, pid, address in status():
            print(f"  {name:18} {'running' if pid else 'stopped':8} {str(pid or '-'):>8}  {address}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    global QUIET
    parser = argparse.ArgumentParser(prog="stack.py", description="Claimflow native local stack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="install, start or reuse everything")
    p_up.add_argument("--infra-only", action="store_true", help="PostgreSQL and Kafka only")
    p_up.add_argument("--quiet", action="store_true")
    sub.add_parser("down", help="stop everything")
    sub.add_parser("status", help="one line per component")
    for cmd in ("start-process", "stop-process", "restart-process", "kill-process"):
        p = sub.add_parser(cmd)
        p.add_argument("name")
        if cmd == "kill-process":
            p.add_argument("--signal", default="KILL", help="signal name or number (default KILL)")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            QUIET = args.quiet
            up(infra_only=args.infra_only)
        elif args.cmd == "down":
            down()
        elif args.cmd == "status":
            print_table()
        elif args.cmd == "kill-process":
            name = args.signal.upper().removeprefix("SIG")
            if not (name.isdigit() or name in signal.Signals.__members__ or "SIG" + name in signal.Signals.__members__):
                raise StackError(f"unknown signal {args.signal!r}: use a name such as KILL, TERM, STOP, CONT")
            sig = int(name) if name.isdigit() else signal.Signals["SIG" + name]
            if not kill_process(args.name, sig):
                raise StackError(f"{args.name} is not running")
        else:
            {"start-process": lambda n: start_process(n, wait=True), "stop-process": stop_process,
             "restart-process": restart_process}[args.cmd](args.name)
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
