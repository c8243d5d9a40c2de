"""Pure posting rules: a read CLP to money split by adjustment class, denial verdict and root cause. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from remittance import tables
from remittance.era import CasAdjustment, ClaimPayment

ZERO = Decimal("0")
CENT = Decimal("0.01")
REVERSAL = "22"


def cents(value: Decimal) -> Decimal:
    """Money rounded to cents, as posted and carried in events."""
    return value.quantize(CENT)


@dataclass(frozen=True)
class ClassifiedAdjustment:
    """A CAS triplet with its class and, for denial classes, its root cause."""

    group_code: str
    reason_code: str
    amount: Decimal
    quantity: Decimal | None
    line_number: int | None
    adjustment_class: tables.AdjustmentClass
    root_cause: tables.RootCause | None
    known_group: bool

    @property
    def code(self) -> str:
        """Group and CARC as payers write them, e.g. CO-197."""
        return f"{self.group_code}-{self.reason_code}"


@dataclass(frozen=True)
class ClaimAssessment:
    """How one CLP posts: amounts by class, denial verdict, root cause and what needs a human."""

    status_code: str
    is_reversal: bool
    sign_corrected: bool
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal
    contractual_amount: Decimal
    denied_amount: Decimal
    patient_denied_amount: Decimal
    adjustments: tuple[ClassifiedAdjustment, ...]
    remark_codes: tuple[str, ...]
    is_denial: bool
    root_cause: tables.RootCause | None
    reason_codes: tuple[str, ...]
    unclassified_codes: tuple[str, ...]

    @property
    def denial_amount_total(self) -> Decimal:
        """Payer and patient-billable denied dollars together (the claim.denied amount)."""
        return self.denied_amount + self.patient_denied_amount

    @property
    def patient_billable(self) -> bool:
        """A denial whose whole amount the patient may be billed for."""
        return self.denied_amount == ZERO and self.patient_denied_amount > ZERO


def _classify(
    adjustment: CasAdjustment, remark_codes: tuple[str, ...], telehealth: bool, sign: int
) -> ClassifiedAdjustment:
    classification = tables.classify_adjustment(adjustment.group_code, adjustment.reason_code)
    root_cause = None
    if classification.is_denial:
        root_cause = tables.root_cause_of(
            adjustment.group_code, adjustment.reason_code, remark_codes, telehealth=telehealth
        )
    return ClassifiedAdjustment(
        group_code=adjustment.group_code,
        reason_code=adjustment.reason_code,
        amount=cents(adjustment.amount * sign),
        quantity=adjustment.quantity,
        line_number=adjustment.line_number,
        adjustment_class=classification.adjustment_class,
        root_cause=root_cause,
        known_group=classification.known_group,
    )


def _total(adjustments: tuple[ClassifiedAdjustment, ...], *classes: str) -> Decimal:
    return sum((a.amount for a in adjustments if a.adjustment_class in classes), ZERO)


def assess_claim(claim: ClaimPayment) -> ClaimAssessment:
    """Split a CLP's money by adjustment class and decide whether (and why) it is a denial.

    A reversal (CLP02 22) posts negated amounts; a payer that sent them positive gets them negated here,
    flagged by `sign_corrected`. A denial is CLP02 4 or a positive denial-class adjustment; its root cause
    is the one carrying the most denied dollars.
    """
    is_reversal = claim.status_code == REVERSAL
    sign = -1 if is_reversal and (claim.charge_amount > ZERO or claim.paid_amount > ZERO) else 1
    claim_telehealth = any(tables.is_telehealth(line.modifiers) for line in claim.lines)
    classified = [_classify(a, claim.remark_codes, claim_telehealth, sign) for a in claim.adjustments]
    for line in claim.lines:
        remarks = line.remark_codes + claim.remark_codes
        telehealth = tables.is_telehealth(line.modifiers)
        classified.extend(_classify(a, remarks, telehealth, sign) for a in line.adjustments)
    adjustments = tuple(classified)
    charge = claim.charge_amount * sign
    paid = claim.paid_amount * sign
    contractual = _total(adjustments, "contractual")
    denied = _total(adjustments, "denial")
    patient_denied = _total(adjustments, "denial_patient")
    patient = _total(adjustments, "cost_share", "denial_patient")
    denials = [a for a in adjustments if a.adjustment_class in tables.DENIAL_CLASSES and a.amount > ZERO]
    status_denial = tables.claim_status_class(claim.status_code) == "denial"
    is_denial = not is_reversal and (status_denial or bool(denials))
    root_cause: tables.RootCause | None = None
    if is_denial:
        if denials:
            root_cause = max(denials, key=lambda a: a.amount).root_cause
        else:
            root_cause = tables.root_cause_of(None, None, claim.remark_codes)
            # CLP02 4 without a denial-class adjustment: what the payer did not pay or move elsewhere is denied.
            denied = charge - paid - contractual - patient
    remark_codes = tuple(dict.fromkeys(claim.remark_codes + tuple(r for ln in claim.lines for r in ln.remark_codes)))
    unclassified = tuple(
        dict.fromkeys(a.code for a in adjustments if a.root_cause == tables.UNCLASSIFIED or not a.known_group)
    )
    return ClaimAssessment(
        status_code=claim.status_code,
        is_reversal=is_reversal,
        sign_corrected=sign == -1,
        charge_amount=cents(charge),
        paid_amount=cents(paid),
        patient_responsibility=cents(patient),
        contractual_amount=cents(contractual),
        denied_amount=cents(denied),
        patient_denied_amount=cents(patient_denied),
        adjustments=adjustments,
        remark_codes=remark_codes,
        is_denial=is_denial,
        root_cause=root_cause,
        reason_codes=tuple(dict.fromkeys(a.code for a in denials)),
        unclassified_codes=unclassified,
    )


@dataclass(frozen=True)
class PatientMatchKey:
    """What the last matching fallback compares: member id (NM1*QC), date of service and billed amount (CLP03)."""

    member_id: str
    date_of_service: date
    billed_amount: Decimal


def patient_match_key(claim: ClaimPayment) -> PatientMatchKey | None:
    """The fallback key of a CLP: its patient's member id, first service date and charge; None when one is missing."""
    if not claim.patient_identifier or claim.patient_identifier.upper() == "UNKNOWN":
        return None
    service_dates = [line.service_date for line in claim.lines if line.service_date is not None]
    service_date = min(service_dates) if service_dates else claim.dates.get("232") or claim.dates.get("472")
    if service_date is None:
        return None
    return PatientMatchKey(claim.patient_identifier, service_date, cents(abs(claim.charge_amount)))
