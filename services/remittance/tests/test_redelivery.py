"""Integration: a file posted twice or an event delivered twice changes nothing the second time; PLB events."""

from __future__ import annotations

import uuid

import pytest
from remittance.handlers import HANDLERS
from remittance.models import denials, infra, payments, postings, provider_adjustments, unmatched_remittances
from sqlalchemy import select

from services.remittance.tests.support import (
    SETTINGS,
    api_key,
    claim_submitted_event,
    count,
    deliver,
    outbox_events,
    replicate,
    submit_claim,
    tag,
)
from shared.consumer import EventConsumer, RawMessage
from shared.db import unit_of_work
from shared.events.catalogue import CLAIM_SUBMITTED, serialize_event
from shared.events.reference import Address, PracticeRef
from shared.health import HealthReporter

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]


async def test_the_same_claim_submitted_event_delivered_twice_posts_the_waiting_remittance_once(
    stack_sessions, api, org, eras
) -> None:
    claim_id = f"W{tag()}"
    body = eras.text([eras.denied.format(claim=claim_id)], payment="0", trace=f"T{claim_id}")
    assert [u["reason"] for u in (await deliver(api, org, body)).json()["unmatched"]] == ["unknown_claim"]
    consumer = EventConsumer(
        settings=SETTINGS,
        name=f"redelivery-{uuid.uuid4().hex[:8]}",
        topics=(CLAIM_SUBMITTED,),
        handlers=HANDLERS,
        sessions=stack_sessions,
        tables=infra,
        health=HealthReporter(),
    )
    event = claim_submitted_event(org, claim_id)
    message = RawMessage(CLAIM_SUBMITTED, 0, 1, claim_id, serialize_event(event))

    assert await consumer.handle(message)
    before = [await count(stack_sessions, org, table) for table in (postings, denials)]
    assert await consumer.handle(RawMessage(CLAIM_SUBMITTED, 0, 2, claim_id, serialize_event(event)))

    assert before == [1, 1]
    assert [await count(stack_sessions, org, table) for table in (postings, denials)] == before
    assert [e["type"] for e in await outbox_events(claim_id)] == ["remittance.posted", "claim.denied"]


async def test_an_uploaded_file_posted_twice_is_409_and_posts_nothing_again(stack_sessions, api, org, eras) -> None:
    claim_id = f"U{tag()}"
    await submit_claim(stack_sessions, org, claim_id)
    headers = {**await api_key(stack_sessions, org), "Content-Type": "application/edi-x12"}
    body = eras.text([eras.paid.format(claim=claim_id), eras.cost_share.format(claim=f"X{claim_id}")], payment="100")
    body = body.replace("EFT0001", f"T{claim_id}")

    first = await api.post("/v1/era", content=body.encode(), headers=headers)
    second = await api.post("/v1/era", content=body.encode(), headers=headers)

    assert first.status_code == 200, first.text
    assert second.status_code == 409
    assert f"file {first.json()['file_id']}" in second.json()["detail"]
    assert await count(stack_sessions, org, postings) == 1
    async with unit_of_work(stack_sessions, org) as session:
        statuses = sorted((await session.execute(select(payments.c.status))).scalars())
    assert statuses == ["duplicate", "posted"]  # the duplicate file is listed with its payment, which never posts
    assert await count(stack_sessions, org, unmatched_remittances) == 1
    assert [e["type"] for e in await outbox_events(claim_id)] == ["remittance.posted"]


async def test_a_plb_is_stored_and_emitted_keyed_by_the_practice_whose_npi_it_names(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    practice_id = uuid.uuid4()
    npi = "1" + t[:9].translate(str.maketrans("ABCDEF", "123456"))
    address = Address(line1="1 Main St", city="Springfield", state="IL", postal_code="62701")
    await replicate(
        stack_sessions,
        org,
        str(practice_id),
        PracticeRef(name="Lakeside", npi=npi, tin="123456789", taxonomy="101YM0800X", address=address),
    )
    await submit_claim(stack_sessions, org, f"P{t}")
    body = eras.text(
        [eras.paid.format(claim=f"P{t}")], payment="75", trace=f"T{t}", plb=[f"PLB*{npi}*20261231*WO:R{t}*30*L6*-5"]
    )

    receipt = (await deliver(api, org, body)).json()

    assert receipt["discrepancies"] == []
    assert await count(stack_sessions, org, provider_adjustments) == 2
    events = await outbox_events(str(practice_id))
    assert [(e["type"], e["data"]["reason_code"], e["data"]["amount"]) for e in events] == [
        ("provider-adjustment.posted", "WO", "30.00"),
        ("provider-adjustment.posted", "L6", "-5.00"),
    ]
    assert events[0]["practiceid"] == str(practice_id)
    assert events[0]["businessdate"] == "2026-10-15"


async def test_a_batch_is_prepared_with_its_new_events_before_any_handler_runs(stack_sessions, org) -> None:
    seen: list[tuple[str, object]] = []

    async def prepare(_session, events) -> None:
        seen.append(("prepare", [event.id for event in events]))

    async def handler(_session, event) -> None:
        seen.append(("handle", event.id))

    consumer = EventConsumer(
        settings=SETTINGS,
        name=f"prepare-{uuid.uuid4().hex[:8]}",
        topics=(CLAIM_SUBMITTED,),
        handlers={"claim.submitted": handler},
        sessions=stack_sessions,
        tables=infra,
        health=HealthReporter(),
        prepare=prepare,
    )
    earlier, first, second = (claim_submitted_event(org, f"P{tag()}{number}") for number in range(3))
    assert await consumer.handle(RawMessage(CLAIM_SUBMITTED, 0, 1, earlier.subject, serialize_event(earlier)))
    seen.clear()

    batch = [
        RawMessage(CLAIM_SUBMITTED, 0, offset, event.subject, serialize_event(event))
        for offset, event in enumerate((earlier, first, second), start=2)
    ]
    assert await consumer.handle_batch(batch)

    # The event handled before is a duplicate: neither prepared for nor handled again.
    assert seen == [("prepare", [first.id, second.id]), ("handle", first.id), ("handle", second.id)]
