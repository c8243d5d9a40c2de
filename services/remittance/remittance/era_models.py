"""Immutable model of a read 835: payments, claims, service lines, adjustments, PLB (JSON round-trippable)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as ModelField


class EraRefused(Exception):
    """An 835 that cannot be posted at all (unreadable, wrong version); says what and where."""

    def __init__(self, reason: str, where: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.where = where


class EraModel(BaseModel):
    """Base of the reader's immutable models (they round-trip through JSON for the unmatched queue)."""

    model_config = ConfigDict(frozen=True)


class CasAdjustment(EraModel):
    """One CAS triplet: group, CARC, amount and quantity; line_number None for claim level."""

    group_code: str
    reason_code: str
    amount: Decimal
    quantity: Decimal | None = None
    line_number: int | None = None


class ServiceLinePayment(EraModel):
    """One SVC service line with its dates, adjustments and remark codes."""

    line_number: int
    qualifier: str
    procedure_code: str
    modifiers: tuple[str, ...] = ()
    charge_amount: Decimal
    paid_amount: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None
    service_date: date | None = None
    adjustments: tuple[CasAdjustment, ...] = ()
    remark_codes: tuple[str, ...] = ()
    amounts: dict[str, Decimal] = ModelField(default_factory=dict)
    position: int


class ClaimPayment(EraModel):
    """One CLP: the payer's adjudication of one claim."""

    claim_id: str = ModelField(description="CLP01, our patient control number (CLM01)")
    status_code: str
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal | None = None
    filing_indicator: str | None = None
    payer_claim_number: str | None = None
    frequency_code: str | None = None
    patient_identifier: str | None = None
    adjustments: tuple[CasAdjustment, ...] = ()
    lines: tuple[ServiceLinePayment, ...] = ()
    remark_codes: tuple[str, ...] = ()
    dates: dict[str, date] = ModelField(default_factory=dict)
    amounts: dict[str, Decimal] = ModelField(default_factory=dict)
    position: int

    @property
    def all_adjustments(self) -> tuple[CasAdjustment, ...]:
        """Claim-level then line-level adjustments."""
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)


class UnreadableClaim(EraModel):
    """A CLP that could not be read, with the reason: listed, never silently dropped."""

    claim_id: str
    payer_claim_number: str | None = None
    paid_amount: Decimal | None = ModelField(default=None, description="CLP04 when it can be read, for BPR02")
    position: int
    reason: str
    raw_segments: tuple[str, ...] = ()


class ProviderAdjustment(EraModel):
    """One PLB adjustment (a positive amount reduces the payment, a negative one adds to it)."""

    provider_identifier: str
    fiscal_period_date: date | None = None
    reason_code: str
    reference: str | None = None
    amount: Decimal
    position: int


class PaymentTransaction(EraModel):
    """One ST/SE 835 transaction: the payment (BPR/TRN), its payer and payee, its claims and PLBs."""

    control_number: str
    payment_amount: Decimal
    handling_code: str
    credit_debit: str
    payment_method: str
    payment_date: date
    trace_number: str
    trace_originator: str | None = None
    payer_name: str = ""
    payer_identifier: str | None = None
    payee_name: str = ""
    payee_identifier: str | None = None
    claims: tuple[ClaimPayment, ...] = ()
    unreadable_claims: tuple[UnreadableClaim, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    position: int

    @property
    def payer_key(self) -> str:
        """The payer identity used with TRN02 to refuse a payment posted twice (TRN03, N1*PR id, or name)."""
        return self.trace_originator or self.payer_identifier or self.payer_name or "unknown"


class Remittance835(EraModel):
    """A readable 835 file: its transactions and what the reader had to tolerate."""

    separators_component: str
    transactions: tuple[PaymentTransaction, ...]
    warnings: tuple[str, ...] = ()
