"""Failure classification shared by consumers, relays and APIs: transient or permanent, described without PHI."""

from __future__ import annotations

import asyncio
import contextlib
import traceback

import asyncpg
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc


class PermanentError(Exception):
    """A message that can never be processed as it is (violates an invariant); it is dead-lettered."""


class NotYetReplicated(Exception):
    """Reference data a message depends on has not reached this service yet: it travels on another topic, so it can
    arrive a moment after the message that needs it. Transient: the message is retried until it arrives."""


_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    NotYetReplicated,
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    sa_exc.TimeoutError,
    KafkaError,
)


def is_transient(error: BaseException) -> bool:
    """True for failures of the database or broker that go away by themselves (retried, never dead-lettered)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSIENT_TYPES):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.InterfaceError | sa_exc.OperationalError):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return False


def describe_error(error: BaseException) -> str:
    """An error description safe for headers and logs: field paths and rule text, never input values."""
    if isinstance(error, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_input=False)]
        return f"schema-invalid: {'; '.join(parts)[:900]}"
    if isinstance(error, PermanentError):
        return f"invariant: {str(error)[:900]}"
    if isinstance(error, ValueError) and type(error).__module__.startswith("pydantic"):
        return "unparseable: not a JSON event"
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " <- ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in reversed(frames))
    return f"{type(error).__name__} at {where}"


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when the loop is asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
