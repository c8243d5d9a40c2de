"""Settings common to every service, read from the environment and the stack's env file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound="ServiceSettings")

SERVICES = ("intake", "coding", "submission", "remittance", "analytics")


def stack_env_file() -> Path:
    """Where the local stack writes its generated configuration (ports, credentials)."""
    explicit = os.environ.get("CLAIMFLOW_ENV_FILE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("CLAIMFLOW_HOME", "/var/lib/claimflow")) / "stack.env"


class ServiceSettings(BaseSettings):
    """Configuration shared by all services; each service subclasses it with its own name."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", extra="ignore", env_file_encoding="utf-8")

    service_name: str = "claimflow"
    kafka_bootstrap: str = "127.0.0.1:39092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    pg_database: str = "claimflow"
    pg_sslmode: str = "disable"
    db_pool_size: int = 5
    consumer_max_poll_records: int = 200
    consumer_transaction_size: int = 100
    outbox_batch_size: int = 500
    outbox_poll_seconds: float = 0.05
    # Published outbox rows are deleted this long after they were sent: the topics keep the history, and the rows
    # hold the events' PHI outside row-level security.
    outbox_retention_hours: float = 24
    # Workers (consumers, outbox relay, analytics' gauge refresher) yield the CPU to the request-serving APIs:
    # their latency budget is seconds, an EHR waiting on intake's answer has milliseconds. 0 keeps the default.
    worker_nice: int = 10
    clock_settable: bool = True
    operator_token: SecretStr = SecretStr("")
    clearinghouse_secret: SecretStr = SecretStr("")
    log_level: str = "INFO"
    max_request_bytes: int = 5_000_000

    def role_credentials(self, *, owner: bool = False, relay: bool = False) -> tuple[str, str]:
        """User and password of this service's runtime role (or its migration role when owner, the role of its
        outbox relay when relay: the only one that reads and marks outbox rows, which the runtime role only adds)."""
        kind, default = ("OWNER", "owner") if owner else ("RELAY", "relay") if relay else ("DB", "app")
        prefix = f"CLAIMFLOW_{self.service_name.upper()}_{kind}_"
        env = _merged_env()
        user = env.get(prefix + "USER", f"{self.service_name}_{default}")
        return user, env.get(prefix + "PASSWORD", "")

    def database_url(self, *, owner: bool = False, relay: bool = False) -> str:
        """SQLAlchemy URL for the service's runtime role, its migration role, or its relay's role."""
        user, password = self.role_credentials(owner=owner, relay=relay)
        from sqlalchemy.engine import URL

        query = {} if self.pg_sslmode == "disable" else {"ssl": self.pg_sslmode}
        return URL.create(
            "postgresql+asyncpg",
            username=user,
            password=password,
            host=self.pg_host,
            port=self.pg_port,
            database=self.pg_database,
            query=query,
        ).render_as_string(hide_password=False)

    def port_of(self, name: str) -> int:
        """HTTP port of a Claimflow process by name (intake, sandbox, ...)."""
        defaults = {
            "intake": 8101,
            "coding": 8102,
            "submission": 8103,
            "remittance": 8104,
            "analytics": 8105,
            "sandbox": 8109,
        }
        return int(_merged_env().get(f"CLAIMFLOW_{name.upper()}_PORT", defaults[name]))


def _merged_env() -> dict[str, str]:
    """The stack env file overlaid by the process environment (the environment wins)."""
    merged: dict[str, str] = {}
    path = stack_env_file()
    if path.is_file():
        try:
            for line in path.read_text().splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    key, _, value = line.partition("=")
                    merged[key.strip()] = value.strip()
        except PermissionError:
            pass
    merged.update(os.environ)
    return merged


def load_settings(cls: type[S]) -> S:
    """Build settings from the stack env file and the environment (environment wins)."""
    path = stack_env_file()
    return cls(_env_file=path if path.is_file() else None)
