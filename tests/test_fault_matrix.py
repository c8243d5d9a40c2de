"""The fault matrix: a steady, seeded workload with one fault at a time, checked against a fault-free run.

The workload is a mix of 30 visits (psychotherapy of several lengths, one with interactive complexity, medication
management, office E/M by time, diagnostic evaluations; see tests/history.py), each billable as documented.

`make test-faults` runs every case; `make test` runs the reference run and one case (a worker killed mid-stream),
so the checker itself stays guarded in CI. Each case asserts 0 lost and 0 duplicated effects, no dead letter for a
transient fault, exactly the poison messages dead-lettered for the poison case, and the reference run's KPIs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from deploy import stack
from deploy.client import ClaimflowClient, Tenant, seed_payers, seed_practice
from deploy.runtime import port_open
from tests.db import connect_as
from tests.fault_proxy import FaultProxy
from tests.history import History, Workload, add_prescriber, dead_letters, settled_history, violations

pytestmark = [pytest.mark.stack]
WORKLOAD = Workload(count=30, seed=21, prefix="fm")
FAULT_AT = 10
SETTLE_SECONDS = 300
CONSUMERS = {  # topic → services whose workers consume it (each dead-letters a poison message once)
    "claimflow.reference.v1": ("intake", "coding", "submission", "remittance", "analytics"),
    "claimflow.patient-intake.v1": ("coding", "analytics"),
    "claimflow.charge.v1": ("submission", "analytics"),
    "claimflow.claim-submitted.v1": ("remittance", "analytics"),
    "claimflow.claim-acknowledged.v1": ("analytics",),
    "claimflow.remittance.v1": ("submission", "analytics"),
    "claimflow.denial.v1": ("submission", "analytics"),
}


async def fresh_tenant(client: ClaimflowClient, name: str) -> Tenant:
    """An organization seeded exactly like the reference one, paid at once, with no random denials."""
    tenant = await client.create_tenant(f"{name}-{uuid.uuid4().hex[:6]}")
    await tenant.set_business_date(date(2026, 10, 1))
    payer_ids = await seed_payers(tenant)
    await seed_practice(tenant, name="Fault Practice", seed=1, payer_ids=payer_ids, providers=2, patients=5)
    await add_prescriber(tenant, payer_ids)
    await tenant.sandbox(
        "PUT",
        "/v1/behaviour",
        json={"submitter": tenant.organization_id, "payment_lag_business_days": 0, "denial_rate": 0.0},
    )
    return tenant


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def reference_history(stack_env: dict[str, str]) -> History:
    """The fault-free run of the workload (once per module): every visit charged, claimed and paid once, none held."""
    client = ClaimflowClient(stack_env)
    try:
        tenant = await fresh_tenant(client, "reference")
        accepted = await WORKLOAD.post(tenant)
        assert len(accepted) == WORKLOAD.count
        history = await settled_history(stack_env, tenant, None, SETTLE_SECONDS, quiet_polls=5)
        assert violations(history) == []
        encounters, charges, claims, postings = history.shape()
        assert history.held_charges == set()
        assert encounters == charges == claims == postings == WORKLOAD.count  # one primary payer per patient
        return history
    finally:
        await client.close()


def kill_worker(service: str) -> Callable[[], None]:
    """SIGKILL a service's worker and start it again."""

    def fault() -> None:
        stack.kill_process(f"{service}-worker", signal.SIGKILL)
        stack.start_process(f"{service}-worker")

    return fault


def kill_kafka() -> None:
    """SIGKILL the broker and start it again (its log is on disk; the services reconnect)."""
    stack.kill_process("kafka", signal.SIGKILL)
    stack.start_kafka()


def restart_postgres() -> None:
    """Stop PostgreSQL for a few seconds and start it again."""
    stack.stop_postgres()
    time.sleep(4)
    stack.start_postgres()


FAULTS: dict[str, Callable[[], None]] = {
    **{
        f"kill-{service}-worker": kill_worker(service)
        for service in ("intake", "coding", "submission", "remittance", "analytics")
    },
    "kill-kafka": kill_kafka,
    "restart-postgres": restart_postgres,
}
CI_CASES = {"kill-submission-worker"}


async def run_case(env: dict[str, str], client: ClaimflowClient, reference: History, fault: Callable[[], None]) -> None:
    """The workload with one fault; then the history checks."""
    tenant = await fresh_tenant(client, "fault")
    started = time.time()
    accepted = await WORKLOAD.post(tenant, fault=(FAULT_AT, fault))
    assert len(accepted) == WORKLOAD.count
    history = await settled_history(env, tenant, reference, SETTLE_SECONDS)
    assert violations(history) == []
    assert history.shape() == reference.shape()
    assert history.kpis == reference.kpis
    assert await dead_letters(env, started) == [], "a transient fault must dead-letter nothing"


@pytest.mark.parametrize(
    "case",
    [pytest.param(name, marks=pytest.mark.faults if name in CI_CASES else pytest.mark.faults_full) for name in FAULTS],
)
async def test_a_fault_mid_stream_loses_and_duplicates_nothing(
    stack_env: dict[str, str], client: ClaimflowClient, reference_history: History, case: str
) -> None:
    await run_case(stack_env, client, reference_history, FAULTS[case])


@pytest.mark.faults_full
async def test_the_clearinghouse_down_for_30_seconds_then_slow_loses_and_duplicates_nothing(
    stack_env: dict[str, str], client: ClaimflowClient, reference_history: History
) -> None:
    tenant = await fresh_tenant(client, "clearinghouse")
    behaviour = {"submitter": tenant.organization_id}

    async def switch(**settings: Any) -> None:
        await tenant.sandbox("PUT", "/v1/behaviour", json=behaviour | settings)

    started = time.time()
    await switch(outage=True)
    half = WORKLOAD.count // 2
    first = Workload(count=half, seed=WORKLOAD.seed, prefix=WORKLOAD.prefix)
    await first.post(tenant)
    await asyncio.sleep(max(0.0, 30 - (time.time() - started)))
    await switch(outage=False, latency_ms=1500)
    await WORKLOAD.post(tenant)  # the first half again (answered as already received), then the rest
    history = await settled_history(stack_env, tenant, reference_history, SETTLE_SECONDS)
    await switch(latency_ms=0)
    assert violations(history) == []
    assert history.shape() == reference_history.shape()
    assert history.kpis == reference_history.kpis
    assert await dead_letters(stack_env, started) == []


PROXY_PORT, PROXIED_LISTENER_PORT = 39094, 39095  # deploy/kafka/server.properties.in: the PROXIED listener


@pytest.mark.faults_full
async def test_latency_and_dropped_connections_between_the_workers_and_kafka_lose_and_duplicate_nothing(
    stack_env: dict[str, str], client: ClaimflowClient, reference_history: History
) -> None:
    if not port_open(PROXIED_LISTENER_PORT):  # a broker started before the fault listener existed
        stack.stop_kafka()
        stack.start_kafka()
    proxy = FaultProxy(PROXY_PORT, PROXIED_LISTENER_PORT)
    proxy.start()
    workers = [f"{service}-worker" for service in stack.SERVICES]
    direct = os.environ.get("CLAIMFLOW_KAFKA_BOOTSTRAP")
    os.environ["CLAIMFLOW_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{PROXY_PORT}"
    try:
        for name in workers:  # every worker's Kafka traffic now goes through the proxy
            await asyncio.to_thread(stack.restart_process, name)
        proxy.latency = 0.05
        tenant = await fresh_tenant(client, "proxy")
        started = time.time()
        await WORKLOAD.post(tenant, fault=(FAULT_AT, proxy.drop_all))
        dropped_again = proxy.drop_all()
        history = await settled_history(stack_env, tenant, reference_history, SETTLE_SECONDS)
        assert dropped_again > 0
        assert proxy.connections > len(workers)  # the workers reconnected through the proxy after the drops
        assert violations(history) == []
        assert history.shape() == reference_history.shape()
        assert history.kpis == reference_history.kpis
        assert await dead_letters(stack_env, started) == []
    finally:
        if direct is None:
            os.environ.pop("CLAIMFLOW_KAFKA_BOOTSTRAP", None)
        else:
            os.environ["CLAIMFLOW_KAFKA_BOOTSTRAP"] = direct
        for name in workers:
            await asyncio.to_thread(stack.restart_process, name)
        proxy.stop()


@pytest.mark.faults_full
async def test_a_poison_message_on_every_topic_is_dead_lettered_once_per_consumer_and_nothing_else_is(
    stack_env: dict[str, str], client: ClaimflowClient, reference_history: History
) -> None:
    started = time.time()
    producer = AIOKafkaProducer(bootstrap_servers=stack_env["CLAIMFLOW_KAFKA_BOOTSTRAP"], enable_idempotence=True)
    await producer.start()
    keys = {topic: f"poison-{uuid.uuid4().hex[:8]}" for topic in CONSUMERS}
    try:
        for topic, key in keys.items():
            await producer.send_and_wait(topic, value=b'{"type": "not json', key=key.encode())
    finally:
        await producer.stop()
    tenant = await fresh_tenant(client, "poison")
    await WORKLOAD.post(tenant)
    history = await settled_history(stack_env, tenant, reference_history, SETTLE_SECONDS)
    assert violations(history) == []
    assert history.kpis == reference_history.kpis
    expected = sorted((service, topic, keys[topic]) for topic, services in CONSUMERS.items() for service in services)
    assert await dead_letters(stack_env, started) == expected
    await discard_dead_letters(stack_env, client, set(keys.values()))


async def discard_dead_letters(env: dict[str, str], client: ClaimflowClient, keys: set[str]) -> None:
    """Discard the poison dead letters through each service's operator API, leaving the stack clean."""
    for service in ("intake", "coding", "submission", "remittance", "analytics"):
        connection = await connect_as(env, service)
        try:
            rows = await connection.fetch(
                f"SELECT id FROM {service}.dead_letters WHERE status = 'open' AND message_key = ANY($1::text[])",
                sorted(keys),
            )
        finally:
            await connection.close()
        for row in rows:
            response = await client.http.post(
                f"http://127.0.0.1:{env[f'CLAIMFLOW_{service.upper()}_PORT']}/admin/dead-letters/{row['id']}/discard",
                headers={"Authorization": f"Bearer {env['CLAIMFLOW_OPERATOR_TOKEN']}"},
            )
            assert response.status_code == 200, response.text
