"""The raw floor of the broker and the database: rates and CPU of bare aiokafka and asyncpg work, and one event's."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import asyncpg

from deploy.procstats import own_cpu_seconds, process_cpu, usage

FLOOR_MESSAGE_BYTES = 2048
FLOOR_BACKGROUND_SECONDS = 2.0
FLOOR_MIN_INSERTS = 1000


@dataclass(frozen=True)
class CpuMark:
    """The benchmark process's own CPU seconds, a server's process tree's CPU seconds and the clock, at one instant."""

    own: float
    server: float
    at: float


def cpu_mark(server_cpu: float) -> CpuMark:
    """The benchmark process's CPU and the clock now, with a server CPU reading just taken."""
    return CpuMark(own_cpu_seconds(), server_cpu, time.perf_counter())


def floor_cpu(windows: list[tuple[CpuMark, CpuMark]], background_per_second: float) -> tuple[float, float]:
    """(client, server) CPU seconds spent over the windows, the server's idle background rate taken out."""
    client = sum(end.own - start.own for start, end in windows)
    server = sum(end.server - start.server - background_per_second * (end.at - start.at) for start, end in windows)
    return client, max(server, 0.0)


async def background_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU seconds per second each named process tree uses while the benchmark sends nothing."""
    before = {name: usage(pid).cpu_seconds for name, pid in pids.items()}
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    return {name: max((usage(pid).cpu_seconds - before[name]) / elapsed, 0.0) for name, pid in pids.items()}


async def kafka_floor(
    env: dict[str, str], messages: int, size: int, kafka_pid: int, background_per_second: float = 0.0
) -> dict[str, float]:
    """aiokafka produce-then-consume of same-sized messages on a throw-away topic, with our producer settings.

    Rates and CPU: the benchmark process's own (the client) and the broker's, per message produced and consumed.
    The broker serves the running stack too: its CPU rate while the benchmark sent nothing is taken out.
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"claimflow.bench-floor.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"])
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
        producer = AIOKafkaProducer(
            bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"], enable_idempotence=True, acks="all", linger_ms=5
        )
        await producer.start()
        payload = b"x" * size
        produce_start = cpu_mark(usage(kafka_pid).cpu_seconds)
        try:
            batch = [producer.send(topic, payload, key=str(i).encode()) for i in range(messages)]
            await asyncio.gather(*[await f for f in batch])
        finally:
            await producer.stop()
        produce_end = cpu_mark(usage(kafka_pid).cpu_seconds)
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"],
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=topic,
            max_poll_records=500,
        )
        await consumer.start()
        received = 0
        consume_start = cpu_mark(usage(kafka_pid).cpu_seconds)
        try:
            while received < messages:
                batches = await consumer.getmany(timeout_ms=1000)
                received += sum(len(records) for records in batches.values())
        finally:
            consume_end = cpu_mark(usage(kafka_pid).cpu_seconds)
            await consumer.stop()
        produce_seconds, consume_seconds = produce_end.at - produce_start.at, consume_end.at - consume_start.at
        client, broker = floor_cpu([(produce_start, produce_end), (consume_start, consume_end)], background_per_second)
        return {
            "kafka_produce_per_second": round(messages / produce_seconds),
            "kafka_consume_per_second": round(messages / consume_seconds),
            "kafka_round_trip_per_second": round(messages / (produce_seconds + consume_seconds)),
            "kafka_client_cpu_ms_per_message": round(client * 1000 / messages, 4),
            "kafka_broker_cpu_ms_per_message": round(broker * 1000 / messages, 4),
            "kafka_cpu_ms_per_message": round((client + broker) * 1000 / messages, 4),
            "message_bytes": size,
        }
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def postgres_floor(env: dict[str, str], rows: int) -> dict[str, float]:
    """asyncpg single-row inserts, one transaction each, into a throw-away table of the analytics rebuild schema.

    Rate and CPU: the benchmark process's own (the client) and that of the connection's backend process (the
    server; read from its own /proc entry, so whatever else the database serves meanwhile does not count), per
    committed insert.
    """
    connection = await asyncpg.connect(
        host=env["CLAIMFLOW_PG_HOST"],
        port=int(env["CLAIMFLOW_PG_PORT"]),
        database=env["CLAIMFLOW_PG_DATABASE"],
        user=env["CLAIMFLOW_ANALYTICS_OWNER_USER"],
        password=env["CLAIMFLOW_ANALYTICS_OWNER_PASSWORD"],
    )
    table = f"analytics_rebuild.bench_floor_{uuid.uuid4().hex[:8]}"
    try:
        await connection.execute(f"CREATE TABLE {table} (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        body = json.dumps({"x": "y" * 1500})
        backend = connection.get_server_pid()
        started = cpu_mark(process_cpu(backend))
        for _ in range(rows):
            await connection.execute(f"INSERT INTO {table} VALUES ($1, $2)", uuid.uuid4(), body)
        ended = cpu_mark(process_cpu(backend))
        client, server = floor_cpu([(started, ended)], 0.0)
        return {
            "postgres_single_row_inserts_per_second": round(rows / (ended.at - started.at)),
            "postgres_client_cpu_ms_per_insert": round(client * 1000 / rows, 4),
            "postgres_server_cpu_ms_per_insert": round(server * 1000 / rows, 4),
            "postgres_cpu_ms_per_insert": round((client + server) * 1000 / rows, 4),
        }
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()


async def measure_floor(env: dict[str, str], pids: dict[str, int], messages: int) -> dict[str, float]:
    """The raw floor of the broker and the database, rates and CPU, and what one event minimally costs."""
    background = await background_cpu({"kafka": pids["kafka"]}, FLOOR_BACKGROUND_SECONDS)
    floor = await kafka_floor(env, messages, FLOOR_MESSAGE_BYTES, pids["kafka"], background["kafka"])
    # CPU counters tick every 10 ms: at least 1,000 commits (about half a second) keep the server figure meaningful.
    floor |= await postgres_floor(env, max(messages // 10, FLOOR_MIN_INSERTS))
    floor["kafka_background_cpu_per_second"] = round(background["kafka"], 4)
    return floor | floor_per_event(floor)


def floor_per_event(floor: dict[str, float]) -> dict[str, float]:
    """What one event minimally costs: one Kafka message produced and consumed plus one committed single-row insert.

    CPU adds up; the rate is that of doing both one after the other (1 / (1/Kafka round trip + 1/insert rate)).
    """
    cpu = floor["kafka_cpu_ms_per_message"] + floor["postgres_cpu_ms_per_insert"]
    kafka_rate, insert_rate = floor["kafka_round_trip_per_second"], floor["postgres_single_row_inserts_per_second"]
    rate = 1 / (1 / kafka_rate + 1 / insert_rate) if kafka_rate > 0 and insert_rate > 0 else 0.0
    return {"floor_cpu_ms_per_event": round(cpu, 4), "floor_events_per_second": round(rate, 1)}
