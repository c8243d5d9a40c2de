"""Claim locks: a transaction that needs several takes them in one order, whatever order it names them in, so two
such transactions (an 835 file and a batch of claim.submitted sharing claims) wait for each other, never deadlock."""

from __future__ import annotations

import asyncio

import pytest
from remittance.matching import lock_claim_id, lock_claim_ids
from sqlalchemy import func, select, text

from services.remittance.tests.support import tag
from shared.db import unit_of_work
from tests.db import statements_sent

pytestmark = pytest.mark.stack

LOCKS_OF = text(
    "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks "
    "WHERE locktype = 'advisory' AND pid = :pid"
)


async def test_several_claim_locks_are_taken_in_key_order_whatever_order_they_are_named_in(stack_sessions, org) -> None:
    names = [f"K{tag()}{number}" for number in range(2)]
    async with unit_of_work(stack_sessions, org) as session:
        keys = {name: await session.scalar(select(func.hashtext(name))) for name in names}
    low, high = sorted(names, key=lambda name: keys[name])
    holding, release = asyncio.Event(), asyncio.Event()
    taker_pid: list[int] = []

    async def hold(claim_id: str) -> None:
        async with unit_of_work(stack_sessions, org) as session:
            await lock_claim_id(session, claim_id)
            holding.set()
            await release.wait()

    async def take(claim_ids: list[str]) -> None:
        async with unit_of_work(stack_sessions, org) as session:
            taker_pid.append(await session.scalar(select(func.pg_backend_pid())))
            await lock_claim_ids(session, claim_ids)

    holder = asyncio.create_task(hold(high))
    await asyncio.wait_for(holding.wait(), 10)
    taker = asyncio.create_task(take([high, low]))  # named high first
    try:
        locks = (0, 0)
        for _ in range(100):  # until the taker waits
            if taker_pid:
                async with unit_of_work(stack_sessions, None) as watcher:
                    locks = tuple((await watcher.execute(LOCKS_OF, {"pid": taker_pid[0]})).one())
                if locks[1]:
                    break
            await asyncio.sleep(0.05)
        # It holds the lower key and waits for the higher: asked in the order named, it would hold nothing.
        assert locks == (1, 1)
        assert not taker.done()
    finally:
        release.set()
        await holder
    await asyncio.wait_for(taker, 10)


async def test_a_claim_lock_already_held_is_not_asked_for_again(stack_sessions, org) -> None:
    names = [f"H{tag()}{number}" for number in range(3)]
    async with unit_of_work(stack_sessions, org) as session:
        with statements_sent(stack_sessions) as sent:
            await lock_claim_ids(session, names[:2])
            await lock_claim_id(session, names[0])
            await lock_claim_ids(session, names)
    assert len(sent) == 2, sent  # the first two, then only the third
    async with unit_of_work(stack_sessions, org) as session:  # a new transaction holds none of them
        with statements_sent(stack_sessions) as sent:
            await lock_claim_id(session, names[0])
    assert len(sent) == 1, sent
