"""The scrubber on the real database: payer profile and provider from the replica, stored visit counts and
authorization units, a hold in the work queue, units given back on void."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.corrections import void_claims_of_charge
from submission.handlers import REFERENCE_HANDLERS
from submission.models import authorization_usage, claims, paused_senders, send_queue, visits, work_items
from submission.service import create_claim_for_charge

from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.charge import ChargeVoided
from shared.events.reference import (
    AuthorizationPolicy,
    Credentialing,
    PayerProfile,
    PayerRef,
    ProviderRef,
    ReferenceUpserted,
    VisitLimit,
)

pytestmark = pytest.mark.stack
SUBMITTED = date(2026, 9, 15)


def _context(organization_id: uuid.UUID, subject: str, business_date: date = SUBMITTED) -> dict[str, Any]:
    return {
        "source": "coding",
        "subject": subject,
        "organization_id": organization_id,
        "business_date": business_date,
        "correlation_id": str(uuid.uuid4()),
    }


async def _replicate(sessions: Any, organization_id: uuid.UUID, entity_id: uuid.UUID, entity: Any) -> None:
    _, event = build_event(
        "reference.upserted",
        ReferenceUpserted(entity_id=str(entity_id), entity=entity),
        **{**_context(organization_id, str(entity_id)), "source": "intake"},
    )
    async with unit_of_work(sessions, organization_id) as session:
        await REFERENCE_HANDLERS["reference.upserted"](session, event)


async def _charge(sessions: Any, organization_id: uuid.UUID, charge: Any) -> Any:
    _, event = build_event("charge.created", charge, **_context(organization_id, charge.charge_id))
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await create_claim_for_charge(session, event)
        row = (await session.execute(select(claims).where(claims.c.charge_id == charge.charge_id))).one()
    return row


async def test_stored_visits_and_authorization_units_hold_the_third_visit_and_a_void_gives_units_back(
    sessions: Any, charges: Any
) -> None:
    organization_id = uuid.uuid4()
    payer_id, provider_id, patient_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # The payer wants auth for 90834 and pays 2 psychotherapy visits per calendar year; the provider is enrolled.
    profile = PayerProfile(
        effective_from=date(2026, 1, 1),
        timely_filing_days=90,
        authorization=AuthorizationPolicy(mode="listed_codes", codes=["90834"]),
        visit_limits=[VisitLimit(visits=2)],
    )
    await _replicate(
        sessions, organization_id, payer_id, PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[profile])
    )
    base = charges.make()
    await _replicate(
        sessions,
        organization_id,
        provider_id,
        ProviderRef(
            practice_id=base.practice.practice_id,
            first_name="Ana",
            last_name="Rivera",
            npi=base.provider.npi,
            taxonomy=base.provider.taxonomy,
            license_type="LPC",
            credentialing=[Credentialing(payer_id=payer_id, effective_from=date(2026, 1, 1))],
        ),
    )
    coverage = base.coverage.model_copy(update={"payer_id": payer_id})
    provider = base.provider.model_copy(update={"provider_id": provider_id})
    patient = base.patient.model_copy(update={"patient_id": patient_id})
    # 4 units approved, 1 already used elsewhere before the authorization was imported.
    auth = charges.authorization().model_copy(update={"payer_id": payer_id, "units_approved": 4, "units_used": 1})

    def visit(day: int) -> Any:
        return charges.make(
            date_of_service=date(2026, 9, day),
            coverage=coverage,
            provider=provider,
            patient=patient,
            authorization=auth,
        )

    first, second, third = visit(1), visit(8), visit(14)
    first_claim = await _charge(sessions, organization_id, first)
    second_claim = await _charge(sessions, organization_id, second)
    assert (first_claim.status, second_claim.status) == ("queued", "queued")
    assert first_claim.scrub_edits == []
    third_claim = await _charge(sessions, organization_id, third)
    # Two billed visits reach the limit of 2; units: 1 elsewhere + 2 consumed + 1 wanted = 4 of 4, still fine.
    assert third_claim.status == "held"
    assert [e["rule_id"] for e in third_claim.scrub_edits] == ["VISIT-LIMIT"]
    async with unit_of_work(sessions, organization_id) as session:
        usage = (await session.execute(select(authorization_usage.c.claim_id, authorization_usage.c.units))).all()
        held_items = (await session.execute(select(work_items).where(work_items.c.status == "open"))).all()
        queued = {
            row.claim_id
            for row in (
                await session.execute(
                    select(send_queue.c.claim_id).where(send_queue.c.organization_id == organization_id)
                )
            ).all()
        }
        billed = dict((await session.execute(select(visits.c.claim_id, visits.c.billed))).all())
    assert sorted(usage) == sorted([(first_claim.claim_id, 1), (second_claim.claim_id, 1)])
    assert [(i.claim_id, i.queue, i.reason_code) for i in held_items] == [
        (third_claim.claim_id, "scrubber_hold", "VISIT-LIMIT")
    ]
    assert "2 visits" in held_items[0].reason
    assert queued == {first_claim.claim_id, second_claim.claim_id}
    assert billed == {first_claim.claim_id: True, second_claim.claim_id: True, third_claim.claim_id: False}

    # The second visit's charge is withdrawn before it was sent: its unit comes back and it stops counting.
    _, voided = build_event(
        "charge.voided",
        ChargeVoided(charge_id=second.charge_id, reason="entered in error"),
        **_context(organization_id, second.charge_id, date(2026, 9, 16)),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await void_claims_of_charge(session, voided)
        released = (
            await session.execute(
                select(authorization_usage.c.released_date).where(
                    authorization_usage.c.claim_id == second_claim.claim_id
                )
            )
        ).scalar_one()
    assert released == date(2026, 9, 16)
    fourth = await _charge(sessions, organization_id, visit(15))
    assert (fourth.status, fourth.scrub_edits) == ("queued", [])
