"""How many statements coding sends to PostgreSQL for an encounter it codes.

Statements are most of what coding costs (docs/performance.md): once a consumer's batch has read the practice's fee
schedule and the replicated payer and provider, an encounter takes three: whether it was coded before (charges and
care-management minutes in one query), the patient's history, and the charge with its event. Counted on the test's own
engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from coding.config import CodingSettings
from coding.handlers import HANDLERS
from coding.models import charges
from sqlalchemy import select

from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalogue import build_event
from shared.events.encounter import EncounterFacts, EncounterReceived
from shared.settings import load_settings
from tests.db import outbox_rows, statements_sent

pytestmark = pytest.mark.stack


def received(organization_id: uuid.UUID, facts: EncounterFacts) -> Any:
    _, event = build_event(
        "encounter.received",
        EncounterReceived.model_validate(facts.model_dump()),
        source="intake",
        subject=str(facts.encounter_id),
        organization_id=organization_id,
        business_date=date(2026, 10, 1),
        correlation_id=str(facts.encounter_id),
    )
    return event


async def test_an_encounter_is_coded_in_three_statements(
    stack_env: dict[str, str], visit: Callable[..., EncounterFacts]
) -> None:
    engine = create_engine(load_settings(CodingSettings), pool_size=2)
    sessions = create_sessionmaker(engine)
    organization_id = uuid.uuid4()
    first = visit(psychotherapy=53)
    practice = {
        "practice_id": first.practice.practice_id,
        "provider_id": first.provider.provider_id,
        "payer_id": first.coverage.payer_id if first.coverage else None,
    }
    second, again = visit(psychotherapy=38, **practice), visit(psychotherapy=45, **practice)
    try:
        async with unit_of_work(sessions, organization_id) as session:
            await HANDLERS["encounter.received"](session, received(organization_id, first))
            with statements_sent(sessions) as coded:
                await HANDLERS["encounter.received"](session, received(organization_id, second))
            with statements_sent(sessions) as redelivered:
                await HANDLERS["encounter.received"](session, received(organization_id, second))
            await HANDLERS["encounter.received"](session, received(organization_id, again))
        async with unit_of_work(sessions, organization_id) as session:
            stored = (await session.scalars(select(charges.c.charge_id).order_by(charges.c.charge_id))).all()
    finally:
        await engine.dispose()
    rows = await outbox_rows(
        stack_env,
        "coding",
        "SELECT message_key FROM coding.outbox WHERE event_type = 'charge.created' AND message_key = ANY($1::text[])",
        list(stored),
    )
    announced = [row["message_key"] for row in rows]

    assert len(coded) == 3, coded
    assert len(redelivered) == 1, redelivered  # coded before: nothing else is read or written
    assert len(stored) == 3
    assert sorted(set(announced) & set(stored)) == stored  # each charge announced with it
