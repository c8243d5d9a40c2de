"""How many statements remittance sends to PostgreSQL per claim of an 835 and per claim.submitted it learns.

Statements are most of what posting costs (docs/performance.md): a file takes all its claims' locks in one
statement, then each CLP reads its claim (with whether it was posted before) and writes the posting, its event and
the payer's claim number in one statement; the practice's fee schedule with the payer is read once per file (an
underpaid line adds its flag). Counted on the test's own engine.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from remittance.files import receive_era
from remittance.handlers import HANDLERS, PREPARE_CLAIMS_BATCH
from remittance.models import claims, postings, underpayments
from sqlalchemy import select, text

from services.remittance.tests.support import claim_submitted_event, replicate, submit_claim, tag
from shared.db import unit_of_work
from shared.events.reference import FeeScheduleEntryRef
from tests.db import statements_sent

pytestmark = pytest.mark.stack
PER_CLAIM = 2  # the claim, the posting with its event and the payer's claim number (the file took the locks)


async def _post(stack_sessions, org, eras, claim_ids: list[str], trace: str) -> int:
    """Statements of receiving one 835 paying the claims; every CLP must be posted."""
    loops = [eras.paid.format(claim=claim_id).replace("PCN-PAID-1", f"PCN-{claim_id}") for claim_id in claim_ids]
    with statements_sent(stack_sessions) as sent:
        receipt = await receive_era(
            stack_sessions,
            organization_id=org,
            raw=eras.text(loops, payment=str(100 * len(claim_ids)), trace=trace).encode(),
            source="test",
        )
    assert receipt.status == "posted", receipt
    assert sorted(p["claim_id"] for p in receipt.summary["claims_posted"]) == sorted(claim_ids)
    return len(sent)


async def test_each_claim_of_an_835_costs_two_statements(stack_sessions, org, eras) -> None:
    t = tag()
    practice, payer = uuid.uuid4(), uuid.uuid4()
    entry = FeeScheduleEntryRef(
        practice_id=practice,
        payer_id=payer,
        code="90834",
        amount=Decimal("120.00"),
        effective_from=date(2026, 1, 1),
    )
    await replicate(stack_sessions, org, f"fee-{t}", entry)
    claim_ids = [f"R{t}{number}" for number in range(6)]
    for claim_id in claim_ids:
        await submit_claim(stack_sessions, org, claim_id, practice_id=practice, payer_id=payer)

    one = await _post(stack_sessions, org, eras, claim_ids[:1], f"A{t}")
    five = await _post(stack_sessions, org, eras, claim_ids[1:], f"B{t}")

    assert five - one == 4 * PER_CLAIM, (one, five)
    async with unit_of_work(stack_sessions, org) as session:
        numbers = dict((await session.execute(select(claims.c.claim_id, claims.c.payer_claim_number))).all())
        first = (await session.scalars(select(postings.c.first_adjudication))).all()
        flagged = (await session.scalars(select(underpayments.c.claim_id))).all()
    assert numbers == {claim_id: f"PCN-{claim_id}" for claim_id in claim_ids}  # learned from CLP07
    assert first == [True] * 6
    assert flagged == []  # 120 allowed, as contracted


async def test_a_claim_submitted_costs_three_statements(stack_sessions, org) -> None:
    event = claim_submitted_event(org, f"S{tag()}")
    async with unit_of_work(stack_sessions, org) as session:
        with statements_sent(stack_sessions) as sent:
            await HANDLERS["claim.submitted"](session, event)
        stored = (
            await session.execute(select(claims.c.attempt_number).where(claims.c.claim_id == event.subject))
        ).one()
    assert stored.attempt_number == 1
    assert len(sent) == 3, sent  # the claim lock, the claim stored and read back, the remittances waiting for it


async def test_a_batch_of_claim_submitted_takes_its_locks_in_one_statement_up_front(stack_sessions, org) -> None:
    events = [claim_submitted_event(org, f"L{tag()}{number}") for number in range(4)]
    async with unit_of_work(stack_sessions, org) as session:
        with statements_sent(stack_sessions) as prepared:
            await PREPARE_CLAIMS_BATCH(session, events)
        with statements_sent(stack_sessions) as handled:
            for event in events:
                await HANDLERS["claim.submitted"](session, event)
        held = await session.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted")
        )
    assert len(prepared) == 1, prepared
    assert len(handled) == 2 * len(events), handled  # each claim stored and read back, its waiting remittances
    assert held == len(events)


async def test_a_claim_whose_remittance_waited_is_posted_in_six_statements(stack_sessions, org, eras) -> None:
    t = tag()
    early = f"W{t}"
    receipt = await receive_era(
        stack_sessions,
        organization_id=org,
        raw=eras.text([eras.paid.format(claim=early)], payment="100", trace=f"W{t}").encode(),
        source="test",
    )
    assert [u["reason"] for u in receipt.summary["unmatched"]] == ["unknown_claim"]  # paid before it was known
    event = claim_submitted_event(org, early)
    async with unit_of_work(stack_sessions, org) as session:
        with statements_sent(stack_sessions) as sent:
            await HANDLERS["claim.submitted"](session, event)
        first = await session.scalar(select(postings.c.first_adjudication).where(postings.c.claim_id == early))
    # The claim lock, the claim stored and read back, the waiting CLPs (with whether the claim was posted before),
    # the practice's fee schedule with the payer (once per unit of work), the posting with its event and claim
    # number, the CLP marked posted.
    assert len(sent) == 6, [statement.split()[:4] for statement in sent]
    assert first is True
