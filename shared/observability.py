"""Prometheus metrics, structlog JSON logging without PHI, and the correlation id carried through a request."""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from datetime import datetime

import structlog
from prometheus_client import Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# When the event being handled was recorded (set by consumers around each handler; None elsewhere).
event_time_var: ContextVar[datetime | None] = ContextVar("event_time", default=None)

HTTP_REQUESTS = Counter(
    "claimflow_http_requests_total",
    "HTTP requests by route template",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "claimflow_http_request_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter(
    "claimflow_events_published_total", "Events published by the outbox relay", ["service", "topic", "type"]
)
EVENTS_CONSUMED = Counter(
    "claimflow_events_consumed_total",
    "Events consumed and processed",
    ["service", "consumer", "type", "outcome"],
)
EVENTS_FAILED = Counter(
    "claimflow_events_failed_total",
    "Event handling failures by kind",
    ["service", "consumer", "type", "kind"],
)
HANDLER_LATENCY = Histogram(
    "claimflow_handler_seconds",
    "Event handler latency including the database commit",
    ["service", "consumer", "type"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
DB_STATEMENTS = Counter(
    "claimflow_db_statements_total",
    "SQL statements sent to PostgreSQL (round trips, transaction control included)",
    ["service", "process"],
)
OUTBOX_BACKLOG = Gauge("claimflow_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "claimflow_consumer_lag", "Messages behind the end of each topic", ["service", "consumer", "topic"]
)
DEAD_LETTERS = Counter(
    "claimflow_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "consumer", "topic"]
)
PARKED = Counter(
    "claimflow_parked_messages_total",
    "Messages parked behind a dead letter of the same key",
    ["service", "consumer", "topic"],
)
READY = Gauge("claimflow_ready", "1 when the process can reach its database and Kafka", ["service", "process"])


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON logs on stderr with service and correlation id; values of requests are never logged."""
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def add_context(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
        event_dict["service"] = service
        correlation_id = correlation_id_var.get()
        if correlation_id:
            event_dict["correlation_id"] = correlation_id
        return event_dict

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def route_template(request: Request) -> str:
    """The route path template of a request (bounded label), never the raw path.

    The router records the route it matched in the scope; routes of included routers are only found that way (the
    application's own route list holds the included routers, not their routes). Before routing (an error raised
    earlier) the application's routes are searched.
    """
    path = getattr(request.scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class HttpMetrics:
    """Records request counts and latency by route template, and sets the correlation id for the request.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` runs the application in a task of its own and passes
    the response through memory streams, some 2 ms a request here, a tenth of a single encounter's POST.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, then count it under its route template and final status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        correlation_id = next((value for name, value in scope["headers"] if name == b"x-correlation-id"), None)
        token = correlation_id_var.set(correlation_id.decode("latin-1") if correlation_id is not None else None)
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            correlation_id_var.reset(token)
            request = Request(scope)
            route = route_template(request)
            HTTP_REQUESTS.labels(self.service, request.method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, request.method, route).observe(time.perf_counter() - started)
