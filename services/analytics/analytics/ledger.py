"""The facts of one organization as the KPIs read them: one record per event kind, gathered in a Ledger.

Records are kept exactly as the events told them (DOMAIN.md section 6); what they mean for a KPI is in domain.py and
the KPI modules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0")

# DOMAIN.md 5.2: the classes that count as a denial.
DENIAL_CLASSES = frozenset({"denial", "denial_patient"})
# 999 IK5/AK9 codes and 277CA STC01 categories that accept an attempt.
ACCEPTING_999 = frozenset({"A", "E"})
ACCEPTING_277CA = frozenset({"A2", "A5"})


@dataclass(frozen=True, slots=True)
class Charge:
    """A coded encounter ready to bill (from charge.created, or from a claim when the charge event is late)."""

    charge_id: str
    practice_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    program: str
    date_of_service: date
    posted_date: date
    billed: Decimal
    manually_touched: bool = False


@dataclass(frozen=True, slots=True)
class ChargeVoid:
    """A charge withdrawn on a business date."""

    charge_id: str
    voided_date: date


@dataclass(frozen=True, slots=True)
class ClaimRef:
    """Facts every claim event carries: its charge, payer, slicing ids and billed amount."""

    claim_id: str
    charge_id: str
    practice_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    program: str
    date_of_service: date
    charge_posted_date: date
    billed: Decimal
    payer_priority: str = "primary"


@dataclass(frozen=True, slots=True)
class ClaimAttempt:
    """One attempt of a claim sent to the clearinghouse (original, replacement or void)."""

    claim: ClaimRef
    attempt_number: int
    frequency_code: str
    submitted_date: date
    scrub_passed: bool
    manually_touched: bool


@dataclass(frozen=True, slots=True)
class ScrubberHold:
    """A claim held by the scrubber before an attempt went out."""

    claim: ClaimRef
    attempt_number: int
    held_date: date


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A 999 or 277CA outcome for one attempt."""

    claim_id: str
    attempt_number: int
    kind: str
    outcome: str
    status_code: str
    acknowledged_date: date

    @property
    def rejects(self) -> bool:
        """Whether the acknowledgement rejects the attempt (999 R/M/W/X, 277CA A3/A4/A6/A7/A8)."""
        return self.outcome == "rejected"

    @property
    def accepts(self) -> bool:
        """Whether it accepts the attempt: 999 A/E, 277CA A2/A5 (a 277CA A1 only says it was received)."""
        if self.kind == "999":
            return self.status_code in ACCEPTING_999 or self.outcome in ("accepted", "accepted_with_errors")
        return self.status_code[:2] in ACCEPTING_277CA

    @property
    def decides(self) -> bool:
        """Whether it settles acceptance: a rejecting 999, or a 277CA that accepts or rejects."""
        return self.rejects or (self.kind == "277CA" and self.accepts)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet with its class from DOMAIN.md 5.2."""

    group_code: str
    reason_code: str
    amount: Decimal
    adjustment_class: str


@dataclass(frozen=True, slots=True)
class Adjudication:
    """An 835 claim payment (CLP) posted, or a reversal of one, dated by its payment date."""

    claim_id: str
    charge_id: str | None
    payment_date: date
    claim_status_code: str
    charge_amount: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    contractual: Decimal
    denied: Decimal
    patient_denied: Decimal = ZERO
    adjustments: tuple[Adjustment, ...] = ()
    is_denial: bool = False
    first_adjudication: bool = True
    reversal: bool = False

    @property
    def has_denial(self) -> bool:
        """CLP02 = 4, a denial flag, or any adjustment classed as a denial (DOMAIN.md 5.2)."""
        return (
            self.is_denial
            or self.claim_status_code == "4"
            or any(a.adjustment_class in DENIAL_CLASSES for a in self.adjustments)
        )

    @property
    def denial_amount(self) -> Decimal:
        """Dollars of the denial-class adjustments (the posted denied amounts when no CAS detail came)."""
        classed = [a.amount for a in self.adjustments if a.adjustment_class in DENIAL_CLASSES]
        return sum(classed, ZERO) if classed else self.denied + self.patient_denied

    def effect(self, amount: Decimal) -> Decimal:
        """An amount as it moves A/R: a reversal cancels, whether the 835 negated its amounts or not."""
        if not self.reversal:
            return amount
        negated_in_file = self.charge_amount < 0 or self.paid < 0
        return amount if negated_in_file else -amount


@dataclass(frozen=True, slots=True)
class PatientPayment:
    """A payment by the patient against a claim."""

    claim_id: str
    charge_id: str | None
    amount: Decimal
    posted_date: date


@dataclass(frozen=True, slots=True)
class WriteOff:
    """A payer or patient balance written off."""

    claim_id: str
    charge_id: str | None
    amount: Decimal
    balance: str
    written_off_date: date


@dataclass(frozen=True, slots=True)
class Denial:
    """A denial with its root cause, as remittance classified it."""

    claim_id: str
    root_cause: str
    denied_amount: Decimal
    initial: bool
    payment_date: date


@dataclass(frozen=True, slots=True)
class ClaimVoid:
    """A claim withdrawn by submission (its charge voided or billed elsewhere)."""

    claim_id: str
    voided_date: date


@dataclass(frozen=True, slots=True)
class Visit:
    """An encounter as intake received it: the facts authorization continuity needs (no PHI)."""

    encounter_id: str
    practice_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    date_of_service: date
    received_date: date
    authorization_number: str | None = None
    units_approved: int | None = None
    units_used: int | None = None
    authorization_start: date | None = None
    authorization_end: date | None = None
    authorization_codes: tuple[str, ...] = ()

    @property
    def authorized(self) -> bool:
        """Inside an active authorization with at least one unit left before the visit."""
        return (
            self.authorization_number is not None
            and self.authorization_start is not None
            and self.authorization_end is not None
            and self.authorization_start <= self.date_of_service <= self.authorization_end
            and (self.units_approved or 0) - (self.units_used or 0) >= 1
        )


@dataclass(frozen=True, slots=True)
class AuthorizationPolicy:
    """A payer profile's authorization rule, in force from its effective date (reference data)."""

    effective_from: date
    mode: str
    codes: tuple[str, ...] = ()
    unmanaged_visits: int | None = None


@dataclass
class Ledger:
    """Every fact of one organization the KPIs read."""

    charges: list[Charge] = field(default_factory=list)
    voids: list[ChargeVoid] = field(default_factory=list)
    attempts: list[ClaimAttempt] = field(default_factory=list)
    holds: list[ScrubberHold] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    adjudications: list[Adjudication] = field(default_factory=list)
    patient_payments: list[PatientPayment] = field(default_factory=list)
    write_offs: list[WriteOff] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)
    claim_voids: list[ClaimVoid] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    cancelled_visits: set[str] = field(default_factory=set)
    procedure_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    authorization_policies: dict[uuid.UUID, list[AuthorizationPolicy]] = field(default_factory=dict)
    # Whole-ledger results the KPIs share (the claim histories every KPI reads, every charge's balance as of a date
    # read by days in A/R and A/R aging for each practice): name → (arguments, fact counts, value); recomputed when
    # either differs. What is stored is read-only to its readers.
    derived: dict[str, tuple[object, tuple[int, ...], object]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def fact_counts(self) -> tuple[int, ...]:
        """Lengths of every fact list: a ledger's facts are only ever appended, so equal counts mean equal facts."""
        return (
            len(self.charges),
            len(self.voids),
            len(self.attempts),
            len(self.holds),
            len(self.acknowledgements),
            len(self.adjudications),
            len(self.patient_payments),
            len(self.write_offs),
            len(self.denials),
            len(self.claim_voids),
            len(self.visits),
        )
