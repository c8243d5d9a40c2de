"""Worker entry point shared by services: outbox relay, event consumers, and a small metrics/health server."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
import uvloop
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer import BatchPreparer, EventConsumer, Handler
from shared.db import create_engine, create_sessionmaker
from shared.health import HealthReporter
from shared.heap import freeze_startup_heap
from shared.infra_tables import InfraTables
from shared.kafka import create_producer
from shared.observability import READY, configure_logging
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings, _merged_env

log = structlog.get_logger()

BackgroundTask = Callable[[async_sessionmaker[AsyncSession], asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group of a service: its name, topics and handlers."""

    name: str
    topics: tuple[str, ...]
    handlers: Mapping[str, Handler]
    prepare: BatchPreparer | None = None  # run before a batch's handlers (shared/consumer.py)


@dataclass
class WorkerSpec:
    """What a service's worker runs."""

    settings: ServiceSettings
    infra: InfraTables
    consumers: Sequence[ConsumerSpec]
    background: Sequence[BackgroundTask] = field(default_factory=tuple)
    # Loaders of the reference data the handlers keep for the process's life, run before the heap is frozen.
    warm: Sequence[Callable[[], object]] = field(default_factory=tuple)


async def run_worker(spec: WorkerSpec) -> None:
    """Run relay and consumers until SIGTERM/SIGINT."""
    settings = spec.settings
    configure_logging(settings.service_name, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = HealthReporter()
    engine = create_engine(settings, pre_ping=False, process="worker")
    sessions = create_sessionmaker(engine)
    port = int(_merged_env().get(f"CLAIMFLOW_{settings.service_name.upper()}_WORKER_METRICS_PORT", "0"))
    server = await _serve_metrics(port, health, settings.service_name) if port else None
    producer = create_producer(settings)
    await _start_with_retry(producer.start, stop, health, "producer")
    # The relay reads and marks the outbox under a role of its own: the runtime role may only add outbox rows, so the
    # events' PHI of every organization is not readable by the role every query of the service runs as.
    relay_engine = create_engine(settings, relay=True, pre_ping=False, pool_size=2, process="relay")
    relay = OutboxRelay(
        service=settings.service_name,
        sessions=create_sessionmaker(relay_engine),
        tables=spec.infra,
        producer=producer,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        retention_hours=settings.outbox_retention_hours,
    )
    tasks = [asyncio.create_task(relay.run(stop, health), name="outbox-relay")]
    for consumer_spec in spec.consumers:
        consumer = EventConsumer(
            settings=settings,
            name=consumer_spec.name,
            topics=consumer_spec.topics,
            handlers=consumer_spec.handlers,
            sessions=sessions,
            tables=spec.infra,
            health=health,
            prepare=consumer_spec.prepare,
        )
        tasks.append(asyncio.create_task(consumer.run(stop), name=f"consumer-{consumer_spec.name}"))
    for background in spec.background:
        background_task = asyncio.ensure_future(background(sessions, stop))
        if isinstance(background_task, asyncio.Task):
            background_task.set_name(getattr(background, "__name__", "background"))
        tasks.append(background_task)
    log.info("worker started", consumers=[c.name for c in spec.consumers])
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    failed = [finished for finished in done if finished is not stopper and finished.exception() is not None]
    for failure in failed:
        name = failure.get_name() if isinstance(failure, asyncio.Task) else "task"
        log.error("worker task failed", task=name, error_type=type(failure.exception()).__name__)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await producer.stop()
    await engine.dispose()
    await relay_engine.dispose()
    if server is not None:
        server.close()
    log.info("worker stopped")
    if failed:
        # Exit non-zero so the supervisor (systemd, compose, the test harness) sees the failure and restarts.
        raise SystemExit(1)


async def _start_with_retry(
    start: Callable[[], Awaitable[None]], stop: asyncio.Event, health: HealthReporter, part: str
) -> None:
    """Start a Kafka client, retrying while the broker is unreachable."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await start()
            health.report(part, True)
            return
        except KafkaError as error:
            health.report(part, False)
            log.warning("kafka not reachable, retrying", part=part, error_type=type(error).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5)


async def _serve_metrics(port: int, health: HealthReporter, service: str) -> asyncio.Server:
    """A minimal HTTP server for /metrics, /healthz and /readyz on the worker's port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode(errors="replace")
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            path = request_line.split(" ")[1] if " " in request_line else "/"
            status, content_type, body = "200 OK", "text/plain", b"alive"
            if path.startswith("/metrics"):
                READY.labels(service, "worker").set(1 if health.ready else 0)
                content_type, body = CONTENT_TYPE_LATEST, generate_latest()
            elif path.startswith("/readyz"):
                body = str(health.detail()).encode()
                status = "200 OK" if health.ready else "503 Service Unavailable"
            elif not path.startswith("/healthz"):
                status, body = "404 Not Found", b"not found"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


def lower_priority(nice: int) -> None:
    """Run this process (and every thread it starts later) at a lower CPU priority; never raises."""
    if nice > 0:
        try:
            os.nice(nice)
        except OSError as error:
            log.warning("could not lower the CPU priority", nice=nice, error=str(error))


def main(spec_factory: Callable[[], WorkerSpec]) -> None:
    """Process entry point for `python -m <service>.worker` (on uvloop, as uvicorn runs the APIs)."""
    spec = spec_factory()
    lower_priority(spec.settings.worker_nice)
    freeze_startup_heap(spec.warm)
    uvloop.run(run_worker(spec))
