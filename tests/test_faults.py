"""Faults in the middle of a stream lose and duplicate nothing; poison messages are dead-lettered and parked behind."""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from datetime import date

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy import stack
from deploy.client import Tenant, encounter_body, wait_until
from tests.db import connect_as, tenant_rows

pytestmark = [pytest.mark.stack, pytest.mark.faults]

DOS = date(2026, 9, 28)


async def post_encounters(
    tenant: Tenant, count: int, *, seed: int, prefix: str, during: tuple[int, object] | None = None
) -> list[str]:
    """Post encounters (retrying while intake is unavailable); returns the accepted encounter ids."""
    rng = random.Random(seed)
    practice = tenant.practices[0]
    accepted = []
    for number in range(count):
        if during is not None and number == during[0]:
            await asyncio.to_thread(during[1])
        body = encounter_body(practice, rng, DOS, number, minutes=45)
        body["ehr_encounter_id"] = f"{prefix}-{number}"
        body["place_of_care"] = "in_person"

        async def attempt(body: dict = body, number: int = number):
            try:
                response = await tenant.request(
                    "POST", "intake", "/v1/encounters", json=body, headers={"Idempotency-Key": f"{prefix}-{number}"}
                )
            except OSError:
                return None
            return response if response.status_code in (200, 202) else None

        response = await wait_until(attempt, timeout=60, what=f"intake to accept encounter {number}")
        accepted.append(response.json()["encounter_id"])
    return accepted


async def charges_of(env: dict[str, str], tenant: Tenant) -> list:
    return await tenant_rows(
        env, "coding", tenant.organization_id, "SELECT charge_id, source_event_id FROM coding.charges"
    )


async def dead_letters_since(env: dict[str, str], started: float) -> int:
    total = 0
    for service in ("intake", "coding", "submission", "remittance", "analytics"):
        connection = await connect_as(env, service)
        try:
            total += await connection.fetchval(
                f"SELECT count(*) FROM {service}.dead_letters WHERE created_at >= to_timestamp($1)", started
            )
        finally:
            await connection.close()
    return total


async def test_killing_the_coding_worker_mid_stream_loses_and_duplicates_no_charge(stack_env, tenant):
    def kill_and_restart() -> None:
        stack.kill_process("coding-worker", signal.SIGKILL)
        stack.start_process("coding-worker")

    encounters = await post_encounters(tenant, 24, seed=3, prefix="kill", during=(8, kill_and_restart))

    async def all_charged():
        rows = await charges_of(stack_env, tenant)
        return rows if len(rows) >= len(encounters) else None

    rows = await wait_until(all_charged, timeout=120, what="a charge for every encounter after the restart")
    assert sorted(r["charge_id"] for r in rows) == sorted(encounters)
    assert len({r["source_event_id"] for r in rows}) == len(encounters)


async def test_stopping_postgresql_for_a_few_seconds_dead_letters_nothing_and_loses_nothing(stack_env, tenant):
    started = time.time()

    def outage() -> None:
        stack.stop_postgres()
        time.sleep(4)
        stack.start_postgres()

    encounters = await post_encounters(tenant, 16, seed=5, prefix="pg", during=(6, outage))

    async def all_charged():
        rows = await charges_of(stack_env, tenant)
        return rows if len(rows) >= len(encounters) else None

    rows = await wait_until(all_charged, timeout=180, what="a charge for every encounter after the outage")
    assert sorted(r["charge_id"] for r in rows) == sorted(encounters)
    assert await dead_letters_since(stack_env, started) == 0


async def produce(env: dict[str, str], topic: str, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"], enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key.encode())
    finally:
        await producer.stop()


async def message_with_key(env: dict[str, str], topic: str, key: str, timeout: float = 60):
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=env["CLAIMFLOW_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    if message.key == key.encode():
                        return message
        raise TimeoutError(f"no message with key {key} on {topic} within {timeout} s")
    finally:
        await consumer.stop()


async def test_a_poison_message_is_dead_lettered_and_the_next_message_of_its_key_waits_behind_it(stack_env, tenant):
    poison_key = str(uuid.uuid4())
    await produce(stack_env, "claimflow.patient-intake.v1", poison_key, b'{"type": "encounter.received", "id": 1}')
    message = await message_with_key(stack_env, "claimflow.patient-intake.v1.dlq", poison_key)
    headers = dict(message.headers)
    assert headers["dlq_origin_topic"] == b"claimflow.patient-intake.v1"
    assert headers["dlq_error"].startswith(b"schema-invalid")

    # A valid encounter event with the same key waits behind the dead letter...
    encounters = await post_encounters(tenant, 1, seed=9, prefix="parked-source")
    follower = orjson.loads(await fetch_encounter_event(stack_env, encounters[0]))
    follower["id"] = str(uuid.uuid4())
    follower["subject"] = poison_key
    follower["data"]["encounter_id"] = poison_key
    await produce(stack_env, "claimflow.patient-intake.v1", poison_key, orjson.dumps(follower))

    async def parked():
        connection = await connect_as(stack_env, "coding")
        try:
            return await connection.fetchval(
                "SELECT count(*) FROM coding.parked_messages WHERE message_key = $1", poison_key
            )
        finally:
            await connection.close()

    assert await wait_until(parked, timeout=60, what="the follower to be parked") == 1
    # ...while other keys keep flowing.
    more = await post_encounters(tenant, 2, seed=11, prefix="after-poison")

    async def flowing():
        rows = await charges_of(stack_env, tenant)
        ids = {r["charge_id"] for r in rows}
        return set(more) <= ids and poison_key not in ids

    assert await wait_until(flowing, timeout=60, what="encounters of other keys to be charged")

    # The operator discards the dead letter; the parked follower is then processed.
    connection = await connect_as(stack_env, "coding")
    try:
        dead_letter_id = await connection.fetchval(
            "SELECT id FROM coding.dead_letters WHERE message_key = $1 AND status = 'open'", poison_key
        )
    finally:
        await connection.close()
    response = await tenant.client.http.post(
        f"http://127.0.0.1:{stack_env['CLAIMFLOW_CODING_PORT']}/admin/dead-letters/{dead_letter_id}/discard",
        headers={"Authorization": f"Bearer {stack_env['CLAIMFLOW_OPERATOR_TOKEN']}"},
    )
    assert response.status_code == 200

    async def released():
        rows = await charges_of(stack_env, tenant)
        return poison_key in {r["charge_id"] for r in rows}

    assert await wait_until(released, timeout=60, what="the parked follower to be charged after the discard")


async def fetch_encounter_event(env: dict[str, str], encounter_id: str) -> bytes:
    """The encounter.received message intake published for an encounter."""
    message = await message_with_key(env, "claimflow.patient-intake.v1", encounter_id)
    return message.value
