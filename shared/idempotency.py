"""Idempotent POSTs: the same Idempotency-Key and body answer the stored response; the effect happens once.

Each service keeps its keys in its own `idempotency_keys` table (organization, route, key → request hash, status,
response body), written in the same transaction as the request's effect. Two concurrent requests with the same new
key both run; the second to commit finds the key taken, its transaction is rolled back, and it answers what the
first stored. A request that collides with a concurrent one on a business unique constraint is run once more, so
it sees the committed state (a repeated EHR encounter id answers the existing encounter).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Column, DateTime, Insert, Integer, MetaData, Select, Table, Text, bindparam, select
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import unit_of_work
from shared.problems import Problem
from shared.retrying import run_retrying_lock_conflicts

UseCase = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]
MAX_KEY_LENGTH = 200
HEADER_FIELD = "header.Idempotency-Key"


def idempotency_table(metadata: MetaData) -> Table:
    """A service's `idempotency_keys` table (each service creates it in its own schema by migration)."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("organization_id", UUID(as_uuid=True), primary_key=True),
        Column("idempotency_key", Text, primary_key=True),
        Column("route", Text, primary_key=True),
        Column("request_hash", Text, nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response_body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True)),
    )


class _KeyTakenConcurrently(Exception):
    """Raised inside the transaction to roll it back when a concurrent request stored the same key first."""


def request_hash(path: str, body: bytes) -> str:
    """Hash of a request: its path and body, JSON canonicalized so key order and whitespace do not matter."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(path.encode() + b"\n" + canonical).hexdigest()


def _key_of(request: Request) -> str | None:
    """The request's Idempotency-Key, checked for length."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        reason = f"must be 1 to {MAX_KEY_LENGTH} characters"
        raise Problem(
            422,
            "Request is invalid",
            f"{HEADER_FIELD}: {reason}",
            errors=[{"field": HEADER_FIELD, "reason": reason}],
            problem_type="urn:claimflow:problem:validation",
        )
    return key


# A service's two statements are built once: a statement object used again keeps its compiled form and cache key,
# where building it per request cost more than executing it.
@functools.cache
def _lookup(table: Table) -> Select[Any]:
    """The stored answer of a key on a route (the organization is the transaction's scope)."""
    return select(table).where(table.c.idempotency_key == bindparam("key"), table.c.route == bindparam("route"))


@functools.cache
def _store(table: Table) -> Insert:
    """Store a key's answer unless a concurrent request stored it first."""
    return pg_insert(table).on_conflict_do_nothing()


async def _replay(session: AsyncSession, table: Table, route: str, key: str, body_hash: str) -> JSONResponse | None:
    """The stored answer of a key (None when unused); 422 when the key came with another request."""
    stored = (await session.execute(_lookup(table), {"key": key, "route": route})).first()
    if stored is None:
        return None
    if stored.request_hash != body_hash:
        raise Problem(
            422,
            "Idempotency key reused",
            "this Idempotency-Key was used with a different request; use a new key for a new request",
            errors=[{"field": HEADER_FIELD, "reason": "reused with another request"}],
            problem_type="urn:claimflow:problem:validation",
        )
    return JSONResponse(stored.response_body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


async def respond_idempotently(
    request: Request, organization_id: uuid.UUID, use_case: UseCase, table: Table
) -> JSONResponse:
    """Run a POST's use case once per Idempotency-Key (or simply once, without a key) and answer it."""
    key = _key_of(request)
    route = request.scope["route"].path
    body_hash = request_hash(request.url.path, await request.body())

    async def run_once() -> JSONResponse:
        async with unit_of_work(request.app.state.sessions, organization_id) as session:
            if key and (replayed := await _replay(session, table, route, key, body_hash)):
                return replayed
            status, result = await use_case(session)
            body = jsonable_encoder(result)
            if key:
                stored = await session.execute(
                    _store(table),
                    {
                        "organization_id": organization_id,
                        "idempotency_key": key,
                        "route": route,
                        "request_hash": body_hash,
                        "status_code": status,
                        "response_body": body,
                    },
                )
                if getattr(stored, "rowcount", 1) == 0:
                    raise _KeyTakenConcurrently
        return JSONResponse(body, status_code=status)

    for attempt in (1, 2):
        try:
            # A deadlock or a serialization failure rolled the transaction back: it is run again, not answered 503.
            return await run_retrying_lock_conflicts(run_once)
        except _KeyTakenConcurrently:
            break
        except IntegrityError:
            if attempt == 2:
                raise Problem(
                    409, "Conflict", "a concurrent request changed the same record; send the request again"
                ) from None
    async with unit_of_work(request.app.state.sessions, organization_id) as session:
        replayed = await _replay(session, table, route, key or "", body_hash)
    if replayed is None:  # the concurrent request stored its key and then it vanished: nothing sensible to replay
        raise Problem(409, "Conflict", "a concurrent request with the same Idempotency-Key did not finish; retry")
    return replayed
