"""The FastAPI application frame every service uses: lifespan, problem+json, metrics, health, dead-letter admin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import make_asgi_app
from pydantic import BaseModel
from sqlalchemy import select, update
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import ApiKeyVerifier, require_operator
from shared.clock import BusinessClock
from shared.db import create_engine, create_sessionmaker
from shared.failures import describe_error, is_transient
from shared.health import database_reachable, kafka_reachable
from shared.heap import freeze_startup_heap
from shared.infra_tables import InfraTables
from shared.observability import READY, HttpMetrics, configure_logging, route_template
from shared.openapi import problem_openapi
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Order, Page
from shared.problems import Problem, install_problem_handlers, problem_response
from shared.request_limits import RequestSizeLimit
from shared.settings import ServiceSettings
from shared.text_guard import TextGuard

StartupHook = Callable[[FastAPI], Any]
log = structlog.get_logger()


def create_service_app(
    *,
    settings: ServiceSettings,
    infra: InfraTables,
    routers: Sequence[APIRouter],
    title: str,
    description: str,
    on_startup: StartupHook | None = None,
) -> FastAPI:
    """A service's HTTP application; engines are built in the lifespan, never at import."""
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessions = create_sessionmaker(engine)
        if on_startup is not None:
            await on_startup(app)
        freeze_startup_heap()
        yield
        await engine.dispose()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.infra = infra
    app.state.verifier = ApiKeyVerifier()
    app.state.clock = BusinessClock(settable=settings.clock_settable)
    install_problem_handlers(app)
    app.add_middleware(TextGuard)
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]

    app.add_middleware(UnexpectedErrors)
    app.add_middleware(HttpMetrics, service=settings.service_name)
    for router in routers:
        app.include_router(router)
    app.include_router(health_router(settings))
    app.include_router(dead_letter_router())
    app.mount("/metrics", make_asgi_app())
    return app


class UnexpectedErrors:
    """Answers an exception no handler took as problem+json (503 for a transient failure, 500 otherwise).

    Starlette's handler for `Exception` answers and then raises the exception again to the server, which logs it with
    its traceback (a failed statement's text and parameters: PHI) and closes the connection without
    `Connection: close`, so a client's pooled connection fails its next, valid request too. Here the exception ends
    with the answer: logged by type and place only, and the connection stays usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; answer an exception that escapes it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as error:
            request = Request(scope)
            transient = is_transient(error)
            if not transient:
                log.error("unhandled error", path=route_template(request), error=describe_error(error))
            if started:
                return  # the answer had begun: nothing more can be said on this connection, and the server closes it
            if transient:
                response = problem_response(
                    503,
                    "Service Unavailable",
                    "a dependency is unreachable; retry shortly",
                    instance=request.url.path,
                    headers={"Retry-After": "2"},
                )
            else:
                response = problem_response(
                    500, "Internal Server Error", "unexpected error; it has been logged", instance=request.url.path
                )
            await response(scope, receive, send)


def health_router(settings: ServiceSettings) -> APIRouter:
    """/healthz (the process is alive) and /readyz (database and Kafka reachable)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/readyz",
        summary="Readiness: database and Kafka reachable",
        responses={503: {"description": "A dependency is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        database = await database_reachable(request.app.state.engine)
        kafka = await kafka_reachable(settings.kafka_bootstrap)
        ready = database and kafka
        READY.labels(settings.service_name, "api").set(1 if ready else 0)
        return JSONResponse({"ready": ready, "database": database, "kafka": kafka}, status_code=200 if ready else 503)

    return router


class DeadLetterView(BaseModel):
    """A dead-lettered message as an operator sees it (no payload: it may carry PHI)."""

    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    key: str
    event_id: str | None
    event_type: str | None
    error: str
    status: str


def dead_letter_router() -> APIRouter:
    """Operator endpoints: list dead letters, request a replay or a discard (the worker carries it out)."""
    router = APIRouter(prefix="/admin/dead-letters", tags=["operations"], dependencies=[Depends(require_operator)])

    @router.get("", summary="List dead letters, oldest first, a page at a time")
    async def list_dead_letters(
        request: Request,
        status: str | None = None,
        consumer: str | None = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[DeadLetterView]:
        table = request.app.state.infra.dead_letters
        order = Order("dead-letters", ((table.c.id, False),))
        query = select(table)
        if status:
            query = query.where(table.c.status == status)
        if consumer:
            query = query.where(table.c.consumer == consumer)
        async with request.app.state.sessions() as session:
            rows, next_cursor = order.page(
                (await session.execute(order.apply(query, cursor=cursor, limit=limit))).all(), limit
            )
        items = [
            DeadLetterView(
                id=r.id,
                consumer=r.consumer,
                topic=r.topic,
                partition=r.kafka_partition,
                offset=r.kafka_offset,
                key=r.message_key,
                event_id=r.event_id,
                event_type=r.event_type,
                error=r.error,
                status=r.status,
            )
            for r in rows
        ]
        return Page[DeadLetterView](items=items, next_cursor=next_cursor)

    async def request_action(request: Request, dead_letter_id: int, action: str) -> dict[str, Any]:
        table = request.app.state.infra.dead_letters
        async with request.app.state.sessions() as session, session.begin():
            changed = await session.scalar(
                update(table)
                .where(table.c.id == dead_letter_id, table.c.status == "open")
                .values(status=action)
                .returning(table.c.id)
            )
        if changed is None:
            raise Problem(404, "Not Found", f"no open dead letter {dead_letter_id}")
        return {"id": dead_letter_id, "status": action}

    @router.post("/{dead_letter_id}/replay", summary="Replay a dead letter, then release the messages parked behind it")
    async def replay(request: Request, dead_letter_id: int) -> dict[str, Any]:
        return await request_action(request, dead_letter_id, "replay_requested")

    @router.post(
        "/{dead_letter_id}/discard",
        summary="Discard a dead letter, then release the messages parked behind it",
    )
    async def discard(request: Request, dead_letter_id: int) -> dict[str, Any]:
        return await request_action(request, dead_letter_id, "discard_requested")

    return router
