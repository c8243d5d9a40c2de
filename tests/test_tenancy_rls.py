"""Row-level security: a query that forgets its organization filter still sees only its own tenant's rows."""

import contextlib
import uuid

import asyncpg
import pytest

from tests.db import connect_as

pytestmark = pytest.mark.stack

INSERT_CHARGE = """INSERT INTO coding.charges (charge_id, organization_id, practice_id, status, date_of_service,
    charge_posted_date, program, total_amount, lines, source_event_id)
    VALUES ($1, $2, $3, 'created', '2026-10-01', '2026-10-01', 'outpatient_therapy', 150, '[]', 'test')"""


async def test_a_query_without_organization_filter_returns_no_rows_of_another_organization(stack_env):
    own, other = str(uuid.uuid4()), str(uuid.uuid4())
    connection = await connect_as(stack_env, "coding")
    try:
        for organization in (own, other):
            async with connection.transaction():
                await connection.execute("SELECT set_config('claimflow.organization_id', $1, true)", organization)
                await connection.execute(INSERT_CHARGE, f"rls-{organization}", uuid.UUID(organization), uuid.uuid4())
        async with connection.transaction():
            await connection.execute("SELECT set_config('claimflow.organization_id', $1, true)", own)
            rows = await connection.fetch("SELECT organization_id FROM coding.charges")  # no WHERE on purpose
        async with connection.transaction():
            unscoped = await connection.fetch("SELECT organization_id FROM coding.charges")
    finally:
        await connection.close()
    assert {str(r["organization_id"]) for r in rows} == {own}
    assert unscoped == [], "without a tenant set, no tenant rows are visible"


async def test_the_runtime_role_cannot_write_a_row_for_another_organization(stack_env):
    connection = await connect_as(stack_env, "coding")
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            async with connection.transaction():
                await connection.execute("SELECT set_config('claimflow.organization_id', $1, true)", str(uuid.uuid4()))
                await connection.execute(INSERT_CHARGE, "rls-foreign", uuid.uuid4(), uuid.uuid4())
    finally:
        await connection.close()


async def test_a_service_role_cannot_read_another_service_schema(stack_env):
    connection = await connect_as(stack_env, "coding")
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await connection.fetch("SELECT * FROM intake.encounters")
    finally:
        await connection.close()


async def test_the_runtime_role_cannot_change_the_schema_it_works_in(stack_env):
    connection = await connect_as(stack_env, "coding")
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await connection.execute("CREATE TABLE coding.sneaky (id int)")
    finally:
        await connection.close()


SERVICES = ["intake", "coding", "submission", "remittance", "analytics"]
ADD_OUTBOX_ROW = (
    "INSERT INTO {schema}.outbox (event_id, topic, message_key, event_type, value) "
    "VALUES ($1, 'claimflow.privileges-check', 'k', 'check', '\\x00')"
)


class _RollBack(Exception):
    """Ends a transaction whose writes the test only needed to see allowed."""


@pytest.mark.parametrize("service", SERVICES)
async def test_the_runtime_role_adds_outbox_rows_but_cannot_read_change_or_delete_them(stack_env, service):
    connection = await connect_as(stack_env, service)
    try:
        for statement in (
            f"SELECT value FROM {service}.outbox LIMIT 1",
            f"UPDATE {service}.outbox SET sent_at = now() WHERE false",
            f"DELETE FROM {service}.outbox WHERE false",
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await connection.execute(statement)
        with contextlib.suppress(_RollBack):
            async with connection.transaction():
                await connection.execute(ADD_OUTBOX_ROW.format(schema=service), uuid.uuid4().hex)
                raise _RollBack
    finally:
        await connection.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_the_relay_role_reads_and_marks_the_outbox_and_nothing_else(stack_env, service):
    connection = await connect_as(stack_env, service, relay=True)
    try:
        await connection.fetch(f"SELECT id, sent_at FROM {service}.outbox ORDER BY id DESC LIMIT 1")
        await connection.execute(f"UPDATE {service}.outbox SET sent_at = sent_at WHERE false")
        for table in ("inbox", "dead_letters"):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await connection.fetch(f"SELECT * FROM {service}.{table} LIMIT 1")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await connection.execute(ADD_OUTBOX_ROW.format(schema=service), uuid.uuid4().hex)
    finally:
        await connection.close()
