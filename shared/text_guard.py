"""Refuses control characters in request text (JSON bodies, path, query) for every service, naming the field.

A NUL reaches PostgreSQL as an error (text cannot hold it), and the other C0 and C1 control characters and lone
surrogates are not text a billing record should carry: an EHR that sends them has a defect to be told about, with the
field, instead of a 500 or a claim that a clearinghouse refuses later. One mechanism at the edge covers every field of
every request model. Free-text notes (fields named in FREE_TEXT_FIELDS, and the items of a list under such a field)
may keep tab, line feed and carriage return.

X12 bodies are not JSON: they are checked against the X12 character sets by shared/x12.py.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem_response

FREE_TEXT_FIELDS = frozenset(
    {"note", "notes", "text", "comment", "comments", "description", "memo", "narrative", "reason"}
)
MAX_REPORTED = 20

# Raw control characters are invalid JSON and refused by the parser; inside a valid JSON text a C0 character can
# only be an escape, C1 and DEL an escape or raw UTF-8, a lone surrogate an escape. A body without any of these
# passes after one scan of its bytes; only a suspect one is decoded to find the field.
_SUSPECT = re.compile(rb"\\u00[0189]|\\u007[fF]|\\u[dD][89a-fA-F]|\\[bfnrt]|\x7f|\xc2[\x80-\x9f]")
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def refusal(text: str, *, free_text: bool = False) -> str | None:
    """Why a text is refused (the first character that is not text, and where), or None when it is text."""
    found = (_NOT_FREE_TEXT if free_text else _NOT_TEXT).search(text)
    if found is None:
        return None
    code = ord(found.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    allowed = " (a note may hold tab, line feed and carriage return)" if free_text else ""
    return f"{kind} U+{code:04X} at character {found.start()} is not allowed in text{allowed}"


def json_text_errors(document: Any) -> list[dict[str, Any]]:
    """Every string (keys included) of a decoded JSON document that holds a character that is not text."""
    errors: list[dict[str, Any]] = []

    def walk(value: Any, path: list[str], free_text: bool) -> None:
        if len(errors) >= MAX_REPORTED:
            return
        if isinstance(value, str):
            reason = refusal(value, free_text=free_text)
            if reason is not None:
                errors.append(_field_error(path, reason))
        elif isinstance(value, dict):
            for key, item in value.items():
                key_reason = refusal(key)
                if key_reason is not None:
                    errors.append(_field_error([*path, key], "field name: " + key_reason))
                    continue
                walk(item, [*path, key], key in FREE_TEXT_FIELDS)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, [*path, str(index)], free_text)

    walk(document, [], False)
    return errors


def _field_error(path: list[str], reason: str, location: str | None = None) -> dict[str, Any]:
    """A field error in the shape every validation error has (shared/problems.py field_errors)."""
    parts = [location, *path] if location else path
    return {
        "field": ".".join(parts) or "body",
        "pointer": "/" + "/".join(parts),
        "reason": reason,
        "type": "text_invalid",
    }


def _request_line_errors(scope: Scope) -> list[dict[str, Any]]:
    """Characters that are not text in the request's path or query parameters."""
    errors = []
    reason = refusal(scope.get("path", ""))
    if reason is not None:
        errors.append(_field_error([], reason, "path"))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        reason = refusal(name) or refusal(value)
        if reason is not None:
            errors.append(_field_error([name], reason, "query"))
    return errors


class TextGuard:
    """ASGI middleware: a request whose JSON text, path or query holds a control character is answered 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request line, then a JSON body, before the application sees either."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = _request_line_errors(scope)
        if errors:
            await self._refuse(scope, receive, send, errors)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        if _SUSPECT.search(body):
            try:
                document = json.loads(body)
            except ValueError:
                document = None  # not JSON: the application's parser answers that
            errors = json_text_errors(document)
            if errors:
                await self._refuse(scope, receive, send, errors)
                return
        await self.app(scope, _replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, errors: list[dict[str, Any]]) -> None:
        """Answer 422 problem+json naming each field."""
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        response = problem_response(
            422,
            "Request is invalid",
            summary,
            instance=scope.get("path"),
            errors=errors,
            problem_type="urn:claimflow:problem:validation",
        )
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """The request's body messages as received, and the body they carry."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    return messages, body


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive channel that gives the messages already read, then the connection's own."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
