"""Master-data use cases: organizations and API keys (practices, providers, payers, patients... follow)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.common import business_today, publish_reference
from intake.models import issued_api_keys, organizations
from intake.schemas import ApiKeyCreated
from shared.auth import generate_api_key
from shared.events import reference


async def create_organization(session: AsyncSession, organization_id: uuid.UUID, name: str) -> ApiKeyCreated:
    """Create an organization and its first admin key."""
    await session.execute(organizations.insert().values(organization_id=organization_id, name=name))
    today = await business_today(session, organization_id)
    await publish_reference(session, organization_id, str(organization_id), reference.OrganizationRef(name=name), today)
    return await create_api_key(session, organization_id, scopes=["admin"], practice_ids=[], label="first admin key")


async def create_api_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    scopes: list[str],
    practice_ids: list[uuid.UUID],
    label: str | None,
) -> ApiKeyCreated:
    """Issue a key (hash stored and replicated; the secret is returned once)."""
    key_id, secret, key_hash = generate_api_key()
    await session.execute(
        issued_api_keys.insert().values(
            key_id=key_id,
            organization_id=organization_id,
            key_hash=key_hash,
            scopes=scopes,
            practice_ids=[str(p) for p in practice_ids],
            label=label,
            revoked=False,
        )
    )
    await publish_reference(
        session,
        organization_id,
        f"api_key:{key_id}",
        reference.ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=scopes, practice_ids=practice_ids),
        await business_today(session, organization_id),
    )
    return ApiKeyCreated(key_id=key_id, api_key=secret, scopes=scopes, organization_id=organization_id)


async def revoke_api_key(session: AsyncSession, organization_id: uuid.UUID, key_id: str) -> bool:
    """Revoke a key of the organization; False when it does not exist there."""
    row = (await session.execute(select(issued_api_keys).where(issued_api_keys.c.key_id == key_id))).first()
    if row is None:
        return False
    await session.execute(issued_api_keys.update().where(issued_api_keys.c.key_id == key_id).values(revoked=True))
    await publish_reference(
        session,
        organization_id,
        f"api_key:{key_id}",
        reference.ApiKeyRef(
            key_id=key_id,
            key_hash=row.key_hash,
            scopes=list(row.scopes),
            practice_ids=[uuid.UUID(p) for p in row.practice_ids],
            revoked=True,
        ),
        await business_today(session, organization_id),
    )
    return True
