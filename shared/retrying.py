"""Transactions PostgreSQL ended for a deadlock or a serialization failure are run again, a bounded number of times.

Every path locks in one order (in submission: the organization's business clock, then a claim, then its attempts),
so a deadlock is not expected; when one happens all the same (a path added later, a lock PostgreSQL takes on its
own), the transaction it killed has changed nothing and is simply run again instead of failing the request. Every
POST of every service runs through it (shared/idempotency.py), and workers' own transactions can.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog

log = structlog.get_logger()
T = TypeVar("T")
TRANSACTION_RUNS = 4
# SQLSTATE 40P01 deadlock_detected and 40001 serialization_failure: the transaction was rolled back, retry it.
LOCK_CONFLICT_STATES = frozenset({"40P01", "40001"})
_CONFLICT_TYPES = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


def is_lock_conflict(error: BaseException) -> bool:
    """Whether an error (or what it wraps: SQLAlchemy wraps the driver's) is a deadlock or a serialization failure."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _CONFLICT_TYPES) or getattr(current, "sqlstate", None) in LOCK_CONFLICT_STATES:
            return True
        orig = getattr(current, "orig", None)
        pending += [e for e in (orig, current.__cause__, current.__context__) if isinstance(e, BaseException)]
    return False


async def run_retrying_lock_conflicts(
    transaction: Callable[[], Awaitable[T]],
    *,
    runs: int = TRANSACTION_RUNS,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run a whole transaction (a callable that opens, runs and commits it), again after a deadlock or a
    serialization failure, at most `runs` times in all; any other error, or the last conflict, is raised."""
    for run in range(1, runs + 1):
        try:
            return await transaction()
        except Exception as error:
            if run == runs or not is_lock_conflict(error):
                raise
            log.info("transaction ended by a lock conflict, running it again", run=run)
            # A short random pause lets the transaction that won the conflict commit first.
            await pause(random.uniform(0.005, 0.05) * run)
    raise AssertionError("unreachable")  # pragma: no cover
