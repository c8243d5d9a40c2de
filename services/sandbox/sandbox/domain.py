"""The sandbox payer's adjudication rules: fee schedule (or a share of charge), deductible, copay and coinsurance,
denials by DOMAIN.md rules (authorization, timely filing, duplicate) and seeded documentation denials, payment lag.

Pure functions: no clock, no I/O. Money balances by construction (DOMAIN.md 5.1): per line charge − adjustments =
paid, per claim CLP03 − CLP04 = adjustments, per file BPR02 = Σ CLP04.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from shared.clock import add_business_days

CENTS = Decimal("0.01")


ANY_CODE = "*"


@dataclass(frozen=True)
class PayerRules:
    """One payer's terms for a submitter (keyed by X12 payer id); unset amounts fall back to the behaviour's.

    `fee_schedules` maps a billing NPI (or "*" for every practice) to allowed amounts per unit by procedure code;
    a code missing from it is allowed at `allowed_pct` of the charge. `authorization_required_codes` lists the codes
    that need REF*G1 ("*" for every code). The deductible is per member and calendar year.
    """

    allowed_pct: Decimal | None = None
    fee_schedules: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    copay: Decimal | None = None
    coinsurance_pct: Decimal = Decimal("0")
    deductible: Decimal = Decimal("0")
    authorization_required_codes: tuple[str, ...] = ()
    timely_filing_days: int | None = None


@dataclass(frozen=True)
class Behaviour:
    """How the sandbox payer behaves for one submitter (defaults from CLAIMFLOW_SANDBOX_* settings).

    `reject_member_pattern` rejects (277CA A7) every claim whose member id matches the regular expression;
    `latency_ms` delays every answer after the batch was received (a timeout then leaves the outcome unknown).
    """

    allowed_pct: Decimal = Decimal("0.80")
    copay: Decimal = Decimal("20.00")
    denial_rate: float = 0.05
    payment_lag_business_days: int = 10
    outage: bool = False
    seed: str = "claimflow-sandbox"
    latency_ms: int = 0
    reject_member_pattern: str | None = None
    payers: Mapping[str, PayerRules] = field(default_factory=dict)

    def rules_for(self, x12_payer_id: str) -> PayerRules:
        """The terms of a payer (the defaults when none were set for it)."""
        return self.payers.get(x12_payer_id) or PayerRules()


@dataclass(frozen=True)
class Denial:
    """A claim denied in full: CAS group, CARC and an optional RARC on every line."""

    group: str
    reason: str
    remark: str | None = None


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
    filing_indicator: str = "ZZ"  # CLP06: the claim filing indicator the 837 sent in SBR09 (ZZ when it sent none)

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
    """Whether the seeded random documentation denial (CO-16 or CO-50) hits this claim."""
    return seeded_fraction(behaviour.seed, claim_id) < behaviour.denial_rate


def documentation_denial(behaviour: Behaviour, claim_id: str) -> Denial:
    """Which documentation denial a claim gets, fixed by the seed: CO-16 (M76, missing information) or CO-50
    (not medically necessary), half and half."""
    if seeded_fraction(f"{behaviour.seed}:kind", claim_id) < 0.5:
        return Denial("CO", "16", "M76")
    return Denial("CO", "50", None)


def payer_claim_number(submitter: str, claim_id: str) -> str:
    """The payer's claim control number (CLP07, 277CA REF*1K), stable for a submitter's claim."""
    return "SBX" + hashlib.sha256(f"{submitter}:{claim_id}".encode()).hexdigest()[:12].upper()


def payment_date(bht_date: date, behaviour: Behaviour) -> date:
    """The date the payer pays: the payment lag in business days after the batch's BHT04."""
    return add_business_days(bht_date, behaviour.payment_lag_business_days)


@dataclass(frozen=True)
class VisitKey:
    """What makes two claims the same visit for the duplicate rule: member, date, rendering provider, codes."""

    member_id: str
    date_of_service: date | None
    rendering_npi: str
    procedure_codes: tuple[str, ...]


def rule_denial(
    *,
    rules: PayerRules,
    procedure_codes: list[str],
    has_authorization_number: bool,
    date_of_service: date | None,
    received: date,
    duplicate_of: str | None,
    replacement: bool,
) -> Denial | None:
    """The denial a rule violation visible on the claim earns (DOMAIN.md 4 and 5.3), first match wins: the same
    visit already billed under another claim (OA-18), filed after the payer's window (CO-29; a replacement keeps
    the original's filing date), no authorization number where the payer needs one (CO-197, M62)."""
    if duplicate_of is not None:
        return Denial("OA", "18", "N522")
    if (
        not replacement
        and rules.timely_filing_days is not None
        and date_of_service is not None
        and (received - date_of_service).days > rules.timely_filing_days
    ):
        return Denial("CO", "29", None)
    needs = rules.authorization_required_codes
    if (ANY_CODE in needs or any(code in needs for code in procedure_codes)) and not has_authorization_number:
        return Denial("CO", "197", "M62")
    return None


def member_rejected(behaviour: Behaviour, member_id: str) -> bool:
    """Whether the behaviour's member-id pattern makes the clearinghouse reject the claim (an invalid pattern
    rejects nothing)."""
    if not behaviour.reject_member_pattern:
        return False
    try:
        return re.search(behaviour.reject_member_pattern, member_id) is not None
    except re.error:
        return False


def allowed_amount(line: ChargedLine, *, pct: Decimal, fees: Mapping[str, Decimal]) -> Decimal:
    """The payer's allowed amount of a line: its fee-schedule amount per unit times units, never above the charge;
    a share of the charge when the code is not on the fee schedule."""
    fee = fees.get(line.procedure_code)
    if fee is None:
        return (line.charge * pct).quantize(CENTS, rounding=ROUND_HALF_UP)
    try:
        units = Decimal(line.units or "1")
    except ArithmeticError:
        units = Decimal("1")
    return min(line.charge, (fee * units).quantize(CENTS, rounding=ROUND_HALF_UP))


def adjudicate(
    *,
    submitter: str,
    claim_id: str,
    lines: list[ChargedLine],
    behaviour: Behaviour,
    bht_date: date,
    rules: PayerRules | None = None,
    billing_npi: str = "",
    deductible_left: Decimal | None = None,
    denial: Denial | None = None,
) -> ClaimResult:
    """Adjudicate one accepted claim: denied in full for a rule violation or a seeded documentation denial, else
    allowed by fee schedule (or share of charge) with the patient's deductible (PR-1), copay (PR-3, once per claim)
    and coinsurance (PR-2) taken from the allowed amount in that order, the rest contractual (CO-45)."""
    number = payer_claim_number(submitter, claim_id)
    paid_on = payment_date(bht_date, behaviour)
    terms = rules or PayerRules()
    if denial is None and is_documentation_denial(behaviour, claim_id):
        denial = documentation_denial(behaviour, claim_id)
    if denial is not None:
        denied = tuple(
            LineResult(
                line.procedure_code,
                line.modifiers,
                line.units,
                line.charge,
                Decimal("0.00"),
                (Adjustment(denial.group, denial.reason, line.charge),),
                line.date_of_service,
                (denial.remark,) if denial.remark else (),
            )
            for line in lines
        )
        return ClaimResult(claim_id, "4", denied, number, paid_on)
    share_of_charge = terms.allowed_pct if terms.allowed_pct is not None else behaviour.allowed_pct
    pct = min(max(share_of_charge, Decimal("0")), Decimal("1"))
    fees = terms.fee_schedules.get(billing_npi) or terms.fee_schedules.get(ANY_CODE) or {}
    deductible_room = max(deductible_left if deductible_left is not None else terms.deductible, Decimal("0"))
    copay_left = max(terms.copay if terms.copay is not None else behaviour.copay, Decimal("0")).quantize(CENTS)
    coinsurance = min(max(terms.coinsurance_pct, Decimal("0")), Decimal("1"))
    results: list[LineResult] = []
    for line in lines:
        allowed = allowed_amount(line, pct=pct, fees=fees)
        deductible = min(deductible_room, allowed)
        deductible_room -= deductible
        copay = min(copay_left, allowed - deductible)
        copay_left -= copay
        share = ((allowed - deductible - copay) * coinsurance).quantize(CENTS, rounding=ROUND_HALF_UP)
        adjustments: list[Adjustment] = []
        if line.charge - allowed:
            adjustments.append(Adjustment("CO", "45", line.charge - allowed))
        for reason, amount in (("1", deductible), ("3", copay), ("2", share)):
            if amount:
                adjustments.append(Adjustment("PR", reason, amount))
        results.append(
            LineResult(
                line.procedure_code,
                line.modifiers,
                line.units,
                line.charge,
                allowed - deductible - copay - share,
                tuple(adjustments),
                line.date_of_service,
            )
        )
    return ClaimResult(claim_id, "1", tuple(results), number, paid_on)


def deductible_applied(result: ClaimResult) -> Decimal:
    """The deductible (PR-1) an adjudication took, to count against the member's year."""
    return sum(
        (a.amount for line in result.lines for a in line.adjustments if (a.group, a.reason) == ("PR", "1")),
        Decimal("0"),
    )


def reversal_of(result: ClaimResult, paid_on: date) -> ClaimResult:
    """The CLP02 22 reversal of an earlier payment, paid on a new date: every amount negated (DOMAIN.md 5.1)."""

    def negate(adjustments: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
        return tuple(Adjustment(a.group, a.reason, -a.amount) for a in adjustments)

    return ClaimResult(
        result.claim_id,
        "22",
        tuple(
            LineResult(
                line.procedure_code,
                line.modifiers,
                line.units,
                -line.charge,
                -line.paid,
                negate(line.adjustments),
                line.date_of_service,
            )
            for line in result.lines
        ),
        result.payer_claim_number,
        paid_on,
        negate(result.claim_adjustments),
        result.filing_indicator,
    )


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
