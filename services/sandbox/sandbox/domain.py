"""The sandbox payer's adjudication rules: fee schedule as a share of charge, copay, seeded denials, payment lag.

Pure functions: no clock, no I/O. Money balances by construction (DOMAIN.md 5.1): per line charge − adjustments =
paid, per claim CLP03 − CLP04 = adjustments, per file BPR02 = Σ CLP04.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from shared.clock import add_business_days

CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Behaviour:
    """How the sandbox payer behaves for one submitter (defaults from CLAIMFLOW_SANDBOX_* settings)."""

    allowed_pct: Decimal = Decimal("0.80")
    copay: Decimal = Decimal("20.00")
    denial_rate: float = 0.05
    payment_lag_business_days: int = 10
    outage: bool = False
    seed: str = "claimflow-sandbox"


@dataclass(frozen=True)
class Adjustment:
    """One CAS triplet: group, reason code (CARC) and amount."""

    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True)
class LineResult:
    """A line as adjudicated: charge, paid, adjustments and remark codes."""

    procedure_code: str
    modifiers: tuple[str, ...]
    units: str
    charge: Decimal
    paid: Decimal
    adjustments: tuple[Adjustment, ...]
    date_of_service: date | None
    remarks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimResult:
    """A claim as adjudicated: CLP02 status (1 paid as primary, 4 denied), amounts and lines."""

    claim_id: str
    status: str
    lines: tuple[LineResult, ...]
    payer_claim_number: str
    payment_date: date
    claim_adjustments: tuple[Adjustment, ...] = field(default_factory=tuple)

    @property
    def charge(self) -> Decimal:
        """CLP03: total charge."""
        return sum((line.charge for line in self.lines), Decimal("0"))

    @property
    def paid(self) -> Decimal:
        """CLP04: lines paid less claim-level adjustments."""
        lines = sum((line.paid for line in self.lines), Decimal("0"))
        return lines - sum((a.amount for a in self.claim_adjustments), Decimal("0"))

    @property
    def patient_responsibility(self) -> Decimal:
        """CLP05: every PR adjustment of the claim and its lines."""
        every = [*self.claim_adjustments, *(a for line in self.lines for a in line.adjustments)]
        return sum((a.amount for a in every if a.group == "PR"), Decimal("0"))


@dataclass(frozen=True)
class ChargedLine:
    """What adjudication needs of a billed line."""

    procedure_code: str
    modifiers: tuple[str, ...]
    units: str
    charge: Decimal
    date_of_service: date | None


def seeded_fraction(seed: str, claim_id: str) -> float:
    """A number in [0, 1) fixed by the seed and the claim id, so the same claim always gets the same fate."""
    digest = hashlib.sha256(f"{seed}:{claim_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_documentation_denial(behaviour: Behaviour, claim_id: str) -> bool:
    """Whether the seeded random documentation denial (CO-16, M76) hits this claim."""
    return seeded_fraction(behaviour.seed, claim_id) < behaviour.denial_rate


def payer_claim_number(submitter: str, claim_id: str) -> str:
    """The payer's claim control number (CLP07, 277CA REF*1K), stable for a submitter's claim."""
    return "SBX" + hashlib.sha256(f"{submitter}:{claim_id}".encode()).hexdigest()[:12].upper()


def payment_date(bht_date: date, behaviour: Behaviour) -> date:
    """The date the payer pays: the payment lag in business days after the batch's BHT04."""
    return add_business_days(bht_date, behaviour.payment_lag_business_days)


def adjudicate(
    *, submitter: str, claim_id: str, lines: list[ChargedLine], behaviour: Behaviour, bht_date: date
) -> ClaimResult:
    """Adjudicate one accepted claim: paid at the allowed share less a copay, or denied for documentation."""
    number = payer_claim_number(submitter, claim_id)
    paid_on = payment_date(bht_date, behaviour)
    if is_documentation_denial(behaviour, claim_id):
        denied = tuple(
            LineResult(
                line.procedure_code,
                line.modifiers,
                line.units,
                line.charge,
                Decimal("0.00"),
                (Adjustment("CO", "16", line.charge),),
                line.date_of_service,
                ("M76",),
            )
            for line in lines
        )
        return ClaimResult(claim_id, "4", denied, number, paid_on)
    copay_left = max(behaviour.copay, Decimal("0")).quantize(CENTS)
    pct = min(max(behaviour.allowed_pct, Decimal("0")), Decimal("1"))
    results: list[LineResult] = []
    for line in lines:
        allowed = (line.charge * pct).quantize(CENTS, rounding=ROUND_HALF_UP)
        copay = min(copay_left, allowed)
        copay_left -= copay
        adjustments: list[Adjustment] = []
        if line.charge - allowed:
            adjustments.append(Adjustment("CO", "45", line.charge - allowed))
        if copay:
            adjustments.append(Adjustment("PR", "3", copay))
        results.append(
            LineResult(
                line.procedure_code,
                line.modifiers,
                line.units,
                line.charge,
                allowed - copay,
                tuple(adjustments),
                line.date_of_service,
            )
        )
    return ClaimResult(claim_id, "1", tuple(results), number, paid_on)


def balancing_errors(claims: list[ClaimResult], total_paid: Decimal) -> list[str]:
    """Every violated balancing rule of DOMAIN.md 5.1 (empty when the remittance balances)."""
    errors: list[str] = []
    for claim in claims:
        line_adjustments = Decimal("0")
        for index, line in enumerate(claim.lines, start=1):
            adjusted = sum((a.amount for a in line.adjustments), Decimal("0"))
            line_adjustments += adjusted
            if line.charge - adjusted != line.paid:
                errors.append(f"{claim.claim_id} line {index}: charge − adjustments ≠ paid")
        claim_level = sum((a.amount for a in claim.claim_adjustments), Decimal("0"))
        if claim.charge - claim.paid != claim_level + line_adjustments:
            errors.append(f"{claim.claim_id}: CLP03 − CLP04 ≠ adjustments")
        if claim.paid != sum((line.paid for line in claim.lines), Decimal("0")) - claim_level:
            errors.append(f"{claim.claim_id}: CLP04 ≠ Σ SVC03 − claim adjustments")
    if total_paid != sum((claim.paid for claim in claims), Decimal("0")):
        errors.append("BPR02 ≠ Σ CLP04")
    return errors


def clock_date(set_date: date | None, latest_bht: date | None) -> date | None:
    """A submitter's sandbox business date: the later of the date set for it and the latest BHT04 it sent."""
    known = [d for d in (set_date, latest_bht) if d is not None]
    return max(known) if known else None


def rejection_reason(*, payer_id: str, diagnoses: list[str]) -> tuple[str, str] | None:
    """The 277CA A7 rejection of a claim the payer cannot process: (status code[:entity], reason), or None."""
    if not payer_id.strip():
        return "21:PR", "payer identifier missing or invalid"
    if not diagnoses:
        return "254", "principal diagnosis code missing"
    return None
