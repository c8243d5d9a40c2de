"""Operator commands for organizations and API keys, run against intake's database with intake's own use cases.

    python -m intake.cli create-organization "Lakeside Billing"
    python -m intake.cli create-key --organization <id> --scope read [--practice <id>] [--user <id>] [--label ..]
    python -m intake.cli revoke-key <key_id> [--organization <id>]

Every change goes through the same outbox as the HTTP endpoints, so other services learn about it the same way.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import master
from intake.config import IntakeSettings
from intake.models import infra, organizations
from shared.auth import SCOPES
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.problems import Problem
from shared.settings import load_settings

T = TypeVar("T")
app = typer.Typer(help="Claimflow intake operator commands (organizations and API keys).", no_args_is_help=True)


def _run(organization_id: uuid.UUID | None, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one use case in one transaction of an organization; problems are printed, not raised."""

    async def run() -> T:
        engine = create_engine(load_settings(IntakeSettings), pool_size=1)
        try:
            async with unit_of_work(create_sessionmaker(engine), organization_id) as session:
                return await use_case(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except Problem as problem:
        sys.stderr.write(f"refused: {problem.detail}\n")
        raise typer.Exit(code=1) from None


def _print(result: Any) -> None:
    """Print a result as JSON."""
    typer.echo(json.dumps(result, indent=2, default=str))


@app.command("create-organization")
def create_organization(name: Annotated[str, typer.Argument(help="The organization's name")]) -> None:
    """Create an organization and its first admin key (the key is shown once)."""
    if not name.strip() or len(name) > 200:
        sys.stderr.write("refused: the name must have 1 to 200 characters\n")
        raise typer.Exit(code=2)
    organization_id = uuid.uuid4()
    admin_key = _run(organization_id, lambda session: master.create_organization(session, organization_id, name))
    _print({"organization_id": organization_id, "name": name, "admin_key": admin_key.model_dump(mode="json")})


@app.command("create-key")
def create_key(
    organization: Annotated[uuid.UUID, typer.Option(help="Organization id")],
    scope: Annotated[list[str], typer.Option(help="encounters:write, read or admin (repeatable)")],
    practice: Annotated[list[uuid.UUID] | None, typer.Option(help="Limit the key to a practice (repeatable)")] = None,
    user: Annotated[uuid.UUID | None, typer.Option(help="The user of the organization the key belongs to")] = None,
    label: Annotated[str | None, typer.Option(help="A label to recognise the key by")] = None,
) -> None:
    """Issue an API key for an organization (the secret is shown once)."""
    unknown = sorted(set(scope) - set(SCOPES))
    if unknown:
        sys.stderr.write(f"refused: unknown scope {', '.join(unknown)}; use encounters:write, read or admin\n")
        raise typer.Exit(code=2)

    async def use_case(session: AsyncSession) -> Any:
        if not await _organization_exists(session, organization):
            raise Problem(404, "Not Found", f"no organization {organization}")
        return await master.create_api_key(
            session,
            organization,
            scopes=sorted(set(scope)),
            practice_ids=list(practice or []),
            label=label,
            user_id=user,
        )

    _print(_run(organization, use_case).model_dump(mode="json"))


@app.command("revoke-key")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key id (the part between 'cf_' and '.')")],
    organization: Annotated[
        uuid.UUID | None, typer.Option(help="Organization id (found from the key when omitted)")
    ] = None,
) -> None:
    """Revoke an API key; every service refuses it once the revocation has replicated."""
    owner = organization or _run(None, lambda session: _owner_of(session, key_id))
    if owner is None or not _run(owner, lambda session: master.revoke_api_key(session, owner, key_id)):
        sys.stderr.write(f"refused: no API key {key_id}\n")
        raise typer.Exit(code=1)
    _print({"key_id": key_id, "revoked": True, "organization_id": owner})


async def _organization_exists(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    """Whether an organization exists (row-level security shows only the session's own)."""
    found = await session.scalar(
        select(organizations.c.organization_id).where(organizations.c.organization_id == organization_id)
    )
    return found is not None


async def _owner_of(session: AsyncSession, key_id: str) -> uuid.UUID | None:
    """The organization of a key, from intake's key replica (keyed by key id across organizations)."""
    owner: uuid.UUID | None = await session.scalar(
        select(infra.api_keys.c.organization_id).where(infra.api_keys.c.key_id == key_id)
    )
    return owner


def main() -> None:
    """Entry point."""
    app()


if __name__ == "__main__":
    main()
