"""PostgreSQL 15 and single-node Kafka 3.9 of the native local stack: install, initialise, start, stop."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from deploy.runtime import (
    CACHE,
    CONTROLLER_PORT,
    DEPLOY,
    KAFKA_DIR,
    KAFKA_PORT,
    LIBS,
    LOGS,
    PG_DATA,
    PG_DIR,
    PG_PORT,
    PG_SOCKET,
    PY,
    SERVICES,
    StackError,
    alive,
    apt_install,
    check_port_free,
    last_line,
    pid_of,
    port_open,
    require_root,
    say,
    stop_all,
    write_pid,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ADMIN_CHECK = """import asyncio, sys
from aiokafka.admin import AIOKafkaAdminClient
async def main():
    client = AIOKafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000)
    await client.start()
    try:
        await client.list_topics()
    finally:
        await client.close()
asyncio.run(main())"""


def as_postgres(*argv: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command as the postgres OS user (PostgreSQL refuses to run as root)."""
    require_root()
    command = ["runuser", "-u", "postgres", "--", *map(str, argv)]
    return subprocess.run(command, cwd=PG_DIR, input=stdin, capture_output=True, text=True)


def _psql_error(stderr: str) -> str:
    """The first ERROR line psql printed: never the echoed statement, which may hold a password."""
    errors = [line for line in stderr.splitlines() if "ERROR:" in line or "FATAL:" in line]
    return errors[0].strip() if errors else "psql failed without an error line"


def install_postgres() -> None:
    """Install Debian's PostgreSQL 15 if missing; Debian's own 15/main cluster is left stopped."""
    if (PG_BIN / "initdb").exists():
        return
    apt_install("postgresql")
    if not (PG_BIN / "initdb").exists():
        raise StackError(f"apt-get installed PostgreSQL, but not version 15 ({PG_BIN} is missing)")
    clusters = subprocess.run(["pg_lsclusters", "15", "main"], capture_output=True, text=True).stdout
    if "online" in clusters:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "stop"], capture_output=True)


def init_postgres() -> None:
    """Create the stack's own cluster once in a postgres-owned pg/, and rewrite its settings file."""
    require_root()
    log = LOGS / "postgres.log"
    PG_SOCKET.mkdir(parents=True, exist_ok=True)
    log.touch()
    for path, mode in ((PG_DIR, 0o700), (PG_SOCKET, 0o700), (log, 0o640)):
        shutil.chown(path, "postgres", "postgres")
        path.chmod(mode)
    if as_postgres("test", "-w", PG_DIR).returncode:
        raise StackError(f"the postgres user cannot reach {PG_DIR}: set CLAIMFLOW_HOME to a folder outside /root")
    if not (PG_DATA / "PG_VERSION").exists():
        say("postgres: initdb (once)")
        options = ["--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
        result = as_postgres(PG_BIN / "initdb", "-D", PG_DATA, "-U", "postgres", *options)
        if result.returncode:
            raise StackError(f"initdb failed: {last_line(result.stderr or result.stdout)}")
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(PG_PORT),
        "unix_socket_directories": "'{}'".format(str(PG_SOCKET).replace("'", "''")),
        "max_connections": "200",
        "shared_buffers": "256MB",
        "fsync": "on",
        "synchronous_commit": "on",
        "password_encryption": "scram-sha-256",
        "timezone": "'UTC'",
        "log_timezone": "'UTC'",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
    }
    lines = ["# Written by deploy/infra.py on every start: change it there."]
    (PG_DATA / "claimflow.conf").write_text("\n".join(lines + [f"{k} = {v}" for k, v in settings.items()]) + "\n")
    shutil.chown(PG_DATA / "claimflow.conf", "postgres", "postgres")
    main_conf = PG_DATA / "postgresql.conf"
    if "include_if_exists = 'claimflow.conf'" not in main_conf.read_text():
        with open(main_conf, "a") as f:
            f.write("\ninclude_if_exists = 'claimflow.conf'\n")


def _clear_stale_locks() -> None:
    """Remove the lock files of a killed server once no process uses its shared memory any more.

    A SIGKILLed postmaster stays a zombie until PID 1 reaps it, and PostgreSQL then takes its lock
    files for a running server; the shared-memory attach count is the test PostgreSQL itself trusts.
    """
    lock = PG_DATA / "postmaster.pid"
    lines = lock.read_text().splitlines() if lock.exists() else []
    if not lines or pid_of("postgres"):
        return
    shmid = lines[6].split()[-1] if len(lines) > 6 and lines[6].split() else ""
    deadline = time.monotonic() + 15
    while shmid and any(
        row.split()[1] == shmid and int(row.split()[6]) > 0
        for row in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    ):
        if time.monotonic() > deadline:
            raise StackError(f"processes of a killed PostgreSQL still hold shared memory {shmid}: wait, rerun")
        time.sleep(0.2)
    lock.unlink()
    (PG_SOCKET / f".s.PGSQL.{PG_PORT}.lock").unlink(missing_ok=True)


def _failure_reason(log: Path) -> str:
    """The last FATAL or PANIC line of the PostgreSQL log, else its last line."""
    text = log.read_text(errors="replace")[-8192:] if log.exists() else ""
    fatal = [line for line in text.splitlines() if "FATAL:" in line or "PANIC:" in line]
    return last_line(fatal[-1] if fatal else text)


def start_postgres() -> int:
    """Install, initialise and start the stack's PostgreSQL, or reuse a running one; returns its pid."""
    install_postgres()
    init_postgres()
    if pid := pid_of("postgres"):
        say(f"postgres: running (pid {pid}), reused")
        return pid
    _clear_stale_locks()
    check_port_free(PG_PORT, "PostgreSQL")
    log = LOGS / "postgres.log"
    result = as_postgres(PG_BIN / "pg_ctl", "-D", PG_DATA, "-l", log, "-w", "-t", "60", "start")
    if result.returncode or not (pid := pid_of("postgres")):
        raise StackError(f"PostgreSQL did not start: {_failure_reason(log) or last_line(result.stderr)} (see {log})")
    say(f"postgres: started (pid {pid}, 127.0.0.1:{PG_PORT})")
    return pid


def stop_postgres() -> None:
    """Stop the stack's PostgreSQL (`pg_ctl stop -m fast`, SIGKILL if that fails); no-op if stopped."""
    if not (pid := pid_of("postgres")):
        return
    result = as_postgres(PG_BIN / "pg_ctl", "-D", PG_DATA, "-m", "fast", "-w", "-t", "30", "stop")
    if result.returncode and pid_of("postgres"):
        stop_all(["postgres"], 0)
    say(f"postgres: stopped (was pid {pid})")


def _role_sql(role: str, password: str, db: str, schema: str) -> list[str]:
    """psql lines that create a login role if missing and pin its attributes, password and search_path."""
    if not IDENTIFIER.match(role):
        raise StackError(f"role name {role!r} is not a plain lower-case identifier: fix it in stack.env")
    quoted = password.replace("\\", "\\\\").replace("'", "''")
    return [
        f"SELECT 'CREATE ROLE {role} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec",
        f"\\set pw '{quoted}'",
        f"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'pw';",
        f"ALTER ROLE {role} IN DATABASE {db} SET search_path = {schema};",
    ]


def _schema_sql(schema: str, owner: str, app: str) -> list[str]:
    """SQL that gives a schema to its migration role and table rights (no DDL) to its runtime role."""
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT"
    return [
        f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner};",
        f"ALTER SCHEMA {schema} OWNER TO {owner};",
        f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA {schema} TO {app};",
        f"{defaults} SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};",
        f"{defaults} USAGE, SELECT ON SEQUENCES TO {app};",
    ]


def bootstrap_db(env: dict[str, str]) -> None:
    """Create the database and each service's roles and schemas idempotently; sync passwords to env."""
    db = env["CLAIMFLOW_PG_DATABASE"]
    if not IDENTIFIER.match(db):
        raise StackError(f"database name {db!r} is not a plain lower-case identifier: fix CLAIMFLOW_PG_DATABASE")
    script = [
        "\\set ON_ERROR_STOP on",
        f"SELECT 'CREATE DATABASE {db}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{db}')\\gexec",
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;",
        f"\\connect {db}",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
        f"REVOKE CREATE, CONNECT ON DATABASE {db} FROM PUBLIC;",
    ]
    for service in SERVICES:
        prefix = f"CLAIMFLOW_{service.upper()}_"
        owner, app, relay = env[prefix + "OWNER_USER"], env[prefix + "DB_USER"], env[prefix + "RELAY_USER"]
        script += _role_sql(owner, env[prefix + "OWNER_PASSWORD"], db, service)
        script += _role_sql(app, env[prefix + "DB_PASSWORD"], db, service)
        script += _role_sql(relay, env[prefix + "RELAY_PASSWORD"], db, service)
        script.append(f"GRANT CONNECT ON DATABASE {db} TO {owner}, {app}, {relay};")
        for schema in [service] + (["analytics_rebuild"] if service == "analytics" else []):
            script += _schema_sql(schema, owner, app)
        script.append(f"GRANT USAGE ON SCHEMA {service} TO {relay};")  # its outbox rights come with the migrations
    psql: list[str | Path] = ["psql", "-X", "-q", "-h", PG_SOCKET, "-p", str(PG_PORT), "-d", "postgres", "-f", "-"]
    result = as_postgres(*psql, stdin="\n".join(script) + "\n")
    if result.returncode:
        raise StackError(f"database bootstrap failed: {_psql_error(result.stderr)}")
    say(f"postgres: database {db} with roles and schemas of {len(SERVICES)} services in place")


def kafka_version() -> str:
    """Kafka version pinned in deploy/pom.xml."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", (DEPLOY / "pom.xml").read_text())
    if not found:
        raise StackError("deploy/pom.xml has no <kafka.version>")
    return found[1]


def ensure_kafka_libs() -> None:
    """Fetch the broker jars with Maven into the cache once (into a temp folder, renamed when complete)."""
    if not shutil.which("java"):
        apt_install("openjdk-17-jre-headless")
    jar = LIBS / f"kafka_2.13-{kafka_version()}.jar"
    if jar.exists():
        return
    if not shutil.which("mvn"):
        apt_install("maven")
    partial, old, log = CACHE / "kafka-libs.partial", CACHE / "kafka-libs.old", LOGS / "mvn.log"
    shutil.rmtree(partial, ignore_errors=True)
    say(f"kafka: downloading Kafka {kafka_version()} jars from Maven Central (~50 MB, once; log {log})")
    pom = str(DEPLOY / "pom.xml")
    mvn = ["mvn", "-q", "-B", "-f", pom, "dependency:copy-dependencies", "-DincludeScope=runtime"]
    with open(log, "wb") as out:
        result = subprocess.run(
            [*mvn, f"-DoutputDirectory={partial}"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    if result.returncode or not (partial / jar.name).exists():
        raise StackError(
            f"mvn could not fetch the Kafka jars (exit {result.returncode}): see {log}; "
            "check that Maven Central is reachable, then rerun"
        )
    shutil.rmtree(old, ignore_errors=True)
    if LIBS.exists():
        LIBS.rename(old)
    partial.rename(LIBS)
    shutil.rmtree(old, ignore_errors=True)


def _storage_tool(*args: str) -> str:
    """Run kafka.tools.StorageTool and return the last line it printed."""
    command = ["java", "-cp", f"{LIBS}/*", "kafka.tools.StorageTool", *args]
    result = subprocess.run(command, cwd=KAFKA_DIR, capture_output=True, text=True)
    if result.returncode:
        raise StackError(f"Kafka StorageTool {args[0]} failed: {last_line(result.stderr) or last_line(result.stdout)}")
    return last_line(result.stdout)


def prepare_kafka() -> Path:
    """Install the jars, write server.properties and format the storage once; returns the properties path."""
    ensure_kafka_libs()
    props = KAFKA_DIR / "server.properties"
    template = (DEPLOY / "kafka/server.properties.in").read_text()
    props.write_text(template.replace("@DATA_DIR@", str(KAFKA_DIR / "data")))
    cluster_id = KAFKA_DIR / "cluster-id"
    if not cluster_id.exists():
        cluster_id.write_text(_storage_tool("random-uuid") + "\n")
    if not (KAFKA_DIR / "data/meta.properties").exists():
        say("kafka: formatting storage (once)")
        _storage_tool("format", "-t", cluster_id.read_text().strip(), "-c", str(props), "--ignore-formatted")
    return props


def _still_alive_after(pid: int, seconds: float) -> bool:
    """Second look before declaring the broker dead (a process can look absent for a moment while it starts)."""
    time.sleep(seconds)
    return alive(pid, "kafka.Kafka")


def wait_kafka(pid: int, timeout: float = 90) -> None:
    """Wait until the broker accepts TCP and answers an admin metadata request (aiokafka)."""
    deadline = time.monotonic() + timeout
    while True:
        if not alive(pid, "kafka.Kafka") and not _still_alive_after(pid, 2.0):
            reason = last_line(LOGS / "kafka.out") or "no output"
            raise StackError(f"Kafka exited while starting: {reason} (see {LOGS}/server.log and kafka.out)")
        if port_open(KAFKA_PORT):
            check = [PY, "-c", ADMIN_CHECK, f"127.0.0.1:{KAFKA_PORT}"]
            if subprocess.run(check, capture_output=True, timeout=30).returncode == 0:
                return
        if time.monotonic() > deadline:
            raise StackError(f"Kafka (pid {pid}) did not answer within {timeout:.0f} s: see {LOGS}/server.log")
        time.sleep(0.5)


def start_kafka() -> int:
    """Start the broker (installing and formatting first if needed) or reuse it; wait until it answers."""
    props = prepare_kafka()
    if pid := pid_of("kafka"):
        wait_kafka(pid)
        say(f"kafka: running (pid {pid}), reused")
        return pid
    for port in (KAFKA_PORT, CONTROLLER_PORT):
        check_port_free(port, "Kafka")
    argv = ["java", "-Xms512m", "-Xmx512m", f"-Dlog4j.configuration=file:{DEPLOY / 'kafka/log4j.properties'}"]
    argv += [f"-Dkafka.logs.dir={LOGS}", "-cp", f"{LIBS}/*", "kafka.Kafka", str(props)]
    with open(LOGS / "kafka.out", "ab") as out:
        broker = subprocess.Popen(
            argv, cwd=KAFKA_DIR, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    write_pid("kafka", broker.pid, argv)
    say(f"kafka: starting (pid {broker.pid}), waiting for the broker")
    wait_kafka(broker.pid)
    say(f"kafka: started (127.0.0.1:{KAFKA_PORT})")
    return broker.pid


def stop_kafka(timeout: float = 30) -> None:
    """Stop the broker (SIGTERM, then SIGKILL after timeout); no-op if stopped."""
    if pid := pid_of("kafka"):
        stop_all(["kafka"], timeout)
        say(f"kafka: stopped (was pid {pid})")
