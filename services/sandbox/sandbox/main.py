"""Sandbox clearinghouse HTTP application: batches in (999/277CA out), payer behaviour and clock, 835 delivery.

Not a Claimflow service: no database, no Kafka, state in memory; it only shares shared.x12/clock/settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.clearinghouse import Clearinghouse, total_paid
from sandbox.config import SandboxSettings
from sandbox.delivery import delivery_loop
from sandbox.domain import Behaviour, PayerRules
from shared.app import UnexpectedErrors
from shared.dates import CalendarDate
from shared.problems import install_problem_handlers
from shared.settings import load_settings
from shared.text_guard import TextGuard
from shared.x12 import X12Error, decode_interchange

log = structlog.get_logger()
SUBMITTER_HEADER = "X-Claimflow-Submitter"


class ClockRequest(BaseModel):
    """Set a submitter's sandbox business date (it never goes back before the latest BHT04 seen); null unpins it."""

    model_config = ConfigDict(extra="forbid")
    submitter: str
    date: CalendarDate | None  # null: follow the dates of the submitter's own batches (BHT04) again


class PayerRulesRequest(BaseModel):
    """One payer's terms (keyed by X12 payer id in `payers`); replaces what was set for that payer before."""

    model_config = ConfigDict(extra="forbid")
    allowed_pct: Decimal | None = Field(default=None, ge=0, le=1, description="Share of charge when no fee is set")
    fee_schedules: dict[str, dict[str, Decimal]] = Field(
        default_factory=dict,
        description='Allowed amount per unit by procedure code, per billing NPI ("*" for every practice)',
        examples=[{"*": {"90834": "95.00", "90837": "130.00"}}],
    )
    copay: Decimal | None = Field(default=None, ge=0, description="Per claim; the submitter's default when unset")
    coinsurance_pct: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    deductible: Decimal = Field(default=Decimal("0"), ge=0, description="Per member and calendar year")
    authorization_required_codes: list[str] = Field(
        default_factory=list, description='Codes that need REF*G1, "*" for every code (else CO-197)'
    )
    timely_filing_days: int | None = Field(default=None, ge=1, le=3650, description="Else CO-29")

    def rules(self) -> PayerRules:
        """The domain terms."""
        return PayerRules(
            allowed_pct=self.allowed_pct,
            fee_schedules={npi: dict(fees) for npi, fees in self.fee_schedules.items()},
            copay=self.copay,
            coinsurance_pct=self.coinsurance_pct,
            deductible=self.deductible,
            authorization_required_codes=tuple(self.authorization_required_codes),
            timely_filing_days=self.timely_filing_days,
        )


class BehaviourRequest(BaseModel):
    """Change how the sandbox payer treats one submitter; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")
    submitter: str
    payment_lag_business_days: int | None = Field(default=None, ge=0, le=365)
    denial_rate: float | None = Field(default=None, ge=0, le=1)
    allowed_pct: Decimal | None = Field(default=None, ge=0, le=1)
    copay: Decimal | None = Field(default=None, ge=0)
    outage: bool | None = None
    latency_ms: int | None = Field(default=None, ge=0, le=120_000, description="Delay after receiving a batch")
    reject_member_pattern: str | None = Field(
        default=None, max_length=200, description='Regular expression of member ids to reject (277CA A7); "" clears'
    )
    payers: dict[str, PayerRulesRequest] | None = Field(default=None, description="Terms per X12 payer id")
    seed: str | None = None

    @field_validator("reject_member_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        """A pattern that is not a regular expression is refused, not silently ignored."""
        if value:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from error
        return value


def _problem(status: int, detail: str) -> JSONResponse:
    titles = {400: "Bad Request", 401: "Unauthorized", 422: "Unprocessable Content", 503: "Service Unavailable"}
    return JSONResponse(
        {"type": "about:blank", "title": titles.get(status, "Error"), "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers={"Retry-After": "2"} if status == 503 else None,
    )


def submitter_token(secret: str, submitter: str) -> str:
    """The bearer token a submitter presents: hex HMAC-SHA256 of its organization id under the shared secret."""
    return hmac.new(secret.encode(), submitter.encode(), hashlib.sha256).hexdigest()


def _authorized(request: Request, submitter: str) -> bool:
    """Whether the request's bearer token is the submitter's HMAC under the clearinghouse secret."""
    secret = request.app.state.settings.clearinghouse_secret.get_secret_value()
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not secret or not submitter or not presented:
        return False
    return hmac.compare_digest(presented, submitter_token(secret, submitter))


def create_app(*, remittance_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The sandbox clearinghouse; `remittance_transport` lets tests deliver 835s in-process."""
    settings = load_settings(SandboxSettings)
    defaults = Behaviour(
        allowed_pct=settings.sandbox_allowed_pct,
        copay=settings.sandbox_copay,
        denial_rate=settings.sandbox_denial_rate,
        payment_lag_business_days=settings.sandbox_payment_lag_business_days,
        seed=settings.sandbox_seed,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with httpx.AsyncClient(
            timeout=settings.sandbox_delivery_timeout_seconds, transport=remittance_transport
        ) as client:
            task = asyncio.create_task(delivery_loop(app.state.clearinghouse, client, settings, stop))
            yield
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Claimflow sandbox clearinghouse",
        description="A clearinghouse test mode: 837P in, 999/277CA back, 835s delivered to remittance.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clearinghouse = Clearinghouse(defaults)
    install_problem_handlers(app)
    app.add_middleware(TextGuard)
    app.add_middleware(UnexpectedErrors)

    @app.post(
        "/v1/batches",
        summary="Submit an 837P batch; answers its 999 and 277CA",
        openapi_extra={"requestBody": {"content": {"application/edi-x12": {"schema": {"type": "string"}}}}},
        responses={
            400: {"description": "Not an X12 interchange"},
            401: {},
            422: {"description": "A byte outside the X12 character sets, or not ASCII (UTF-16, a byte-order mark)"},
            503: {"description": "Outage"},
        },
    )
    async def submit_batch(request: Request) -> Any:
        submitter = request.headers.get(SUBMITTER_HEADER, "").strip()
        if not _authorized(request, submitter):
            return _problem(401, f"send {SUBMITTER_HEADER} and 'Authorization: Bearer <hex hmac of the submitter>'")
        house: Clearinghouse = request.app.state.clearinghouse
        if house.submitter(submitter).behaviour.outage:
            return _problem(503, "the sandbox clearinghouse is in a simulated outage")
        try:
            body = decode_interchange(await request.body())
        except X12Error as error:  # bytes outside X12 or another encoding: the shared check names the offset
            return _problem(422, f"not an X12 interchange in the X12 character sets: {error.reason}")
        try:
            answer = house.receive_batch(submitter, body)
        except (X12Error, IndexError) as error:
            return _problem(400, f"not a readable X12 interchange: {error}")
        latency = house.submitter(submitter).behaviour.latency_ms
        if latency:
            # After the batch is taken in: a submitter that gives up waiting does not know it arrived.
            await asyncio.sleep(latency / 1000)
        return answer

    @app.put("/v1/clock", summary="Set a submitter's sandbox business date")
    async def set_clock(request: Request, body: ClockRequest) -> dict[str, Any]:
        if not _authorized(request, body.submitter):
            return _problem(401, "the bearer token does not match the submitter")  # type: ignore[return-value]
        state = request.app.state.clearinghouse.submitter(body.submitter)
        state.clock_set = body.date
        return {"submitter": body.submitter, "date": state.today.isoformat() if state.today else None}

    @app.put("/v1/behaviour", summary="Change the payer behaviour for a submitter")
    async def set_behaviour(request: Request, body: BehaviourRequest) -> dict[str, Any]:
        if not _authorized(request, body.submitter):
            return _problem(401, "the bearer token does not match the submitter")  # type: ignore[return-value]
        state = request.app.state.clearinghouse.submitter(body.submitter)
        changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"submitter", "payers"})
        if body.reject_member_pattern == "":
            changes["reject_member_pattern"] = None
        if body.payers is not None:
            changes["payers"] = {**state.behaviour.payers, **{k: v.rules() for k, v in body.payers.items()}}
        state.behaviour = replace(state.behaviour, **changes)
        return {"submitter": body.submitter, **_behaviour_view(state.behaviour)}

    @app.get("/v1/remittances", summary="835 files built for a submitter (pending and delivered)")
    async def list_remittances(request: Request, submitter: str = Query(...)) -> Any:
        if not _authorized(request, submitter):
            return _problem(401, "the bearer token does not match the submitter")
        state = request.app.state.clearinghouse.submitter(submitter)
        return [
            {
                "file_id": f.file_id,
                "payment_date": f.payment_date.isoformat(),
                "status": f.status,
                "attempts": f.attempts,
                "last_error": f.last_error,
                "claim_ids": f.claim_ids,
                "total_paid": str(total_paid(f, state)),
                "text": f.text,
            }
            for f in state.files
        ]

    @app.get("/v1/batches", summary="Interchanges received from a submitter, with how many times each arrived")
    async def list_batches(request: Request, submitter: str = Query(...)) -> Any:
        if not _authorized(request, submitter):
            return _problem(401, "the bearer token does not match the submitter")
        state = request.app.state.clearinghouse.submitter(submitter)
        return [
            {
                "isa13": batch.isa13,
                "gs06": batch.gs06,
                "claim_ids": batch.claim_ids,
                "received_date": batch.received_date.isoformat(),
                "times_received": batch.times_received,
            }
            for batch in state.received
        ]

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", summary="Readiness (in-memory: ready once started)")
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    app.openapi = lambda: _openapi_with_security(app)  # type: ignore[method-assign]
    return app


SUBMITTER_TOKEN = {
    "type": "http",
    "scheme": "bearer",
    "description": "Hex HMAC-SHA256 of the submitter (the organization id) under the clearinghouse secret",
}


def _openapi_with_security(app: FastAPI) -> dict[str, Any]:
    """The document with the submitter token declared on every /v1/ operation, each of which checks it."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {"submitterToken": SUBMITTER_TOKEN}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values() if path.startswith("/v1/") else ():
            operation["security"] = [{"submitterToken": []}]
            operation.setdefault("responses", {}).setdefault(
                "401", {"description": "The bearer token is not the submitter's"}
            )
    app.openapi_schema = schema
    return schema


def _behaviour_view(behaviour: Behaviour) -> dict[str, Any]:
    return {
        "payment_lag_business_days": behaviour.payment_lag_business_days,
        "denial_rate": behaviour.denial_rate,
        "allowed_pct": str(behaviour.allowed_pct),
        "copay": str(behaviour.copay),
        "outage": behaviour.outage,
        "latency_ms": behaviour.latency_ms,
        "reject_member_pattern": behaviour.reject_member_pattern,
        "payers": sorted(behaviour.payers),
    }
