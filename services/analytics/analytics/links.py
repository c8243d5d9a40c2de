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
    """A dashboard token that is malformed, tampered with, expired or meant to live longer than allowed."""


class LinkTooLong(ValueError):
    """A grant asked to live longer than the maximum lifetime of a dashboard link."""


@dataclass(frozen=True)
class LinkGrant:
    """What a dashboard token lets its holder see: one organization (a practice when the key is limited)."""

    organization_id: uuid.UUID
    key_id: str
    practice_ids: frozenset[uuid.UUID]
    practice_id: uuid.UUID | None
    as_of: date | None
    expires_at: datetime
    issued_at: datetime | None = None

    def lifetime(self, now: datetime) -> timedelta:
        """How long the link lives: from its issue to its expiry, and never less than what is left of it now
        (a token without an issue time, or with one close to a far expiry, is measured from now)."""
        left = self.expires_at - now
        return max(self.expires_at - self.issued_at, left) if self.issued_at is not None else left


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(grant: LinkGrant, secret: bytes, *, max_lifetime: timedelta) -> str:
    """The token of a grant issued at its `issued_at`: base64url(JSON body) '.' base64url(HMAC-SHA256 of the body);
    LinkTooLong when it would live longer than `max_lifetime`."""
    if grant.issued_at is None:
        raise ValueError("a dashboard link needs its issue time")
    if grant.lifetime(grant.issued_at) > max_lifetime:
        raise LinkTooLong(f"a dashboard link may live at most {_duration(max_lifetime)}")
    body = orjson.dumps(
        {
            "org": str(grant.organization_id),
            "key": grant.key_id,
            "limit": sorted(str(p) for p in grant.practice_ids),
            "practice": str(grant.practice_id) if grant.practice_id else None,
            "as_of": grant.as_of.isoformat() if grant.as_of else None,
            "iat": int(grant.issued_at.timestamp()),
            "exp": int(grant.expires_at.timestamp()),
        }
    )
    return f"{_b64(body)}.{_b64(hmac.new(secret, body, hashlib.sha256).digest())}"


def verify_link(token: str, secret: bytes, *, now: datetime, max_lifetime: timedelta) -> LinkGrant:
    """The grant of a valid, unexpired token that lives no longer than `max_lifetime`; InvalidLink otherwise."""
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
            issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC) if claims.get("iat") is not None else None,
        )
    except (ValueError, KeyError, TypeError, OverflowError, OSError, orjson.JSONDecodeError) as error:
        raise InvalidLink("the dashboard link is malformed") from error
    if grant.expires_at <= now:
        raise InvalidLink("the dashboard link has expired; ask for a new one")
    if grant.lifetime(now) > max_lifetime:
        raise InvalidLink(
            f"the dashboard link lives longer than the {_duration(max_lifetime)} allowed; ask for a new one"
        )
    return grant


def _duration(span: timedelta) -> str:
    """A lifetime in words: whole days, hours or minutes when it is one."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
