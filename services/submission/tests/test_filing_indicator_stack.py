"""The claim filing indicator (837P SBR09) comes from the payer profile in force on the date of service, on the real
database: Medicare Part B is MB, Medicaid MC, a Blue Cross plan BL, and a payer whose profile names none and whose type
says nothing is held by the scrubber with the reason."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.handlers import HANDLERS, REFERENCE_HANDLERS
from submission.models import claims, paused_senders
from submission.sender import prepare_batch

from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.reference import PayerProfile, PayerRef, ReferenceUpserted
from shared.x12 import tokenize

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 14)


async def _handle(sessions: Any, organization_id: uuid.UUID, handlers: Any, event_type: str, payload: Any) -> None:
    _, event = build_event(
        event_type,
        payload,
        source="coding",
        subject="x",
        organization_id=organization_id,
        business_date=date(2026, 9, 15),
        correlation_id=str(uuid.uuid4()),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await handlers[event_type](session, event)


@pytest.mark.parametrize(
    ("profile", "sbr09"),
    [
        ({"payer_type": "medicare"}, "MB"),
        ({"payer_type": "medicaid"}, "MC"),
        ({"payer_type": "commercial", "claim_filing_indicator": "BL"}, "BL"),
        ({"payer_type": "commercial", "claim_filing_indicator": "HM"}, "HM"),
        ({"payer_type": "other", "claim_filing_indicator": "VA"}, "VA"),
    ],
)
async def test_a_claim_goes_out_with_the_claim_filing_indicator_of_its_payer_profile(
    sessions: Any, charges: Any, tmp_path: Path, profile: dict[str, Any], sbr09: str
) -> None:
    organization_id, payer_id = uuid.uuid4(), uuid.uuid4()
    terms = PayerProfile(effective_from=date(2026, 1, 1), credentialing_required=False, **profile)
    payer = PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[terms])
    await _handle(
        sessions,
        organization_id,
        REFERENCE_HANDLERS,
        "reference.upserted",
        ReferenceUpserted(entity_id=str(payer_id), entity=payer),
    )
    base = charges.make(date_of_service=DOS)
    charge = base.model_copy(update={"coverage": base.coverage.model_copy(update={"payer_id": payer_id})})
    await _handle(sessions, organization_id, HANDLERS, "charge.created", charge)

    batch = await prepare_batch(sessions, organization_id, SubmissionSettings())
    assert batch is not None, "the claim should have been queued"
    assert [s.element(9) for s in tokenize(batch.file_text)[1] if s.tag == "SBR"] == [sbr09]
    ok, output = charges.pyx12_verdict(batch.file_text, tmp_path, "sbr09.837")
    assert ok, output


async def test_a_claim_whose_payer_names_no_claim_filing_indicator_is_held_with_the_reason(
    sessions: Any, charges: Any
) -> None:
    organization_id, payer_id = uuid.uuid4(), uuid.uuid4()
    profiles = [PayerProfile(effective_from=date(2026, 1, 1), payer_type="other", credentialing_required=False)]
    payer = PayerRef(name="Workers Comp Plan", x12_payer_id="SBX01", profiles=profiles)
    await _handle(
        sessions,
        organization_id,
        REFERENCE_HANDLERS,
        "reference.upserted",
        ReferenceUpserted(entity_id=str(payer_id), entity=payer),
    )
    base = charges.make(date_of_service=DOS)
    charge = base.model_copy(update={"coverage": base.coverage.model_copy(update={"payer_id": payer_id})})
    await _handle(sessions, organization_id, HANDLERS, "charge.created", charge)
    async with unit_of_work(sessions, organization_id) as session:
        claim = (await session.execute(select(claims).where(claims.c.charge_id == charge.charge_id))).one()
    assert claim.status == "held"
    assert "PAYER-FILING-INDICATOR" in {edit["rule_id"] for edit in claim.scrub_edits if edit["severity"] == "error"}
    assert "claim filing indicator (SBR09) is unknown" in claim.status_reason
    assert await prepare_batch(sessions, organization_id, SubmissionSettings()) is None
