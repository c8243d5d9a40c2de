"""The outbox relay on the real database: a batch is claimed in one statement, published in id order, and marked
sent only when every message was acknowledged; a relay that does not lead publishes nothing.

A scratch copy of intake's outbox table keeps the running stack's relays out of the way; the producer is a stand-in
that records what it is given (the broker's part is covered by every end-to-end test).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, create_sessionmaker
from shared.infra_tables import infra_tables
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings, load_settings
from tests.db import connect_as, statements_sent

pytestmark = pytest.mark.stack


@dataclass
class RecordingProducer:
    """Stands in for the Kafka producer: records each send; `fail` makes the acknowledgements fail."""

    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    fail: bool = False

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: list[Any]) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            acknowledged.set_exception(ConnectionError("broker unreachable"))
        else:
            acknowledged.set_result(None)
        return acknowledged


@dataclass
class Rig:
    sessions: async_sessionmaker[AsyncSession]
    outbox: Table
    producer: RecordingProducer
    relay: OutboxRelay

    async def add(self, *keys: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(self.outbox),
                [
                    {"event_id": uuid.uuid4().hex, "topic": "t", "message_key": key, "event_type": "e", "value": b"v"}
                    for key in keys
                ],
            )

    async def unsent(self) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(self.outbox).where(self.outbox.c.sent_at.is_(None))
                )
                or 0
            )


@pytest.fixture
async def rig(stack_env: dict[str, str]) -> AsyncIterator[Rig]:
    name = f"outbox_check_{uuid.uuid4().hex[:8]}"
    owner = await connect_as(stack_env, "intake", owner=True)
    await owner.execute(f"CREATE TABLE intake.{name} (LIKE intake.outbox INCLUDING ALL)")
    await owner.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON intake.{name} TO {stack_env['CLAIMFLOW_INTAKE_DB_USER']}"
    )
    scratch = infra_tables(MetaData(schema="intake")).outbox.to_metadata(MetaData(), name=name)
    settings = load_settings(ServiceSettings).model_copy(update={"service_name": "intake"})
    engine = create_engine(settings, pool_size=2)
    sessions = create_sessionmaker(engine)
    producer = RecordingProducer()
    relay = OutboxRelay(
        service=f"check-{name}",
        sessions=sessions,
        tables=SimpleNamespace(outbox=scratch),  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        batch_size=2,
    )
    try:
        yield Rig(sessions, scratch, producer, relay)
    finally:
        await engine.dispose()
        await owner.execute(f"DROP TABLE intake.{name}")
        await owner.close()


async def test_a_batch_is_claimed_in_one_statement_and_published_in_id_order(rig: Rig) -> None:
    await rig.add("a", "b", "c")

    with statements_sent(rig.sessions) as first:
        assert await rig.relay.publish_batch() == 2  # the batch size
    with statements_sent(rig.sessions) as second:
        assert await rig.relay.publish_batch() == 1
    with statements_sent(rig.sessions) as third:
        assert await rig.relay.publish_batch() == 0
    with statements_sent(rig.sessions) as idle:
        assert await rig.relay.publish_batch() == 0

    assert [key for _, key, _ in rig.producer.sent] == [b"a", b"b", b"c"]
    assert await rig.unsent() == 0
    # The idle check then the claim; while busy the claim alone (once more to find nothing); idle, the check alone.
    assert [len(first), len(second), len(third), len(idle)] == [2, 1, 1, 1], (first, second, third, idle)
    assert "UPDATE" in first[1]
    assert "sent_at IS NULL" in idle[0]


async def test_a_failed_acknowledgement_leaves_the_batch_unsent(rig: Rig) -> None:
    await rig.add("a", "b")
    rig.producer.fail = True

    with pytest.raises(ConnectionError):
        await rig.relay.publish_batch()

    assert await rig.unsent() == 2
    rig.producer.fail = False
    assert await rig.relay.publish_batch() == 2
    assert [key for _, key, _ in rig.producer.sent] == [b"a", b"b", b"a", b"b"]  # sent again, in order


async def test_a_relay_that_does_not_lead_publishes_nothing(rig: Rig) -> None:
    await rig.add("a")
    async with rig.sessions() as session, session.begin():  # another relay of the service, mid-batch
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": rig.relay._lock_key})
        assert await rig.relay.publish_batch() == 0
        assert await rig.unsent() == 1
    assert await rig.relay.publish_batch() == 1
    assert rig.producer.sent == [("t", b"a", b"v")]


async def test_rows_sent_longer_ago_than_the_retention_are_purged_and_the_others_kept(rig: Rig) -> None:
    await rig.add("old-1", "old-2", "recent", "unsent")
    async with rig.sessions() as session, session.begin():
        outbox = rig.outbox
        await session.execute(
            outbox.update()
            .where(outbox.c.message_key.in_(["old-1", "old-2"]))
            .values(sent_at=func.now() - text("interval '25 hours'"))
        )
        await session.execute(
            outbox.update()
            .where(outbox.c.message_key == "recent")
            .values(sent_at=func.now() - text("interval '1 hour'"))
        )
    rig.relay.retention_hours = 24

    assert await rig.relay.purge_sent() == 2

    async with rig.sessions() as session:
        kept = (await session.scalars(select(rig.outbox.c.message_key).order_by(rig.outbox.c.id))).all()
    assert kept == ["recent", "unsent"]


async def test_the_relay_purges_as_it_runs(rig: Rig) -> None:
    await rig.add("old")
    async with rig.sessions() as session, session.begin():
        await session.execute(rig.outbox.update().values(sent_at=func.now() - text("interval '2 days'")))
    rig.relay.retention_hours = 24
    stop = asyncio.Event()
    running = asyncio.create_task(rig.relay.run(stop))

    async def purged() -> bool:
        async with rig.sessions() as session:
            return not (await session.scalar(select(func.count()).select_from(rig.outbox)))

    try:
        for _ in range(200):
            if await purged():
                break
            await asyncio.sleep(0.05)
        assert await purged(), "the running relay did not purge a row sent two days ago"
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
