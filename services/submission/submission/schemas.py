"""HTTP contract of the submission service."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.dates import CalendarDate

ClaimStatusName = Literal["held", "queued", "batched", "sent", "rejected", "adjudicated", "voided"]
QueueName = Literal[
    "scrubber_hold",
    "rejection",
    "no_response",
    "correction",
    "reauthorization",
    "timely_filing_risk",
    "repeat_rejection",
]


# The shapes intake takes for the same fields: a CPT (4 digits and a digit or letter) or HCPCS (a letter and 4 digits)
# code, and a two-character modifier.
ProcedureCode = Annotated[
    str, Field(pattern=r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$", examples=["90834"], description="CPT or HCPCS code")
]
Modifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$", examples=["95"])]


class AcknowledgementView(BaseModel):
    """A 999 or 277CA outcome recorded for an attempt."""

    kind: str
    status_code: str
    outcome: str
    reason: str | None
    acknowledged_date: CalendarDate
    attempt_number: int
    batch_control_number: int


class AttemptView(BaseModel):
    """One attempt of a claim (original, replacement or void)."""

    attempt_number: int
    frequency_code: str
    status: str
    business_date: CalendarDate
    submitted_date: CalendarDate | None
    batch_control_number: int | None
    rework_of_attempt: int | None = None
    manually_touched: bool = False


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
    date_of_service: CalendarDate
    billed_amount: Decimal
    status: str
    status_reason: str | None
    scrub_edits: list[dict[str, Any]]
    payer_claim_number: str | None = None
    adjudicated_date: CalendarDate | None = None
    manually_touched: bool = False
    attempts: list[AttemptView] = []
    acknowledgements: list[AcknowledgementView] = []


class WorkItemView(BaseModel):
    """A claim waiting in a work queue: why, and what to do about it."""

    id: int
    claim_id: str
    queue: str
    reason_code: str
    reason: str
    action: str
    opened_date: CalendarDate
    status: str
    resolved_date: CalendarDate | None
    resolution: str | None
    claim_status: str
    payer_id: uuid.UUID
    date_of_service: CalendarDate
    billed_amount: Decimal


class CorrectedLine(BaseModel):
    """A service line as a person corrects it."""

    model_config = ConfigDict(extra="forbid")

    line_number: int = Field(ge=1, le=50)
    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4, examples=[["95"]])
    units: int = Field(ge=1, le=99)
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=4)
    place_of_service: str = Field(pattern=r"^[0-9]{2}$", examples=["11"])
    amount: Decimal = Field(gt=0, max_digits=10, decimal_places=2)


class ClaimCorrectionRequest(BaseModel):
    """A person's correction of a claim before it is sent again; omitted fields stay as they are.

    An empty body resubmits the claim unchanged (for example after a no-response follow-up)."""

    model_config = ConfigDict(extra="forbid")

    diagnoses: list[str] | None = Field(
        default=None, min_length=1, max_length=12, description="ICD-10-CM codes, principal first (replaces all)"
    )
    lines: list[CorrectedLine] | None = Field(
        default=None, min_length=1, max_length=50, description="Service lines (replace all lines)"
    )
    authorization_number: str | None = Field(default=None, min_length=1, max_length=50)
    member_id: str | None = Field(default=None, min_length=1, max_length=80)
    group_number: str | None = Field(default=None, min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=500, description="Why the claim was corrected")


class VoidRequest(BaseModel):
    """Withdraw a claim: cancelled when the payer never got it, sent as a void (frequency 8) when it did."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class SweepRequest(BaseModel):
    """Open the work items due on a business date (no response, timely-filing risk)."""

    model_config = ConfigDict(extra="forbid")

    as_of: CalendarDate | None = Field(
        default=None, description="Business date; the organization's latest one when omitted"
    )


class SweepResult(BaseModel):
    """How many items a sweep opened per queue."""

    as_of: CalendarDate
    opened: dict[str, int]
