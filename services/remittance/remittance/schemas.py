"""HTTP contract of the remittance service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class PostedClaimView(BaseModel):
    """One CLP posted from a file."""

    claim_id: str
    posting_id: uuid.UUID
    kind: str
    claim_status_code: str
    paid_amount: Decimal
    denied_amount: Decimal
    is_denial: bool
    root_cause: str | None
    first_adjudication: bool
    unclassified_codes: list[str]


class UnmatchedInFile(BaseModel):
    """A CLP not posted from a file, with the reason."""

    claim_id: str
    reason: str
    detail: str


class DiscrepancyView(BaseModel):
    """A balancing rule of DOMAIN.md 5.1 that does not hold."""

    rule: str
    trace_number: str
    claim_id: str | None
    line_number: int | None
    expected: Decimal
    actual: Decimal
    detail: str


class EraReceiptView(BaseModel):
    """What posting an 835 did: every CLP is either posted or listed as unmatched with its reason."""

    file_id: uuid.UUID
    status: str
    payments: list[dict[str, Any]]
    claims_posted: list[PostedClaimView]
    unmatched: list[UnmatchedInFile]
    discrepancies: list[DiscrepancyView]
    warnings: list[str]
    unclassified_codes: list[str]


class PostingView(BaseModel):
    """A posting row as billing staff see it."""

    posting_id: uuid.UUID
    claim_id: str
    kind: str
    claim_status_code: str
    trace_number: str
    payment_date: date
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal
    contractual_amount: Decimal
    denied_amount: Decimal
    patient_denied_amount: Decimal
    adjustments: list[dict[str, Any]]
    is_denial: bool
    first_adjudication: bool


class RemittanceFileView(BaseModel):
    """A stored 835 file with what it posted."""

    file_id: uuid.UUID
    source: str
    status: str
    received_at: datetime
    refusal: dict[str, Any] | None
    summary: dict[str, Any]
    postings: list[PostingView]


class UnmatchedView(BaseModel):
    """An entry of the unmatched-remittances work queue."""

    unmatched_id: uuid.UUID
    file_id: uuid.UUID
    claim_id: str
    payer_claim_number: str | None
    reason: str
    detail: str
    status: str
    created_at: datetime


class DenialView(BaseModel):
    """An entry of the denials work queue, with its root cause, owner and first action."""

    denial_id: uuid.UUID
    claim_id: str
    charge_id: str | None
    practice_id: uuid.UUID | None
    root_cause: str
    owner: str
    first_action: str
    reason_codes: list[str]
    remark_codes: list[str]
    denied_amount: Decimal
    patient_billable: bool
    initial: bool
    payment_date: date
    status: str
