"""The claim filing indicator (837P SBR09) comes from the payer profile in force on the date of service, on the real
database: Medicare Part B is MB, Medicaid MC, a Blue Cross plan BL, and a payer whose profile names none and whose type
says nothing is held by the scrubber with the reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from submission.config import SubmissionSettings
from submission.models import claims
from submission.sender import prepare_batch

from shared.db import unit_of_work
from shared.x12 import tokenize

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 14)


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
    biller: Any, charges: Any, tmp_path: Path, profile: dict[str, Any], sbr09: str
) -> None:
    await biller.claim(charges.make(date_of_service=DOS), await biller.payer(**profile))
    batch = await prepare_batch(biller.sessions, biller.id, SubmissionSettings())
    assert batch is not None, "the claim should have been queued"
    assert [s.element(9) for s in tokenize(batch.file_text)[1] if s.tag == "SBR"] == [sbr09]
    ok, output = charges.pyx12_verdict(batch.file_text, tmp_path, "sbr09.837")
    assert ok, output


async def test_a_claim_whose_payer_names_no_claim_filing_indicator_is_held_with_the_reason(
    biller: Any, charges: Any
) -> None:
    claim_id = await biller.claim(charges.make(date_of_service=DOS), await biller.payer(payer_type="other"))
    async with unit_of_work(biller.sessions, biller.id) as session:
        claim = (await session.execute(select(claims).where(claims.c.claim_id == claim_id))).one()
    assert claim.status == "held"
    assert "PAYER-FILING-INDICATOR" in {edit["rule_id"] for edit in claim.scrub_edits if edit["severity"] == "error"}
    assert "claim filing indicator (SBR09) is unknown" in claim.status_reason
    assert await prepare_batch(biller.sessions, biller.id, SubmissionSettings()) is None
