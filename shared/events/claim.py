"""Payloads of claimflow.claim-submitted.v1 and claimflow.claim-acknowledged.v1."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.dates import CalendarDate
from shared.events.charge import HoldReason
from shared.events.envelope import Payload

# Claim ids are 'CF' + 16 Crockford base32 characters: at most 20 characters, as CLP01 must return them. A
# remittance line whose CLP01 has this shape is ours even when the claim is not known yet (its claim.submitted may
# still be on its way), so it is never matched to another claim by a fallback.
CLAIM_ID_PATTERN = re.compile(r"^CF[0-9A-HJKMNP-TV-Z]{16}$")


def is_claim_id(text: str) -> bool:
    """Whether a CLM01/CLP01 value has the shape of a Claimflow claim id."""
    return CLAIM_ID_PATTERN.fullmatch(text) is not None


Frequency = Literal["1", "7", "8"]


class ScrubEdit(Payload):
    """One scrubber finding: rule id, severity and plain-language reason."""

    rule_id: str
    severity: Literal["error", "warning"]
    reason: str


class ClaimLine(Payload):
    """A billed service line as it went out on the 837P."""

    line_number: int
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: int
    amount: Decimal


class ClaimFacts(Payload):
    """Ids and amounts every claim event carries so KPIs can slice them."""

    claim_id: str = Field(max_length=20, description="CLM01 patient control number")
    charge_id: str
    payer_id: uuid.UUID
    provider_id: uuid.UUID
    patient_id: uuid.UUID
    program: str
    date_of_service: CalendarDate
    charge_posted_date: CalendarDate
    billed_amount: Decimal
    payer_priority: Literal["primary", "secondary", "tertiary"] = "primary"


class ClaimSubmitted(ClaimFacts):
    """Emitted by submission when an attempt of a claim is sent to the clearinghouse."""

    attempt_number: int = Field(ge=1)
    frequency_code: Frequency
    submitted_date: CalendarDate
    scrub_passed: bool
    scrub_edits: list[ScrubEdit] = Field(default_factory=list)
    manually_touched: bool = False
    rework_of_attempt: int | None = None
    payer_claim_number: str | None = None
    batch_control_number: str
    lines: list[ClaimLine]
    member_id: str | None = Field(
        default=None,
        description="Member id sent in NM1*IL; remittance matches an 835 by patient, date and amount with it",
    )


class ClaimHeld(ClaimFacts):
    """Emitted by submission when the scrubber holds a claim before it is sent."""

    attempt_number: int = 1
    held_date: CalendarDate
    scrub_edits: list[ScrubEdit]
    reasons: list[HoldReason] = Field(default_factory=list)


class ClaimVoided(Payload):
    """Emitted by submission when a claim is withdrawn (its charge voided)."""

    claim_id: str
    charge_id: str
    voided_date: CalendarDate
    reason: str


class ClaimAcknowledged(Payload):
    """Emitted by submission when a 999 or 277CA outcome for an attempt is recorded."""

    claim_id: str
    attempt_number: int
    payer_id: uuid.UUID
    acknowledgement: Literal["999", "277CA"]
    outcome: Literal["accepted", "accepted_with_errors", "rejected", "received"]
    status_code: str = Field(description="IK5/AK9 code (A, E, R, ...) or STC01 category (A1, A2, A3, ...)")
    reason: str | None = None
    acknowledged_date: CalendarDate
