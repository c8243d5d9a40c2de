"""Money always balances: billed = paid + patient responsibility + adjustments + open balance, for every claim."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from remittance.domain import assess_claim
from remittance.era import read_835
from remittance.ledger import ClaimBalance, PostedAmounts, claim_balance, over_balance_reason

from services.remittance.tests.conftest import era_text

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Adjudication:
    """How a payer split a billed amount (cents): the generator's own truth, independent of the code under test."""

    paid: int
    contractual: int
    copay: int
    denied: int
    informational: int

    def clp(self, billed: int, status: str = "1") -> str:
        """The CLP loop of this split, written the way a payer would."""
        money = {name: Decimal(value) * CENT for name, value in vars(self).items()}
        total = Decimal(billed) * CENT
        segments = [
            f"CLP*C1*{status}*{total}*{money['paid']}*{money['copay']}*12*PCN1",
            f"SVC*HC:90834*{total}*{money['paid']}**1",
        ]
        for group, carc, name in (("CO", "45", "contractual"), ("PR", "3", "copay"), ("CO", "197", "denied")):
            if money[name]:
                segments.append(f"CAS*{group}*{carc}*{money[name]}")
        if money["informational"]:
            segments.append(f"CAS*OA*23*{money['informational']}")
        return "\n".join(segments)


def reversal_of(clp: str) -> str:
    """The CLP02 22 reversal of a posted CLP: same loop, status 22, amounts negated."""
    lines = []
    for segment in clp.splitlines():
        elements = segment.split("*")
        if elements[0] == "CLP":
            elements[1:6] = ["C1", "22", *(f"-{v}" if v and v != "0" else v for v in elements[3:6])]
        elif elements[0] == "SVC":
            elements[2:4] = [f"-{v}" for v in elements[2:4]]
        elif elements[0] == "CAS":
            elements[3] = f"-{elements[3]}"
        lines.append("*".join(elements))
    return "\n".join(lines)


@st.composite
def adjudications(draw: st.DrawFn, billed: int) -> Adjudication:
    """A random split of the billed cents into paid, contractual, copay, denied and informational parts."""
    cuts = sorted(draw(st.lists(st.integers(0, billed), min_size=4, max_size=4)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, billed], strict=True)]
    return Adjudication(*parts)


def posted(clp: str) -> PostedAmounts:
    """Read a CLP from a real 835 text and keep what the ledger needs."""
    claim = read_835(era_text([clp], payment="0")).transactions[0].claims[0]
    assessment = assess_claim(claim)
    return PostedAmounts(assessment.paid_amount, assessment.contractual_amount, assessment.patient_responsibility)


operations = st.lists(
    st.tuples(st.sampled_from(["patient_payment", "payer_write_off", "patient_write_off"]), st.integers(-500, 20_000)),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), billed=st.integers(1, 100_000), reversed_and_repaid=st.booleans(), ops=operations)
def test_billed_equals_paid_plus_patient_responsibility_plus_adjustments_plus_open_balance(
    data: st.DataObject, billed: int, reversed_and_repaid: bool, ops: list[tuple[str, int]]
) -> None:
    first = data.draw(adjudications(billed))
    rows = [posted(first.clp(billed))]
    final = first
    if reversed_and_repaid:
        final = data.draw(adjudications(billed))
        rows += [posted(reversal_of(first.clp(billed))), posted(final.clp(billed))]
    patient_paid = payer_off = patient_off = 0
    payments: list[Decimal] = []
    write_offs: list[tuple[str, Decimal]] = []
    for kind, cents in ops:
        balance = claim_balance(Decimal(billed) * CENT, rows, patient_payments=payments, write_offs=write_offs)
        bucket = "payer" if kind == "payer_write_off" else "patient"
        amount = Decimal(cents) * CENT
        allowed_now = (
            (final.copay - patient_paid - patient_off)
            if bucket == "patient"
            else (final.denied + final.informational - payer_off)
        )
        refused = over_balance_reason(balance, bucket, amount)
        assert (refused is None) == (0 < cents <= allowed_now)
        if refused is not None:
            continue
        if kind == "patient_payment":
            payments.append(amount)
            patient_paid += cents
        else:
            write_offs.append((bucket, amount))
            payer_off += cents if bucket == "payer" else 0
            patient_off += cents if bucket == "patient" else 0

    balance: ClaimBalance = claim_balance(
        Decimal(billed) * CENT,
        rows,
        patient_payments=payments,
        write_offs=write_offs,
    )

    assert balance.paid == Decimal(final.paid) * CENT
    assert balance.patient_responsibility == Decimal(final.copay) * CENT
    assert balance.payer_open == Decimal(final.denied + final.informational - payer_off) * CENT
    assert balance.patient_open == Decimal(final.copay - patient_paid - patient_off) * CENT
    assert balance.payer_open >= 0
    assert balance.patient_open >= 0
    assert (
        balance.billed
        == (balance.paid + balance.patient_responsibility + balance.contractual + balance.payer_written_off)
        + balance.payer_open
    )
    assert balance.patient_responsibility == balance.patient_paid + balance.patient_written_off + balance.patient_open
    assert balance.billed == (balance.paid + balance.patient_paid + balance.adjustments + balance.open_balance)


def test_domain_worked_example_c1_leaves_the_copay_in_patient_ar() -> None:
    # DOMAIN.md 6: billed 150, paid 100 with CO-45 30 and PR-3 20 -> A/R 20, all of it the patient's.
    balance = claim_balance(Decimal("150"), [PostedAmounts(Decimal("100"), Decimal("30"), Decimal("20"))])
    assert (balance.payer_open, balance.patient_open, balance.open_balance) == (0, Decimal("20"), Decimal("20"))


def test_domain_worked_example_c2_keeps_the_denied_charge_in_payer_ar() -> None:
    # DOMAIN.md 6: billed 150, denied CO-197 -> 150 stays in A/R until paid, corrected or written off.
    balance = claim_balance(Decimal("150"), [PostedAmounts(Decimal("0"), Decimal("0"), Decimal("0"))])
    assert balance.payer_open == Decimal("150")
    assert over_balance_reason(balance, "payer", Decimal("150.01")) is not None
    assert over_balance_reason(balance, "payer", Decimal("150")) is None


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_an_amount_that_is_not_positive_is_refused(amount: str) -> None:
    balance = claim_balance(Decimal("150"), [])
    assert over_balance_reason(balance, "payer", Decimal(amount)) == "must be greater than 0"
