"""A claim's money as A/R sees it: billed, what the payer and the patient settled, and what stays open. No I/O.

billed = paid + contractual + payer write-offs + patient responsibility + payer open balance, and
patient responsibility = patient payments + patient write-offs + patient open balance. Denied and informational
amounts are not subtracted: they stay in the payer's open balance until paid, corrected or written off (DOMAIN 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

ZERO = Decimal("0")
Bucket = Literal["payer", "patient"]


@dataclass(frozen=True)
class PostedAmounts:
    """The money of one posting (reversals carry negated amounts)."""

    paid: Decimal
    contractual: Decimal
    patient_responsibility: Decimal


@dataclass(frozen=True)
class ClaimBalance:
    """Totals of one claim and its open balances per bucket."""

    billed: Decimal
    paid: Decimal = ZERO
    contractual: Decimal = ZERO
    patient_responsibility: Decimal = ZERO
    patient_paid: Decimal = ZERO
    payer_written_off: Decimal = ZERO
    patient_written_off: Decimal = ZERO

    @property
    def payer_open(self) -> Decimal:
        """What the payer side still owes or must be written off (denied amounts included)."""
        return self.billed - self.paid - self.contractual - self.patient_responsibility - self.payer_written_off

    @property
    def patient_open(self) -> Decimal:
        """Patient A/R: the patient's share not yet paid or written off."""
        return self.patient_responsibility - self.patient_paid - self.patient_written_off

    @property
    def open_balance(self) -> Decimal:
        """Total A/R of the claim."""
        return self.payer_open + self.patient_open

    @property
    def adjustments(self) -> Decimal:
        """Amounts adjusted off for good: contractual and every write-off."""
        return self.contractual + self.payer_written_off + self.patient_written_off

    def open_in(self, bucket: Bucket) -> Decimal:
        """Open balance of one bucket."""
        return self.payer_open if bucket == "payer" else self.patient_open


def claim_balance(
    billed: Decimal,
    postings: Iterable[PostedAmounts],
    *,
    patient_payments: Iterable[Decimal] = (),
    write_offs: Iterable[tuple[Bucket, Decimal]] = (),
) -> ClaimBalance:
    """Sum a claim's postings (reversals cancel what they reverse), patient payments and write-offs."""
    rows = list(postings)
    offs = list(write_offs)
    return ClaimBalance(
        billed=billed,
        paid=sum((p.paid for p in rows), ZERO),
        contractual=sum((p.contractual for p in rows), ZERO),
        patient_responsibility=sum((p.patient_responsibility for p in rows), ZERO),
        patient_paid=sum(patient_payments, ZERO),
        payer_written_off=sum((amount for bucket, amount in offs if bucket == "payer"), ZERO),
        patient_written_off=sum((amount for bucket, amount in offs if bucket == "patient"), ZERO),
    )


def over_balance_reason(balance: ClaimBalance, bucket: Bucket, amount: Decimal) -> str | None:
    """Why an amount cannot be taken off a bucket (None when it can): it must be positive and at most what is open."""
    if amount <= ZERO:
        return "must be greater than 0"
    available = balance.open_in(bucket)
    if amount > available:
        return f"is more than the open {bucket} balance of the claim ({max(available, ZERO)})"
    return None
