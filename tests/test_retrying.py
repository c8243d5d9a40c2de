"""A transaction PostgreSQL ends for a deadlock or a serialization failure is run again, a bounded number of times;
any other failure is raised at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from shared.retrying import TRANSACTION_RUNS, is_lock_conflict, run_retrying_lock_conflicts


def _wrapped(driver_error: BaseException) -> sa_exc.DBAPIError:
    """The driver's error as SQLAlchemy raises it: a DBAPIError whose cause is the asyncpg exception."""
    try:
        raise driver_error
    except BaseException as cause:
        wrapped = sa_exc.DBAPIError("UPDATE submission.claims ...", {}, Exception("adapted"))
        wrapped.__cause__ = cause
        return wrapped


def deadlock() -> sa_exc.DBAPIError:
    return _wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))


def serialization_failure() -> sa_exc.DBAPIError:
    return _wrapped(asyncpg.exceptions.SerializationError("could not serialize access"))


class Flaky:
    """A transaction that fails with the given errors, then answers."""

    def __init__(self, *errors: Callable[[], BaseException]) -> None:
        self.errors = list(errors)
        self.runs = 0

    async def __call__(self) -> str:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)()
        return "committed"


async def _no_pause(_seconds: float) -> None:
    return None


@pytest.mark.parametrize("conflict", [deadlock, serialization_failure], ids=["deadlock", "serialization failure"])
async def test_a_transaction_ended_by_a_lock_conflict_is_run_again_until_it_commits(conflict: Any) -> None:
    transaction = Flaky(conflict, conflict)
    assert await run_retrying_lock_conflicts(transaction, pause=_no_pause) == "committed"
    assert transaction.runs == 3


async def test_lock_conflicts_are_retried_a_bounded_number_of_times_then_raised() -> None:
    transaction = Flaky(*[deadlock] * (TRANSACTION_RUNS + 2))
    with pytest.raises(sa_exc.DBAPIError):
        await run_retrying_lock_conflicts(transaction, pause=_no_pause)
    assert transaction.runs == TRANSACTION_RUNS


@pytest.mark.parametrize(
    "error",
    [
        lambda: _wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        lambda: _wrapped(ConnectionRefusedError("database down")),
        lambda: ValueError("a bug"),
    ],
    ids=["constraint violation", "database unreachable", "a bug"],
)
async def test_any_other_failure_is_raised_at_once(error: Callable[[], BaseException]) -> None:
    transaction = Flaky(error)
    with pytest.raises(type(error())):
        await run_retrying_lock_conflicts(transaction, pause=_no_pause)
    assert transaction.runs == 1


def test_a_conflict_is_recognised_by_its_sqlstate_too() -> None:
    class AdaptedError(Exception):
        sqlstate = "40P01"

    assert is_lock_conflict(sa_exc.DBAPIError("x", {}, AdaptedError()))
    assert not is_lock_conflict(sa_exc.DBAPIError("x", {}, ValueError()))


@pytest.mark.stack
async def test_every_services_post_runs_a_transaction_ended_by_a_deadlock_again(stack_env: dict[str, str]) -> None:
    from types import SimpleNamespace
    from uuid import uuid4

    from sqlalchemy import MetaData
    from starlette.requests import Request

    from shared.db import create_engine, create_sessionmaker
    from shared.idempotency import idempotency_table, respond_idempotently
    from shared.settings import ServiceSettings, load_settings

    settings = load_settings(ServiceSettings).model_copy(update={"service_name": "coding"})
    engine = create_engine(settings, pool_size=1)
    runs: list[int] = []

    async def use_case(session: Any) -> tuple[int, Any]:
        runs.append(1)
        if len(runs) == 1:
            raise sa_exc.DBAPIError("UPDATE claims ...", {}, asyncpg.exceptions.DeadlockDetectedError("deadlock"))
        return 201, {"ran": len(runs)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    app = SimpleNamespace(state=SimpleNamespace(sessions=create_sessionmaker(engine)))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/holds/x/resolve",
        "headers": [],
        "query_string": b"",
        "app": app,
        "route": SimpleNamespace(path="/v1/holds/{charge_id}/resolve"),
    }
    try:
        table = idempotency_table(MetaData(schema="coding"))
        answer = await respond_idempotently(Request(scope, receive), uuid4(), use_case, table)
    finally:
        await engine.dispose()
    assert answer.status_code == 201
    assert answer.body == b'{"ran":2}'
    assert len(runs) == 2
