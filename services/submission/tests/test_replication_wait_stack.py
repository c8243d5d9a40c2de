"""A message that needs reference data not yet replicated waits for it instead of being handled without it
(payers and providers travel on the reference topic and can arrive a moment after the charge that names them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from submission.models import infra

from shared.db import unit_of_work
from shared.failures import NotYetReplicated, is_transient
from shared.observability import event_time_var
from shared.replica import REPLICATION_GRACE, _store, required_reference

pytestmark = pytest.mark.stack


async def lookup(
    sessions: Any, organization_id: uuid.UUID, entity_id: str, recorded: datetime | None, *, precedes: bool = False
) -> Any:
    token = event_time_var.set(recorded)
    try:
        async with unit_of_work(sessions, organization_id) as session:
            return await required_reference(session, infra, "payer", entity_id, organization_precedes=precedes)
    finally:
        event_time_var.reset(token)


async def known_organization(sessions: Any, organization_id: uuid.UUID, now: datetime) -> None:
    async with unit_of_work(sessions, organization_id) as session:
        await _store(
            session, infra, organization_id, "organization", str(organization_id), {}, deleted=False, event_time=now
        )


async def test_a_young_message_waits_for_its_payer_and_reads_it_once_replicated(sessions: Any) -> None:
    organization_id, payer_id = uuid.uuid4(), str(uuid.uuid4())
    now = datetime.now(UTC)
    await known_organization(sessions, organization_id, now)
    with pytest.raises(NotYetReplicated) as raised:
        await lookup(sessions, organization_id, payer_id, now)
    assert is_transient(raised.value)  # the consumer retries it rather than dead-lettering it
    async with unit_of_work(sessions, organization_id) as session:
        await _store(
            session, infra, organization_id, "payer", payer_id, {"name": "Acme"}, deleted=False, event_time=now
        )
    assert await lookup(sessions, organization_id, payer_id, now) == {"name": "Acme"}


async def test_a_message_from_intake_waits_for_an_organization_not_replicated_yet(sessions: Any) -> None:
    # Intake publishes the organization before its payers and visits, but a busy service can read the visit first.
    organization_id, payer_id = uuid.uuid4(), str(uuid.uuid4())
    now = datetime.now(UTC)
    with pytest.raises(NotYetReplicated):
        await lookup(sessions, organization_id, payer_id, now, precedes=True)
    assert await lookup(sessions, organization_id, payer_id, now) is None  # from elsewhere: nothing will follow
    old = now - REPLICATION_GRACE - timedelta(seconds=1)
    assert await lookup(sessions, organization_id, payer_id, old, precedes=True) is None


async def test_an_old_message_a_deleted_payer_or_a_call_outside_a_consumer_falls_back_to_no_payer(
    sessions: Any,
) -> None:
    organization_id, missing, deleted = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    assert await lookup(sessions, organization_id, missing, now) is None  # nothing of this organization replicated
    await known_organization(sessions, organization_id, now)
    assert await lookup(sessions, organization_id, missing, now - REPLICATION_GRACE - timedelta(seconds=1)) is None
    assert await lookup(sessions, organization_id, missing, None) is None
    async with unit_of_work(sessions, organization_id) as session:
        await _store(session, infra, organization_id, "payer", deleted, {}, deleted=True, event_time=now)
    assert await lookup(sessions, organization_id, deleted, now) is None
