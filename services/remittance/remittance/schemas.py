"""HTTP contract of the remittance service."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.dates import CalendarDate


class Request(BaseModel):
    """Base of request bodies: unknown fields are refused so clients cannot set server-owned ones."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


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
    """A balancing rule of DOMAIN.md 5.1 that does not hold, said in words; `holds` when it holds the file."""

    rule: str
    trace_number: str
    claim_id: str | None
    line_number: int | None
    expected: Decimal | None
    actual: Decimal | None
    detail: str
    holds: bool = True


FileStatus = Literal["posted", "held", "refused", "duplicate", "rejected", "superseded"]


class EraReceiptView(BaseModel):
    """What receiving an 835 did: posted (every CLP posted or listed as unmatched with its reason), or held whole for
    review because it does not balance (nothing posted; the discrepancies say why)."""

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
    payment_date: CalendarDate
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal
    contractual_amount: Decimal
    denied_amount: Decimal
    patient_denied_amount: Decimal
    adjustments: list[dict[str, Any]]
    is_denial: bool
    first_adjudication: bool


class ReviewView(BaseModel):
    """A person's decision on a held file."""

    action: Literal["posted", "rejected"]
    key_id: str
    user_id: uuid.UUID | None = None
    at: datetime
    note: str | None = None


class RemittanceFileView(BaseModel):
    """A stored 835 file with what it posted (a held file: its discrepancies, nothing posted)."""

    file_id: uuid.UUID
    source: str
    status: str
    received_at: datetime
    refusal: dict[str, Any] | None
    summary: dict[str, Any]
    review: ReviewView | None = None
    postings: list[PostingView]


class FilePaymentView(BaseModel):
    """A payment (BPR/TRN) an 835 file carries, whatever became of the file."""

    trace_number: str
    payer_key: str
    payer_identifier: str | None
    payer_name: str
    payment_amount: Decimal
    payment_method: str
    payment_date: CalendarDate
    status: str


class RemittanceFileItem(BaseModel):
    """An entry of the list of 835 files: what it carries and what became of it (raw text and postings apart)."""

    file_id: uuid.UUID
    source: str
    status: str
    received_at: datetime
    payments: list[FilePaymentView]
    discrepancies: list[DiscrepancyView]
    refusal: dict[str, Any] | None
    review: ReviewView | None = None


class ReviewRequest(Request):
    """Why a person posts a held file as it is."""

    note: str | None = Field(default=None, max_length=2000)


class RejectRequest(Request):
    """Why a person rejects a held file (the payer is asked for a corrected 835)."""

    reason: str = Field(min_length=1, max_length=2000)


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
    posting_id: uuid.UUID | None = None
    matched_claim_id: str | None = None
    matched_by: str | None = None


class DenialView(BaseModel):
    """An entry of the denials work queue, with its root cause, owner and first action."""

    denial_id: uuid.UUID
    claim_id: str
    charge_id: str | None
    practice_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    root_cause: str
    owner: str
    first_action: str
    reason_codes: list[str]
    remark_codes: list[str]
    denied_amount: Decimal
    patient_billable: bool
    initial: bool
    payment_date: CalendarDate
    status: str
    queue: str
    assigned_to: uuid.UUID | None
    appealed_date: CalendarDate | None
    correction_requested_date: CalendarDate | None
    outcome: str | None
    resolved_date: CalendarDate | None
    recovered_amount: Decimal | None
    written_off_amount: Decimal | None
    escalation_rules: list[str]


class ManualMatchRequest(Request):
    """The claim an unmatched remittance belongs to, chosen by a person."""

    claim_id: str = Field(min_length=1, max_length=20, examples=["C2026-000123"])


class PatientPaymentRequest(Request):
    """A payment by the patient against the patient balance of one claim."""

    claim_id: str = Field(min_length=1, max_length=20)
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, examples=["20.00"])
    method: Literal["copay", "statement", "card", "cash", "check", "other"] = "statement"
    reference: str | None = Field(default=None, max_length=50, description="Receipt, check or statement number")
    posted_date: CalendarDate | None = Field(
        default=None, description="Business date of the payment; today when absent"
    )


class WriteOffRequest(Request):
    """A write-off of one bucket of a claim; a denial write-off also resolves that denial."""

    claim_id: str = Field(min_length=1, max_length=20)
    balance: Literal["payer", "patient"]
    reason: Literal["small_balance", "bad_debt", "denial", "timely_filing", "other"]
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, examples=["4.50"])
    denial_id: uuid.UUID | None = Field(default=None, description="Required with reason denial")
    written_off_date: CalendarDate | None = Field(default=None, description="Business date; today when absent")
    note: str | None = Field(default=None, max_length=2000)


class ClaimBalanceView(BaseModel):
    """billed = paid + contractual + payer write-offs + patient responsibility + payer open balance."""

    billed: Decimal
    paid: Decimal
    contractual: Decimal
    patient_responsibility: Decimal
    patient_paid: Decimal
    payer_written_off: Decimal
    patient_written_off: Decimal
    payer_open: Decimal
    patient_open: Decimal
    open_balance: Decimal


class PatientPaymentView(BaseModel):
    """A posted patient payment and the claim's balance after it."""

    patient_payment_id: uuid.UUID
    claim_id: str
    amount: Decimal
    method: str
    reference: str | None
    posted_date: CalendarDate
    balance: ClaimBalanceView


class WriteOffView(BaseModel):
    """A posted write-off and the claim's balance after it."""

    write_off_id: uuid.UUID
    claim_id: str
    balance: str
    reason: str
    amount: Decimal
    written_off_date: CalendarDate
    denial_id: uuid.UUID | None
    claim_balance: ClaimBalanceView


class UnderpaymentView(BaseModel):
    """A line paid below the payer's contracted fee, with the difference to recover."""

    underpayment_id: uuid.UUID
    posting_id: uuid.UUID
    claim_id: str
    line_number: int
    procedure_code: str
    modifier: str | None
    practice_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    fee_schedule_entry_id: str
    paid_amount: Decimal
    patient_responsibility: Decimal
    allowed_amount: Decimal
    contracted_amount: Decimal
    difference: Decimal
    payment_date: CalendarDate
    status: str


class DenialSettingsView(BaseModel):
    """The organization's escalation thresholds (DOMAIN.md 5.4 defaults until changed)."""

    high_dollar_threshold: Decimal
    pattern_min_denials: int
    pattern_window_days: int
    credentialing_enabled: bool


class DenialSettingsUpdate(Request):
    """Thresholds to change; absent fields keep their value."""

    high_dollar_threshold: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    pattern_min_denials: int | None = Field(default=None, ge=1, le=10_000)
    pattern_window_days: int | None = Field(default=None, ge=1, le=365)
    credentialing_enabled: bool | None = None


class AssignRequest(Request):
    """Who works the denial."""

    user_id: uuid.UUID


class NoteRequest(Request):
    """A note on a denial."""

    text: str = Field(min_length=1, max_length=2000)


class AppealRequest(Request):
    """The date the appeal was sent."""

    appealed_date: CalendarDate
    note: str | None = Field(default=None, max_length=2000)


class ResolveRequest(Request):
    """How a denial ended, with the amounts recovered and written off."""

    outcome: Literal["overturned", "upheld", "written_off", "corrected"]
    recovered_amount: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    written_off_amount: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    resolved_date: CalendarDate | None = Field(default=None, description="Business date; today when absent")
    note: str | None = Field(default=None, max_length=2000)


class CorrectionRequest(Request):
    """Ask submission for a corrected claim."""

    note: str | None = Field(default=None, max_length=2000)
    requested_date: CalendarDate | None = Field(default=None, description="Business date; today when absent")


class DenialNoteView(BaseModel):
    """A note on a denial."""

    note_id: uuid.UUID
    author_key_id: str
    author_user_id: uuid.UUID | None
    text: str
    created_at: datetime


class EscalationView(BaseModel):
    """An escalation rule that fired for a denial."""

    escalation_id: uuid.UUID
    rule: str
    route: str
    root_cause: str
    escalated_date: CalendarDate


class DenialDetailView(DenialView):
    """A denial with its notes and escalations."""

    notes: list[DenialNoteView]
    escalations: list[EscalationView]


class ResolutionView(BaseModel):
    """What resolving a denial did."""

    denial: DenialDetailView
    write_off: WriteOffView | None
