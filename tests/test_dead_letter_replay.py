"""Dead-letter replay on the real broker and database: once the cause is fixed and an operator replays the dead
letter, the message is applied exactly once, then the messages of its key that were parked behind it, in their
original order and exactly once; other keys were never blocked.

The consumer under test is the real `EventConsumer`, run in the test process against the running Kafka and
analytics' own database (its runtime role, its `dead_letters`, `parked_messages`, `inbox` and `outbox` tables), on
topics of its own and under a consumer name of its own, so the analytics worker never touches its rows. Its handler
applies practice upserts (`reference.upserted`, keyed by practice id, where the last version must win, so order
matters); the test decides when a practice cannot be applied (a permanent failure) and when the cause is fixed. The
operator's replay goes through analytics' real endpoint, `POST /admin/dead-letters/{id}/replay`, and the consumer's
housekeeping carries it out. Every applied upsert writes one message to the outbox in the consumer's transaction, so
the test counts committed effects only: a poll batch rolled back and redone one by one leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import asyncpg
import httpx
import orjson
import pytest
from aiokafka.admin import NewTopic
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from deploy.client import ClaimflowClient, base_url, npi_with_check_digit, wait_until
from shared.consumer import EventConsumer
from shared.db import create_engine, create_sessionmaker
from shared.events.catalogue import build_event, serialize_event
from shared.events.reference import Address, PracticeRef, ReferenceUpserted
from shared.failures import PermanentError
from shared.health import HealthReporter
from shared.infra_tables import InfraTables, infra_tables
from shared.kafka import create_admin, create_producer
from shared.outbox import add_message
from shared.settings import ServiceSettings, stack_env_file
from tests.db import connect_as, outbox_rows
from tests.test_faults import message_with_key

pytestmark = pytest.mark.stack

SERVICE = "analytics"  # whose database, tables and operator endpoint the consumer under test uses
APPLIED = "practice.applied"
T = TypeVar("T")


class PracticeReplica:
    """The handler under test: applies practice upserts, failing permanently while a practice's cause is unfixed."""

    def __init__(self, tables: InfraTables, effects_topic: str) -> None:
        self.tables = tables
        self.effects_topic = effects_topic
        self.unfixable: dict[str, str] = {}  # practice id → why its upserts cannot be applied yet
        self.stall_on: str | None = None  # event id whose application hangs until the worker is killed
        self.stalled = asyncio.Event()

    async def on_upserted(self, session: AsyncSession, event: Any) -> None:
        """Apply one upsert; its effect is an outbox message written in the consumer's own transaction."""
        reason = self.unfixable.get(event.subject)
        if reason is not None:
            raise PermanentError(reason)
        if event.id == self.stall_on:
            self.stalled.set()
            await asyncio.Event().wait()  # never returns: the worker is killed in the middle of this transaction
        await add_message(
            session,
            self.tables,
            topic=self.effects_topic,
            key=event.subject,
            value=event.data.entity.name.encode(),
            event_type=APPLIED,
            event_id=event.id,
            headers={},
        )


@dataclass
class Rig:
    """One consumer under test with its topics, handler and database access."""

    env: dict[str, str]
    client: ClaimflowClient
    settings: ServiceSettings
    consumer: EventConsumer
    replica: PracticeReplica
    topic: str
    connection: asyncpg.Connection
    organization_id: uuid.UUID = field(default_factory=uuid.uuid4)
    sent: dict[str, str] = field(default_factory=dict)  # event id → "<practice>/<version>"
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The consumer's name (the `consumer` column of its rows)."""
        return self.consumer.name

    async def publish(self, practice: str, version: str) -> str:
        """Produce one practice upsert on the source topic (key: the practice id); returns its event id."""
        upsert = ReferenceUpserted(
            entity_id=practice,
            entity=PracticeRef(
                name=f"{practice[:8]} {version}",
                npi=npi_with_check_digit("100000001"),
                tin="123456789",
                taxonomy="261QM0801X",
                address=Address(line1="1 Main St", city="Springfield", state="IL", postal_code="62701"),
            ),
        )
        _, event = build_event(
            "reference.upserted",
            upsert,
            source="intake",
            subject=practice,
            organization_id=self.organization_id,
            business_date=date(2026, 10, 1),
            correlation_id=str(uuid.uuid4()),
        )
        producer = create_producer(self.settings)
        await producer.start()
        try:
            await producer.send_and_wait(self.topic, value=serialize_event(event), key=practice.encode())
        finally:
            await producer.stop()
        self.sent[event.id] = f"{practice}/{version}"
        return event.id

    def start(self) -> None:
        """Run the consumer in the background until the rig is torn down."""
        self.task = asyncio.create_task(self.consumer.run(self.stop_event), name=f"consumer-{self.name}")

    async def kill_and_restart(self) -> None:
        """Kill the worker in the middle of its work, then start a new one under the same name.

        Cancelling the consumer's task leaves the database as a SIGKILL would: the open transaction is rolled
        back, what was committed stays, and no offset is committed on the way out.
        """
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        old = self.consumer
        self.consumer = EventConsumer(
            settings=old.settings,
            name=old.name,
            topics=old.topics,
            handlers=old.handlers,
            sessions=old.sessions,
            tables=old.tables,
            health=HealthReporter(),
        )
        self.stop_event = asyncio.Event()
        self.start()

    async def until(self, probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30) -> T:
        """Wait for a probe, failing at once with the consumer's own error if it stopped."""

        async def checked() -> T | None:
            if self.task is not None and self.task.done():
                raise AssertionError(f"the consumer stopped while waiting for {what}: {self.task.exception()!r}")
            return await probe()

        return await wait_until(checked, timeout=timeout, what=what, interval=0.2)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Rows of a query on analytics' tables, as its runtime role."""
        return list(await self.connection.fetch(sql, *args))

    async def effects(self) -> list[str]:
        """Committed effects in commit order, as "<practice>/<version>" of the upsert applied."""
        rows = await outbox_rows(
            self.env,
            SERVICE,
            f"SELECT event_id FROM {SERVICE}.outbox WHERE topic = $1 ORDER BY id",
            self.replica.effects_topic,
        )
        return [self.sent[row["event_id"]] for row in rows]

    async def dead_letters(self) -> list[Any]:
        """This consumer's dead letters, oldest first."""
        return await self.fetch(
            f"SELECT id, status, error, event_id, message_key, resolved_at FROM {SERVICE}.dead_letters "
            "WHERE consumer = $1 ORDER BY id",
            self.name,
        )

    async def parked(self) -> list[tuple[str, int]]:
        """(parked message as "<practice>/<version>", dead letter it waits behind), in parking order."""
        rows = await self.fetch(
            f"SELECT value, dead_letter_id FROM {SERVICE}.parked_messages WHERE consumer = $1 ORDER BY id", self.name
        )
        return [(self.sent[_event_id(row["value"])], row["dead_letter_id"]) for row in rows]

    async def inbox(self) -> Counter[str]:
        """Event ids this consumer recorded as processed."""
        rows = await self.fetch(f"SELECT event_id FROM {SERVICE}.inbox WHERE consumer = $1", self.name)
        return Counter(row["event_id"] for row in rows)

    async def operator(self, action: str, dead_letter_id: int) -> Any:
        """POST /admin/dead-letters/{id}/<action> on analytics with the operator token."""
        return await self.client.http.post(
            f"{base_url(self.env, SERVICE)}/admin/dead-letters/{dead_letter_id}/{action}",
            headers={"Authorization": f"Bearer {self.env['CLAIMFLOW_OPERATOR_TOKEN']}"},
        )


def _event_id(value: bytes) -> str:
    """The id attribute of a raw event."""
    return str(orjson.loads(value)["id"])


@pytest.fixture
async def rig(stack_env: dict[str, str], client: ClaimflowClient) -> AsyncIterator[Rig]:
    """A consumer of a fresh single-partition topic, with its dead-letter and effects topics; torn down afterwards."""
    suffix = uuid.uuid4().hex[:10]
    topic = f"replay-check-{suffix}"
    topics = [topic, f"{topic}.dlq", f"{topic}.applied"]
    settings = ServiceSettings(_env_file=stack_env_file(), service_name=SERVICE)
    connection = await connect_as(stack_env, SERVICE)
    admin = create_admin(settings)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1) for name in topics])
    finally:
        await admin.close()
    engine = create_engine(settings, pool_size=2)
    tables = infra_tables(MetaData(schema=SERVICE))
    replica = PracticeReplica(tables, f"{topic}.applied")
    consumer = EventConsumer(
        settings=settings,
        name=f"replay-check-{suffix}",
        topics=(topic,),
        handlers={"reference.upserted": replica.on_upserted},
        sessions=create_sessionmaker(engine),
        tables=tables,
        health=HealthReporter(),
    )
    rig = Rig(stack_env, client, settings, consumer, replica, topic, connection)
    try:
        yield rig
    finally:
        await _discard_what_is_left(rig)
        rig.stop_event.set()
        if rig.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(rig.task, timeout=30)
        await engine.dispose()
        # Messages stranded behind a resolved dead letter (the known failure below) would never be released.
        await rig.connection.execute(f"DELETE FROM {SERVICE}.parked_messages WHERE consumer = $1", rig.name)
        await _delete_topics_once_relayed(rig, topics)
        await rig.connection.close()


async def _discard_what_is_left(rig: Rig) -> None:
    """A failed test leaves no unresolved dead letter behind: discard the open ones while the consumer still runs."""
    opened = [row["id"] for row in await rig.dead_letters() if row["status"] == "open"]
    for dead_letter_id in opened:
        await rig.operator("discard", dead_letter_id)
    if not opened or rig.task is None or rig.task.done():
        return

    async def resolved() -> bool:
        return all(row["status"] in ("replayed", "discarded") for row in await rig.dead_letters())

    with contextlib.suppress(TimeoutError):
        await wait_until(resolved, timeout=15, what="the consumer to discard what the test left open")


async def _delete_topics_once_relayed(rig: Rig, topics: list[str]) -> None:
    """Delete the test's topics once analytics' relay has published every outbox row bound for them.

    A row still waiting for a deleted topic would hold up analytics' relay, so the topics stay when it is late.
    """

    async def relayed() -> bool:
        rows = await outbox_rows(
            rig.env,
            SERVICE,
            f"SELECT count(*) AS waiting FROM {SERVICE}.outbox WHERE topic = ANY($1::text[]) AND sent_at IS NULL",
            topics,
        )
        return bool(rows[0]["waiting"] == 0)

    try:
        await wait_until(relayed, timeout=30, what="analytics' relay to publish the test's outbox rows")
    except TimeoutError:
        return
    admin = create_admin(rig.settings)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


async def dead_letter_message(rig: Rig, key: str, timeout: float = 30) -> Any:
    """The message analytics' relay published on the dead-letter topic for a key."""
    env = {"CLAIMFLOW_KAFKA_BOOTSTRAP": rig.settings.kafka_bootstrap}
    return await message_with_key(env, f"{rig.topic}.dlq", key, timeout)


async def test_a_replayed_dead_letter_is_applied_once_then_its_parked_followers_in_order_while_other_keys_flowed(
    rig: Rig,
) -> None:
    blocked, other = str(uuid.uuid4()), str(uuid.uuid4())
    rig.replica.unfixable[blocked] = "practice billing NPI is not enrolled with the clearinghouse"
    # One partition, published before the consumer starts, so the five arrive together: a poll batch that the
    # poison upsert rolls back and the consumer redoes one by one.
    first = await rig.publish(blocked, "v1")
    await rig.publish(other, "v1")
    await rig.publish(blocked, "v2")
    await rig.publish(other, "v2")
    await rig.publish(blocked, "v3")
    rig.start()

    async def waiting() -> list[Any] | None:
        letters = await rig.dead_letters()
        ready = len(letters) == 1 and len(await rig.parked()) == 2 and len(await rig.effects()) == 2
        return letters if ready else None

    letters = await rig.until(waiting, "the poison upsert dead-lettered, its followers parked, the other key applied")
    letter = letters[0]
    assert (letter["status"], letter["event_id"], letter["message_key"]) == ("open", first, blocked)
    assert letter["error"] == "invariant: practice billing NPI is not enrolled with the clearinghouse"
    assert await rig.parked() == [(f"{blocked}/v2", letter["id"]), (f"{blocked}/v3", letter["id"])]
    assert await rig.effects() == [f"{other}/v1", f"{other}/v2"]  # the other key was never blocked
    dlq = await dead_letter_message(rig, blocked)
    headers = dict(dlq.headers)
    assert headers["dlq_dead_letter_id"] == str(letter["id"]).encode()
    assert headers["dlq_origin_topic"] == rig.topic.encode()
    assert headers["dlq_origin_offset"] == b"0"
    assert _event_id(dlq.value) == first

    # The cause is fixed; the operator replays through the service's endpoint.
    del rig.replica.unfixable[blocked]
    response = await rig.operator("replay", letter["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {"id": letter["id"], "status": "replay_requested"}

    async def replayed() -> list[str] | None:
        letters = await rig.dead_letters()
        effects = await rig.effects()
        done = letters[0]["status"] == "replayed" and not await rig.parked() and len(effects) == 5
        return effects if done else None

    effects = await rig.until(replayed, "the replay and the release of the parked upserts")
    assert effects == [f"{other}/v1", f"{other}/v2", f"{blocked}/v1", f"{blocked}/v2", f"{blocked}/v3"]
    assert (await rig.dead_letters())[0]["resolved_at"] is not None

    # A later upsert of the key is applied at once, after the released ones.
    await rig.publish(blocked, "v4")

    async def applied_v4() -> list[str] | None:
        effects = await rig.effects()
        return effects if len(effects) == 6 else None

    effects = await rig.until(applied_v4, "the next upsert of the replayed key")
    assert effects[-1] == f"{blocked}/v4"
    assert await rig.parked() == []
    assert await rig.inbox() == Counter(dict.fromkeys(rig.sent, 1))  # every upsert processed exactly once
    assert sorted(effects) == sorted(rig.sent.values())  # and each applied exactly once

    # The dead letter is resolved: a second replay is refused with a problem naming it.
    again = await rig.operator("replay", letter["id"])
    assert again.status_code == 404
    assert again.headers["content-type"].startswith("application/problem+json")
    assert str(letter["id"]) in again.json()["detail"]


async def test_replaying_a_message_that_still_fails_reopens_its_dead_letter_and_keeps_its_followers_parked(
    rig: Rig,
) -> None:
    blocked, other = str(uuid.uuid4()), str(uuid.uuid4())
    rig.replica.unfixable[blocked] = "practice billing NPI is not enrolled with the clearinghouse"
    rig.start()
    first = await rig.publish(blocked, "v1")
    await rig.publish(blocked, "v2")
    await rig.publish(other, "v1")

    async def waiting() -> list[Any] | None:
        letters = await rig.dead_letters()
        ready = len(letters) == 1 and len(await rig.parked()) == 1 and len(await rig.effects()) == 1
        return letters if ready else None

    letter = (await rig.until(waiting, "the poison upsert dead-lettered and its follower parked"))[0]
    assert letter["event_id"] == first

    # Only part of the cause is fixed: the replay fails on the next problem.
    rig.replica.unfixable[blocked] = "practice taxonomy is not on the payer's list"
    response = await rig.operator("replay", letter["id"])
    assert response.status_code == 200, response.text

    async def reopened() -> Any:
        row = (await rig.dead_letters())[0]
        return row if row["status"] == "open" and "taxonomy" in row["error"] else None

    row = await rig.until(reopened, "the failed replay to reopen the dead letter")
    assert row["id"] == letter["id"]
    assert row["error"] == "invariant: practice taxonomy is not on the payer's list"
    assert row["resolved_at"] is None
    assert len(await rig.dead_letters()) == 1  # reopened, not a second dead letter
    assert await rig.parked() == [(f"{blocked}/v2", letter["id"])]
    assert await rig.effects() == [f"{other}/v1"]
    assert first not in await rig.inbox()

    # Still open, so a later upsert of the key waits behind it too.
    await rig.publish(blocked, "v3")

    async def parked_twice() -> list[tuple[str, int]] | None:
        parked = await rig.parked()
        return parked if len(parked) == 2 else None

    assert await rig.until(parked_twice, "the next upsert to be parked") == [
        (f"{blocked}/v2", letter["id"]),
        (f"{blocked}/v3", letter["id"]),
    ]

    # Fixed for good: the second replay goes through and releases both in order.
    del rig.replica.unfixable[blocked]
    response = await rig.operator("replay", letter["id"])
    assert response.status_code == 200, response.text

    async def replayed() -> list[str] | None:
        effects = await rig.effects()
        done = (await rig.dead_letters())[0]["status"] == "replayed" and len(effects) == 4
        return effects if done else None

    effects = await rig.until(replayed, "the second replay and the release")
    assert effects == [f"{other}/v1", f"{blocked}/v1", f"{blocked}/v2", f"{blocked}/v3"]
    assert await rig.parked() == []
    assert await rig.inbox() == Counter(dict.fromkeys(rig.sent, 1))


async def test_a_worker_killed_during_a_replay_applies_the_message_and_its_followers_after_the_restart(
    rig: Rig,
) -> None:
    blocked = str(uuid.uuid4())
    rig.replica.unfixable[blocked] = "practice billing NPI is not enrolled with the clearinghouse"
    first = await rig.publish(blocked, "v1")
    await rig.publish(blocked, "v2")
    await rig.publish(blocked, "v3")
    rig.start()

    async def waiting() -> list[Any] | None:
        letters = await rig.dead_letters()
        return letters if len(letters) == 1 and len(await rig.parked()) == 2 else None

    letter = (await rig.until(waiting, "the poison upsert dead-lettered and its followers parked"))[0]
    del rig.replica.unfixable[blocked]
    rig.replica.stall_on = first
    response = await rig.operator("replay", letter["id"])
    assert response.status_code == 200, response.text
    await asyncio.wait_for(rig.replica.stalled.wait(), timeout=30)
    rig.replica.stall_on = None
    await rig.kill_and_restart()  # while the replayed upsert is being applied
    await rig.publish(blocked, "v4")

    async def all_applied() -> list[str] | None:
        effects = await rig.effects()
        return effects if len(effects) == 4 else None

    effects = await rig.until(all_applied, "every upsert of the key applied after the restart", timeout=15)
    assert effects == [f"{blocked}/v1", f"{blocked}/v2", f"{blocked}/v3", f"{blocked}/v4"]
    assert (await rig.dead_letters())[0]["status"] == "replayed"
    assert await rig.parked() == []


async def test_the_operators_dead_letter_list_pages_by_cursor_and_filters(stack_env: dict[str, str]) -> None:
    consumer = f"paging-check-{uuid.uuid4().hex[:8]}"
    owner = await connect_as(stack_env, "coding", owner=True)
    try:
        for offset in range(3):
            await owner.execute(
                "INSERT INTO coding.dead_letters (consumer, topic, kafka_partition, kafka_offset, message_key, "
                "error_kind, error, value, status) VALUES ($1, 't', 0, $2, 'k', 'permanent', 'e', '\\x00', 'open')",
                consumer,
                offset,
            )
        url = f"{base_url(stack_env, 'coding')}/admin/dead-letters"
        headers = {"Authorization": f"Bearer {stack_env['CLAIMFLOW_OPERATOR_TOKEN']}"}
        async with httpx.AsyncClient(timeout=30) as http:
            first = (await http.get(url, params={"consumer": consumer, "limit": 2}, headers=headers)).json()
            second = (
                await http.get(url, params={"consumer": consumer, "cursor": first["next_cursor"]}, headers=headers)
            ).json()
            forged = await http.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=headers)
        assert [item["offset"] for item in first["items"]] == [0, 1]
        assert [item["offset"] for item in second["items"]] == [2]
        assert second["next_cursor"] is None
        assert forged.status_code == 422
    finally:
        await owner.execute("DELETE FROM coding.dead_letters WHERE consumer = $1", consumer)
        await owner.close()
