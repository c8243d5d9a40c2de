"""HTTP plumbing every intake router shares: caller dependencies, problem responses, idempotent POSTs, size limit."""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake.models import idempotency_keys
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.problems import PROBLEM_JSON, Problem

Admin = Annotated[Principal, Depends(require_scope("admin"))]
Writer = Annotated[Principal, Depends(require_scope("encounters:write"))]
Reader = Annotated[Principal, Depends(require_scope("read"))]

UseCase = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]
MAX_IDEMPOTENCY_KEY = 200


class FieldProblem(BaseModel):
    """One bad field: where (dotted path, or a FHIR path) and why."""

    field: str = Field(examples=["diagnoses.2"])
    reason: str = Field(examples=["'F99.999' exists in no ICD-10-CM code set"])


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; `errors` names each bad field."""

    type: str = Field(default="about:blank", examples=["urn:claimflow:problem:validation"])
    title: str = Field(examples=["Request is invalid"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["diagnoses.2: 'F99.999' exists in no ICD-10-CM code set"])
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "API key missing, malformed, unknown or revoked",
    403: "The API key lacks the scope",
    404: "No such record in the caller's organization",
    409: "Conflicts with the record's state",
    413: "Request body or batch too large",
    415: "Unsupported media type",
    422: "Invalid request (problem+json naming each field)",
}


def problem_response_doc(status: int) -> dict[str, Any]:
    """The OpenAPI response object of a problem+json answer."""
    return {
        "description": _DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Route `responses` entries for problem+json answers."""
    return {status: problem_response_doc(status) for status in statuses}


NOT_FOUND: dict[int | str, dict[str, Any]] = problems(404)
INVALID: dict[int | str, dict[str, Any]] = problems(422)


def _request_hash(body: bytes) -> str:
    """Hash of a request body; JSON bodies are canonicalized so key order and whitespace do not matter."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


async def respond_idempotently(request: Request, principal: Principal, use_case: UseCase) -> JSONResponse:
    """Run a POST once per Idempotency-Key: the same key and body replay the stored answer."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise Problem(
            422,
            "Request is invalid",
            f"header.Idempotency-Key: must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            errors=[{"field": "header.Idempotency-Key", "reason": f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"}],
            problem_type="urn:claimflow:problem:validation",
        )
    route = request.scope["route"].path
    body_hash = _request_hash(await request.body())
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        if key:
            stored = (
                await session.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.idempotency_key == key, idempotency_keys.c.route == route
                    )
                )
            ).first()
            if stored is not None:
                if stored.request_hash != body_hash:
                    raise Problem(
                        422,
                        "Idempotency key reused",
                        "this Idempotency-Key was used with a different request body; use a new key for a new request",
                        errors=[{"field": "header.Idempotency-Key", "reason": "reused with another body"}],
                    )
                return JSONResponse(
                    stored.response_body,
                    status_code=stored.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
        status, result = await use_case(session)
        body = jsonable_encoder(result)
        if key:
            recorded = await session.scalar(
                pg_insert(idempotency_keys)
                .values(
                    organization_id=principal.organization_id,
                    idempotency_key=key,
                    route=route,
                    request_hash=body_hash,
                    status_code=status,
                    response_body=body,
                )
                .on_conflict_do_nothing()
                .returning(idempotency_keys.c.idempotency_key)
            )
            if recorded is None:
                # A concurrent request with the same key won; this one's effects roll back.
                raise Problem(
                    409,
                    "Request in progress",
                    "another request with this Idempotency-Key was being processed; retry to get its answer",
                )
    return JSONResponse(body, status_code=status)


class RequestSizeLimit:
    """Refuses request bodies over the limit with 413, by Content-Length or by counting a streamed body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through unless its body is too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(send, scope.get("path", ""))
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._too_large(send, scope.get("path", ""))
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _too_large(self, send: Send, path: str) -> None:
        """Answer 413 problem+json."""
        body = orjson.dumps(
            {
                "type": "about:blank",
                "title": "Request too large",
                "status": 413,
                "detail": f"the request body is over the limit of {self.max_bytes} bytes",
                "instance": path,
                "errors": [{"field": "body", "reason": f"larger than {self.max_bytes} bytes"}],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
