"""Scoping a transaction to an organization (row-level security) on the real database: the setting is sent only
when it changes within a transaction, and every new transaction starts scoped to none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, create_sessionmaker, set_tenant
from shared.settings import ServiceSettings, load_settings
from tests.db import statements_sent

pytestmark = pytest.mark.stack

SCOPE = text("SELECT current_setting('claimflow.organization_id', true)")


@pytest.fixture
async def sessions(stack_env: dict[str, str]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    settings = load_settings(ServiceSettings).model_copy(update={"service_name": "intake"})
    engine = create_engine(settings, pool_size=1)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one connection: every transaction reuses it
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def test_the_scope_is_sent_only_when_it_changes_and_each_transaction_starts_with_none(sessions) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session:
        async with session.begin():
            with statements_sent(sessions) as sent:
                await set_tenant(session, None)  # a new transaction is scoped to none already
                await set_tenant(session, first)
                await set_tenant(session, first)
                await set_tenant(session, second)
            assert len(sent) == 2, sent
            assert await session.scalar(SCOPE) == str(second)
        async with session.begin():  # the same session and connection, a new transaction
            assert await session.scalar(SCOPE) in ("", None)
            with statements_sent(sessions) as sent:
                await set_tenant(session, None)
                await set_tenant(session, second)  # not carried over from the last transaction
            assert len(sent) == 1, sent
            assert await session.scalar(SCOPE) == str(second)
            await set_tenant(session, None)
            assert await session.scalar(SCOPE) in ("", None)
