"""Short-lived signed dashboard links: a browser opens the page without holding an API key. Pure: no I/O here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import orjson

LINK_LIFETIME = timedelta(minutes=15)


class InvalidLink(Exception):
    """A dashboard token that is malformed, tampered with or expired."""


@dataclass(frozen=True)
class LinkGrant:
    """What a dashboard token lets its holder see: one organization (a practice when the key is limited)."""

    organization_id: uuid.UUID
    key_id: str
    practice_ids: frozenset[uuid.UUID]
    practice_id: uuid.UUID | None
    as_of: date | None
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(grant: LinkGrant, secret: bytes) -> str:
    """The token of a grant: base64url(JSON body) '.' base64url(HMAC-SHA256 of the body)."""
    body = orjson.dumps(
        {
            "org": str(grant.organization_id),
            "key": grant.key_id,
            "limit": sorted(str(p) for p in grant.practice_ids),
            "practice": str(grant.practice_id) if grant.practice_id else None,
            "as_of": grant.as_of.isoformat() if grant.as_of else None,
            "exp": int(grant.expires_at.timestamp()),
        }
    )
    return f"{_b64(body)}.{_b64(hmac.new(secret, body, hashlib.sha256).digest())}"


def verify_link(token: str, secret: bytes, *, now: datetime) -> LinkGrant:
    """The grant of a valid, unexpired token; InvalidLink otherwise."""
    body_text, _, signature = token.partition(".")
    try:
        body = _unb64(body_text)
        expected = hmac.new(secret, body, hashlib.sha256).digest()
        if not signature or not hmac.compare_digest(expected, _unb64(signature)):
            raise InvalidLink("the dashboard link's signature does not match")
        claims = orjson.loads(body)
        grant = LinkGrant(
            organization_id=uuid.UUID(claims["org"]),
            key_id=str(claims["key"]),
            practice_ids=frozenset(uuid.UUID(p) for p in claims["limit"]),
            practice_id=uuid.UUID(claims["practice"]) if claims["practice"] else None,
            as_of=date.fromisoformat(claims["as_of"]) if claims["as_of"] else None,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as error:
        raise InvalidLink("the dashboard link is malformed") from error
    if grant.expires_at <= now:
        raise InvalidLink("the dashboard link has expired; ask for a new one")
    return grant
