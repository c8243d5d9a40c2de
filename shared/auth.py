"""API keys: generation, hashing, and verification against the service's replica of the reference topic."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select

from shared.problems import Problem

SCOPES = ("encounters:write", "claims:write", "read", "admin")  # claims:write: billing staff work claims and denials


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organization always comes from here, never from the path or body."""

    organization_id: uuid.UUID
    key_id: str
    scopes: frozenset[str]
    practice_ids: frozenset[uuid.UUID]
    user_id: uuid.UUID | None = None

    def may_access_practice(self, practice_id: uuid.UUID) -> bool:
        """Whether the key is limited to practices that exclude this one."""
        return not self.practice_ids or practice_id in self.practice_ids


def generate_api_key() -> tuple[str, str, str]:
    """A new key: (key id, full secret shown once to the caller, hash to store)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"cf_{key_id}.{secret}", hash_secret(secret)


def hash_secret(secret: str) -> str:
    """Hash of a key's secret part (high-entropy random, so a fast hash is appropriate)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key, or None when it has the wrong shape."""
    if not presented.startswith("cf_") or "." not in presented:
        return None
    key_id, _, secret = presented[3:].partition(".")
    return (key_id, secret) if key_id and secret else None


class ApiKeyVerifier:
    """Verifies presented keys against the api_keys replica table, with a short cache."""

    MAX_CACHED = 10_000

    def __init__(self, ttl_seconds: float = 5.0, miss_ttl_seconds: float = 0.25) -> None:
        self.ttl_seconds = ttl_seconds
        self.miss_ttl_seconds = miss_ttl_seconds
        self._cache: dict[str, tuple[float, Principal | None, str]] = {}

    async def verify(self, request: Request, presented: str) -> Principal:
        """The principal of a valid, unrevoked key; 401 otherwise."""
        parts = split_key(presented)
        if parts is None:
            raise Problem(401, "Unauthorized", "API key is malformed", headers={"WWW-Authenticate": "Bearer"})
        key_id, secret = parts
        now = time.monotonic()
        cached = self._cache.get(key_id)
        # A key not (yet) in the replica is looked up again soon: a new key works as soon as it has replicated.
        if cached is None or now - cached[0] > (self.ttl_seconds if cached[1] else self.miss_ttl_seconds):
            cached = (now, *await self._load(request, key_id))
            if len(self._cache) >= self.MAX_CACHED:  # random key ids must not grow the cache without bound
                self._cache.clear()
            self._cache[key_id] = cached
        _, principal, key_hash = cached
        if principal is None or not hmac.compare_digest(key_hash, hash_secret(secret)):
            raise Problem(401, "Unauthorized", "API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
        return principal

    async def _load(self, request: Request, key_id: str) -> tuple[Principal | None, str]:
        """Read one key from the replica."""
        table = request.app.state.infra.api_keys
        async with request.app.state.sessions() as session:
            row = (await session.execute(select(table).where(table.c.key_id == key_id))).first()
        if row is None or row.revoked:
            return None, ""
        principal = Principal(
            organization_id=row.organization_id,
            key_id=row.key_id,
            scopes=frozenset(row.scopes),
            practice_ids=frozenset(uuid.UUID(str(p)) for p in row.practice_ids),
            user_id=row.user_id,
        )
        return principal, row.key_hash


def require_scope(scope: str, *alternatives: str) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the caller's principal, which must hold the scope or one of the alternatives (admin holds
    every scope). An EHR's `encounters:write` key reads back what it wrote: its reads name that scope beside `read`."""
    accepted = frozenset((scope, *alternatives, "admin"))
    named = " or ".join(f"'{s}'" for s in (scope, *alternatives))

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        presented = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key")
        if not presented:
            raise Problem(
                401,
                "Unauthorized",
                "send the API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal: Principal = await request.app.state.verifier.verify(request, presented)
        if not accepted & principal.scopes:
            raise Problem(403, "Forbidden", f"this API key lacks the {named} scope")
        return principal

    dependency.scopes = accepted  # type: ignore[attr-defined]  # the OpenAPI document reads what a route checks
    return dependency


def require_operator(request: Request) -> None:
    """FastAPI dependency for platform-operator endpoints (creating organizations)."""
    expected = request.app.state.settings.operator_token.get_secret_value()
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not expected or not hmac.compare_digest(presented, expected):
        raise Problem(401, "Unauthorized", "operator token required", headers={"WWW-Authenticate": "Bearer"})
