"""835 balancing checks of DOMAIN.md 5.1: discrepancies are returned as data, in words, never raised. No I/O.

A file with a discrepancy that moves money (`holds`) is held whole for review; CLP05 against the PR adjustments only
informs (patient responsibility is taken from the PR adjustments, never from CLP05).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from remittance.era import ClaimPayment, PaymentTransaction, Remittance835

ZERO = Decimal("0")
# The money rules of DOMAIN.md 5.1: a file breaking one of them is held for a person to post or reject.
HOLDING_RULES = frozenset(
    {"line_balance", "claim_balance", "claim_paid_from_lines", "payment_balance", "payment_unverifiable"}
)


@dataclass(frozen=True)
class Discrepancy:
    """One balancing rule that does not hold, with where it failed, by how much, and a sentence saying so."""

    rule: str
    trace_number: str
    claim_id: str | None
    line_number: int | None
    expected: Decimal | None
    actual: Decimal | None
    detail: str

    @property
    def holds(self) -> bool:
        """Whether this discrepancy holds the file for review (money does not add up)."""
        return self.rule in HOLDING_RULES

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form (amounts as strings)."""
        values = asdict(self)
        values["expected"] = None if self.expected is None else str(self.expected)
        values["actual"] = None if self.actual is None else str(self.actual)
        values["holds"] = self.holds
        return values


def _total(values: object) -> Decimal:
    return sum(values, ZERO)  # type: ignore[call-overload, no-any-return]


def _off(expected: Decimal, actual: Decimal) -> str:
    return f"off by {abs(expected - actual)}"


def check_claim(claim: ClaimPayment, trace_number: str) -> list[Discrepancy]:
    """Line, claim and patient-responsibility balancing of one CLP."""
    found: list[Discrepancy] = []
    who = f"claim {claim.claim_id}"
    for line in claim.lines:
        line_adjustments = _total(a.amount for a in line.adjustments)
        adjusted = line.charge_amount - line_adjustments
        if adjusted != line.paid_amount:
            found.append(
                Discrepancy(
                    "line_balance",
                    trace_number,
                    claim.claim_id,
                    line.line_number,
                    adjusted,
                    line.paid_amount,
                    f"{who} line {line.line_number} ({line.procedure_code}): the charge {line.charge_amount} (SVC02) "
                    f"less its adjustments {line_adjustments} is {adjusted}, but the line pays {line.paid_amount} "
                    f"(SVC03), {_off(adjusted, line.paid_amount)}",
                )
            )
    claim_level = _total(a.amount for a in claim.adjustments)
    all_adjustments = _total(a.amount for a in claim.all_adjustments)
    adjusted_claim = claim.charge_amount - all_adjustments
    if adjusted_claim != claim.paid_amount:
        found.append(
            Discrepancy(
                "claim_balance",
                trace_number,
                claim.claim_id,
                None,
                adjusted_claim,
                claim.paid_amount,
                f"{who}: the charge {claim.charge_amount} (CLP03) less its claim- and line-level adjustments "
                f"{all_adjustments} is {adjusted_claim}, but the claim pays {claim.paid_amount} (CLP04), "
                f"{_off(adjusted_claim, claim.paid_amount)}",
            )
        )
    if claim.lines:
        lines_paid = _total(line.paid_amount for line in claim.lines)
        from_lines = lines_paid - claim_level
        if from_lines != claim.paid_amount:
            found.append(
                Discrepancy(
                    "claim_paid_from_lines",
                    trace_number,
                    claim.claim_id,
                    None,
                    from_lines,
                    claim.paid_amount,
                    f"{who}: its service lines pay {lines_paid} (SVC03) less claim-level adjustments {claim_level}, "
                    f"that is {from_lines}, but the claim pays {claim.paid_amount} (CLP04), "
                    f"{_off(from_lines, claim.paid_amount)}",
                )
            )
    patient_share = _total(a.amount for a in claim.all_adjustments if a.group_code == "PR")
    declared = claim.patient_responsibility or ZERO
    if declared != patient_share:
        found.append(
            Discrepancy(
                "patient_responsibility",
                trace_number,
                claim.claim_id,
                None,
                patient_share,
                declared,
                f"{who}: CLP05 says the patient owes {declared}, its PR adjustments add up to {patient_share} "
                "(the PR adjustments are posted)",
            )
        )
    return found


def check_transaction(transaction: PaymentTransaction) -> list[Discrepancy]:
    """Every claim of a payment, then BPR02 = sum of CLP04 (unreadable claims' too) - sum of PLB amounts."""
    trace = transaction.trace_number
    found = [d for claim in transaction.claims for d in check_claim(claim, trace)]
    unknown = [c.claim_id for c in transaction.unreadable_claims if c.paid_amount is None]
    if unknown:
        found.append(
            Discrepancy(
                "payment_unverifiable",
                trace,
                unknown[0],
                None,
                None,
                transaction.payment_amount,
                f"payment {trace}: BPR02 {transaction.payment_amount} cannot be checked because what claim "
                f"{', '.join(unknown)} pays (CLP04) cannot be read",
            )
        )
        return found
    claims_paid = _total(c.paid_amount for c in transaction.claims) + _total(
        c.paid_amount for c in transaction.unreadable_claims
    )
    provider_adjustments = _total(p.amount for p in transaction.provider_adjustments)
    expected = claims_paid - provider_adjustments
    if expected != transaction.payment_amount:
        found.append(
            Discrepancy(
                "payment_balance",
                trace,
                None,
                None,
                expected,
                transaction.payment_amount,
                f"payment {trace}: its claims pay {claims_paid} (sum of CLP04) less provider adjustments "
                f"{provider_adjustments} (PLB), that is {expected}, but the payment is {transaction.payment_amount} "
                f"(BPR02), {_off(expected, transaction.payment_amount)}",
            )
        )
    return found


def check_remittance(remittance: Remittance835) -> list[Discrepancy]:
    """Balancing discrepancies of a whole file."""
    return [d for transaction in remittance.transactions for d in check_transaction(transaction)]
