"""Underpayments: a paid line whose allowed amount is below the payer's contracted fee. No I/O.

allowed = line paid + the patient's share of that line; contracted = the fee schedule entry's amount for the payer,
code and modifier in force on the date of service, times the units paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from remittance.era import ClaimPayment, ServiceLinePayment

ZERO = Decimal("0")


@dataclass(frozen=True)
class ContractedFee:
    """One fee_schedule_entry of the reference replica, as the underpayment check needs it."""

    entry_id: str
    payer_id: str | None
    code: str
    modifier: str | None
    amount: Decimal
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True)
class Underpayment:
    """A line paid below contract, with the difference to follow up."""

    line_number: int
    procedure_code: str
    modifier: str | None
    entry_id: str
    paid_amount: Decimal
    patient_responsibility: Decimal
    allowed_amount: Decimal
    contracted_amount: Decimal

    @property
    def difference(self) -> Decimal:
        """How much the payer is short."""
        return self.contracted_amount - self.allowed_amount


def contracted_fee(
    fees: Iterable[ContractedFee], *, payer_id: str, code: str, modifiers: tuple[str, ...], service_date: date
) -> ContractedFee | None:
    """The payer's fee in force for a code on a date; an entry for the line's first modifier beats one without."""
    first_modifier = modifiers[0] if modifiers else None
    candidates = [
        fee
        for fee in fees
        if fee.payer_id == payer_id
        and fee.code == code
        and fee.modifier in (None, first_modifier)
        and fee.effective_from <= service_date
        and (fee.effective_to is None or service_date <= fee.effective_to)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda fee: (fee.modifier is not None, fee.effective_from))


def _patient_share(claim: ClaimPayment, line: ServiceLinePayment) -> Decimal:
    share = sum((a.amount for a in line.adjustments if a.group_code == "PR"), ZERO)
    if len(claim.lines) == 1:
        # With one line, claim-level patient responsibility can only belong to it.
        share += sum((a.amount for a in claim.adjustments if a.group_code == "PR"), ZERO)
    return share


def find_underpayments(
    claim: ClaimPayment, fees: Iterable[ContractedFee], *, payer_id: str, fallback_date: date
) -> list[Underpayment]:
    """Every paid line of a CLP whose allowed amount is below the contracted fee."""
    fee_list = list(fees)
    found: list[Underpayment] = []
    for line in claim.lines:
        if line.paid_amount <= ZERO:
            continue
        service_date = line.service_date or claim.dates.get("232") or fallback_date
        fee = contracted_fee(
            fee_list, payer_id=payer_id, code=line.procedure_code, modifiers=line.modifiers, service_date=service_date
        )
        if fee is None:
            continue
        units = line.units if line.units and line.units > ZERO else Decimal("1")
        patient = _patient_share(claim, line)
        allowed = line.paid_amount + patient
        contracted = (fee.amount * units).quantize(Decimal("0.01"))
        if allowed < contracted:
            found.append(
                Underpayment(
                    line_number=line.line_number,
                    procedure_code=line.procedure_code,
                    modifier=fee.modifier,
                    entry_id=fee.entry_id,
                    paid_amount=line.paid_amount,
                    patient_responsibility=patient,
                    allowed_amount=allowed,
                    contracted_amount=contracted,
                )
            )
    return found
