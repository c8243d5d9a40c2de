"""Runs a service's Alembic migrations as its migration role: `python -m shared.migrate <service>`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.settings import SERVICES, ServiceSettings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(service: str) -> Config:
    """Alembic configuration pointing at the service's migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    config.attributes["service"] = service
    return config


def run_env(service: str) -> None:
    """Body of every service's migrations/env.py: migrate the service schema online."""
    from alembic import context
    from sqlalchemy.engine import Connection

    from shared.db import create_engine

    settings = load_settings(ServiceSettings)
    settings.service_name = service

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            version_table_schema=service,
            include_schemas=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(settings, owner=True, pool_size=1)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())


def upgrade(service: str, revision: str = "head") -> None:
    """Migrate one service's schema to a revision, then set who may do what with its outbox."""
    command.upgrade(alembic_config(service), revision)
    asyncio.run(secure_outbox(service))


def outbox_privileges(schema: str, runtime_role: str, relay_role: str) -> list[str]:
    """The runtime role only adds outbox rows (every organization's events, with their PHI, outside row-level
    security); the relay's role reads, marks and purges them."""
    return [
        f"REVOKE ALL ON {schema}.outbox FROM {runtime_role}",
        f"GRANT INSERT ON {schema}.outbox TO {runtime_role}",
        f"GRANT SELECT, UPDATE, DELETE ON {schema}.outbox TO {relay_role}",
    ]


async def secure_outbox(service: str) -> None:
    """Apply outbox_privileges as the service's migration role (the outbox's owner)."""
    from sqlalchemy import text

    from shared.db import create_engine

    settings = load_settings(ServiceSettings)
    settings.service_name = service
    runtime_role, _ = settings.role_credentials()
    relay_role, _ = settings.role_credentials(relay=True)
    engine = create_engine(settings, owner=True, pool_size=1)
    try:
        async with engine.begin() as connection:
            for statement in outbox_privileges(service, runtime_role, relay_role):
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    """CLI entry point."""
    if len(argv) != 1 or argv[0] not in SERVICES:
        sys.stderr.write(f"usage: python -m shared.migrate <{'|'.join(SERVICES)}>\n")
        return 2
    try:
        upgrade(argv[0])
    except OSError as error:
        sys.stderr.write(f"migration of {argv[0]} failed: database unreachable ({error}); start it with `make up`\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
