"""835 balancing checks of DOMAIN.md 5.1: discrepancies are returned as data, never raised. No I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from remittance.era import ClaimPayment, PaymentTransaction, Remittance835

ZERO = Decimal("0")


@dataclass(frozen=True)
class Discrepancy:
    """One balancing rule that does not hold, with where it failed and by how much."""

    rule: str
    trace_number: str
    claim_id: str | None
    line_number: int | None
    expected: Decimal
    actual: Decimal
    detail: str

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form (amounts as strings)."""
        values = asdict(self)
        values["expected"] = str(self.expected)
        values["actual"] = str(self.actual)
        return values


def _total(values: object) -> Decimal:
    return sum(values, ZERO)  # type: ignore[call-overload, no-any-return]


def check_claim(claim: ClaimPayment, trace_number: str) -> list[Discrepancy]:
    """Line, claim and patient-responsibility balancing of one CLP."""
    found: list[Discrepancy] = []
    for line in claim.lines:
        adjusted = line.charge_amount - _total(a.amount for a in line.adjustments)
        if adjusted != line.paid_amount:
            found.append(
                Discrepancy(
                    "line_balance",
                    trace_number,
                    claim.claim_id,
                    line.line_number,
                    adjusted,
                    line.paid_amount,
                    f"SVC02 {line.charge_amount} - line adjustments should equal SVC03 {line.paid_amount}",
                )
            )
    claim_level = _total(a.amount for a in claim.adjustments)
    all_adjustments = _total(a.amount for a in claim.all_adjustments)
    if claim.charge_amount - claim.paid_amount != all_adjustments:
        found.append(
            Discrepancy(
                "claim_balance",
                trace_number,
                claim.claim_id,
                None,
                claim.charge_amount - claim.paid_amount,
                all_adjustments,
                "CLP03 - CLP04 should equal claim-level plus line-level adjustments",
            )
        )
    if claim.lines:
        from_lines = _total(line.paid_amount for line in claim.lines) - claim_level
        if from_lines != claim.paid_amount:
            found.append(
                Discrepancy(
                    "claim_paid_from_lines",
                    trace_number,
                    claim.claim_id,
                    None,
                    from_lines,
                    claim.paid_amount,
                    "CLP04 should equal the sum of SVC03 minus claim-level adjustments",
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
                "CLP05 should equal the sum of PR adjustments",
            )
        )
    return found


def check_transaction(transaction: PaymentTransaction) -> list[Discrepancy]:
    """Every claim of a payment, then BPR02 = sum of CLP04 - sum of PLB amounts."""
    found = [d for claim in transaction.claims for d in check_claim(claim, transaction.trace_number)]
    if transaction.unreadable_claims:
        # Unread claims' CLP04 is unknown, so the file total cannot be checked honestly.
        return found
    expected = _total(c.paid_amount for c in transaction.claims) - _total(
        p.amount for p in transaction.provider_adjustments
    )
    if expected != transaction.payment_amount:
        found.append(
            Discrepancy(
                "payment_balance",
                transaction.trace_number,
                None,
                None,
                expected,
                transaction.payment_amount,
                "BPR02 should equal the sum of CLP04 minus the sum of PLB amounts",
            )
        )
    return found


def check_remittance(remittance: Remittance835) -> list[Discrepancy]:
    """Balancing discrepancies of a whole file."""
    return [d for transaction in remittance.transactions for d in check_transaction(transaction)]
