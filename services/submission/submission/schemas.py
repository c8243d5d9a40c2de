"""HTTP contract of the submission service."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

ClaimStatusName = Literal["held", "queued", "batched", "sent", "rejected", "voided"]


class AcknowledgementView(BaseModel):
    """A 999 or 277CA outcome recorded for an attempt."""

    kind: str
    status_code: str
    outcome: str
    reason: str | None
    acknowledged_date: date
    attempt_number: int
    batch_control_number: int


class AttemptView(BaseModel):
    """One attempt of a claim (original, replacement or void)."""

    attempt_number: int
    frequency_code: str
    status: str
    business_date: date
    submitted_date: date | None
    batch_control_number: int | None


class ClaimView(BaseModel):
    """A claim as billing staff see it: status, the reason it waits in a queue, scrub edits and acknowledgements."""

    claim_id: str
    charge_id: str
    practice_id: uuid.UUID
    payer_id: uuid.UUID
    provider_id: uuid.UUID
    patient_id: uuid.UUID
    payer_priority: str
    program: str
    date_of_service: date
    billed_amount: Decimal
    status: str
    status_reason: str | None
    scrub_edits: list[dict[str, Any]]
    attempts: list[AttemptView] = []
    acknowledgements: list[AcknowledgementView] = []
