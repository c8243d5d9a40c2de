"""Payloads of claimflow.remittance.v1 and claimflow.denial.v1."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.dates import CalendarDate
from shared.events.envelope import Payload

AdjustmentClass = Literal["cost_share", "contractual", "informational", "denial_patient", "denial"]


class Adjustment(Payload):
    """One CAS triplet with its class from the adjustment table."""

    group_code: Literal["CO", "PR", "OA", "PI", "CR"]
    reason_code: str
    amount: Decimal
    quantity: Decimal | None = None
    adjustment_class: AdjustmentClass
    line_number: int | None = Field(default=None, description="Service line it belongs to; None for claim level")


class RemittanceLine(Payload):
    """One SVC service line as paid."""

    line_number: int
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    charge_amount: Decimal
    paid_amount: Decimal
    units: Decimal | None = None
    remark_codes: list[str] = Field(default_factory=list)


class RemittanceFacts(Payload):
    """A posted CLP with money split the way A/R and KPIs need it."""

    claim_id: str
    charge_id: str | None = None
    payer_id: uuid.UUID | None = None
    payer_claim_number: str | None = None
    claim_status_code: str = Field(description="CLP02")
    remittance_id: uuid.UUID
    trace_number: str = Field(description="TRN02 check or EFT number")
    payment_date: CalendarDate = Field(description="BPR16, the payment date for KPIs")
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal
    contractual_amount: Decimal
    denied_amount: Decimal
    patient_denied_amount: Decimal = Decimal("0")
    adjustments: list[Adjustment] = Field(default_factory=list)
    lines: list[RemittanceLine] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list)
    is_denial: bool = False
    first_adjudication: bool = True


class RemittancePosted(RemittanceFacts):
    """Emitted by remittance when an 835 claim payment (CLP) is posted."""


class RemittanceReversed(RemittanceFacts):
    """Emitted by remittance when a CLP02=22 reversal cancels an earlier posting."""

    reversed_posting_id: uuid.UUID | None = None


class PatientPaymentPosted(Payload):
    """Emitted by remittance when a patient payment is posted against a claim."""

    claim_id: str
    charge_id: str | None = None
    amount: Decimal
    posted_date: CalendarDate
    method: str = "unspecified"
    patient_payment_id: uuid.UUID | None = None
    reference: str | None = Field(default=None, description="Receipt, check or statement number")


class BalanceWrittenOff(Payload):
    """Emitted by remittance when a balance is written off."""

    claim_id: str
    charge_id: str | None = None
    amount: Decimal
    balance: Literal["payer", "patient"]
    reason: Literal["small_balance", "bad_debt", "denial", "timely_filing", "other"]
    written_off_date: CalendarDate
    write_off_id: uuid.UUID | None = None
    denial_id: uuid.UUID | None = Field(default=None, description="The denial resolved by this write-off")


class ProviderAdjustmentPosted(Payload):
    """Emitted by remittance for each PLB adjustment (interest, recoupment) not tied to one claim."""

    remittance_id: uuid.UUID
    provider_identifier: str
    fiscal_period_date: CalendarDate | None = None
    reason_code: str
    reference: str | None = None
    amount: Decimal
    payment_date: CalendarDate


class ClaimDenied(Payload):
    """Emitted by remittance when an adjudication carries a denial, with its root cause."""

    claim_id: str
    charge_id: str | None = None
    payer_id: uuid.UUID | None = None
    denial_id: uuid.UUID
    root_cause: str
    reason_codes: list[str] = Field(description="group-CARC pairs, e.g. CO-197")
    remark_codes: list[str] = Field(default_factory=list)
    denied_amount: Decimal
    patient_billable: bool = False
    initial: bool = True
    payment_date: CalendarDate


class DenialEscalated(Payload):
    """Emitted by remittance when an escalation rule fires for a denial or a pattern."""

    rule: Literal["high_dollar", "recurring_pattern", "credentialing"]
    denial_id: uuid.UUID | None = None
    claim_id: str | None = None
    root_cause: str
    route: str
    escalated_date: CalendarDate
    escalation_id: uuid.UUID | None = None
    practice_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    denied_amount: Decimal | None = Field(default=None, description="The denial's amount (high dollar)")
    denied_visits: int | None = Field(default=None, description="Denied visits in the window (recurring pattern)")
    window_days: int | None = Field(default=None, description="Length of the pattern window in days")


class DenialAppealed(Payload):
    """Emitted by remittance when a denial is appealed."""

    denial_id: uuid.UUID
    claim_id: str
    appealed_date: CalendarDate
    root_cause: str | None = None
    denied_amount: Decimal | None = None


class DenialResolved(Payload):
    """Emitted by remittance when a denial is resolved."""

    denial_id: uuid.UUID
    claim_id: str
    outcome: Literal["overturned", "upheld", "written_off", "corrected"]
    recovered_amount: Decimal = Decimal("0")
    written_off_amount: Decimal = Decimal("0")
    resolved_date: CalendarDate
    root_cause: str | None = None
    denied_amount: Decimal | None = None


class CorrectionRequested(Payload):
    """Emitted by remittance when a denial needs a corrected claim from submission."""

    denial_id: uuid.UUID
    claim_id: str
    root_cause: str
    note: str | None = None
    requested_date: CalendarDate
