"""Sandbox payer adjudication: allowed share, copay as PR-3, CO-45 for the rest, seeded CO-16 denials, lag."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox.domain import (
    Adjustment,
    Behaviour,
    ChargedLine,
    Denial,
    PayerRules,
    adjudicate,
    balancing_errors,
    clock_date,
    deductible_applied,
    documentation_denial,
    is_documentation_denial,
    member_rejected,
    payment_date,
    reversal_of,
    rule_denial,
)

DOS = date(2026, 9, 14)


def _lines(*amounts: str) -> list[ChargedLine]:
    return [ChargedLine("90834", (), "1", Decimal(a), DOS) for a in amounts]


def test_paid_claim_is_allowed_share_less_copay_with_co45_and_pr3() -> None:
    result = adjudicate(
        submitter="org", claim_id="CF1", lines=_lines("150.00"), behaviour=Behaviour(denial_rate=0), bht_date=DOS
    )
    (line,) = result.lines
    assert result.status == "1"
    assert line.adjustments == (Adjustment("CO", "45", Decimal("30.00")), Adjustment("PR", "3", Decimal("20.00")))
    assert (line.paid, result.paid, result.patient_responsibility) == (Decimal("100.00"), Decimal("100.00"), 20)


def test_copay_is_capped_at_the_allowed_amount_and_spread_over_lines() -> None:
    behaviour = Behaviour(denial_rate=0, copay=Decimal("50.00"))
    result = adjudicate(
        submitter="org", claim_id="CF1", lines=_lines("25.00", "100.00"), behaviour=behaviour, bht_date=DOS
    )
    first, second = result.lines
    assert (first.paid, [a.amount for a in first.adjustments]) == (Decimal("0.00"), [Decimal("5.00"), Decimal("20.00")])
    assert (second.paid, [a.amount for a in second.adjustments]) == (
        Decimal("50.00"),
        [Decimal("20.00"), Decimal("30.00")],
    )
    assert result.patient_responsibility == Decimal("50.00")


def test_documentation_denial_is_co16_with_m76_for_the_whole_charge() -> None:
    result = adjudicate(
        submitter="org", claim_id="CF1", lines=_lines("150", "30.55"), behaviour=Behaviour(denial_rate=1), bht_date=DOS
    )
    assert (result.status, result.paid, result.patient_responsibility) == ("4", 0, 0)
    assert [line.adjustments for line in result.lines] == [
        (Adjustment("CO", "16", Decimal("150")),),
        (Adjustment("CO", "16", Decimal("30.55")),),
    ]
    assert all(line.remarks == ("M76",) for line in result.lines)


def test_denials_are_deterministic_by_seed_and_claim_id_and_near_the_rate() -> None:
    behaviour = Behaviour(denial_rate=0.05, seed="org-1")
    first = [is_documentation_denial(behaviour, f"CF{n}") for n in range(4000)]
    assert first == [is_documentation_denial(behaviour, f"CF{n}") for n in range(4000)]
    assert 0.03 < sum(first) / len(first) < 0.07
    other_seed = [is_documentation_denial(Behaviour(denial_rate=0.05, seed="org-2"), f"CF{n}") for n in range(4000)]
    assert other_seed != first


@pytest.mark.parametrize(
    ("bht", "lag", "expected"),
    [(date(2026, 9, 15), 10, date(2026, 9, 29)), (date(2026, 9, 18), 1, date(2026, 9, 21)), (DOS, 0, DOS)],
)
def test_payment_date_is_the_lag_in_business_days_after_bht04(bht: date, lag: int, expected: date) -> None:
    assert payment_date(bht, Behaviour(payment_lag_business_days=lag)) == expected


def test_sandbox_clock_is_the_later_of_the_set_date_and_the_latest_bht04() -> None:
    assert clock_date(date(2026, 9, 1), date(2026, 9, 15)) == date(2026, 9, 15)
    assert clock_date(date(2026, 10, 1), date(2026, 9, 15)) == date(2026, 10, 1)
    assert clock_date(None, None) is None


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)


@settings(max_examples=200, deadline=None)
@given(
    amounts=st.lists(money, min_size=1, max_size=6),
    pct=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=3),
    copay=st.decimals(min_value=Decimal("0"), max_value=Decimal("300"), places=2),
    denial_rate=st.sampled_from([0.0, 0.5, 1.0]),
    claim=st.text(alphabet="ABCDEFGHJK0123456789", min_size=1, max_size=18),
)
def test_every_adjudication_balances_per_line_claim_and_file(
    amounts: list[Decimal], pct: Decimal, copay: Decimal, denial_rate: float, claim: str
) -> None:
    behaviour = Behaviour(allowed_pct=pct, copay=copay, denial_rate=denial_rate)
    lines = [ChargedLine("90834", (), "1", amount, DOS) for amount in amounts]
    results = [
        adjudicate(submitter="org", claim_id=f"CF{claim}{n}", lines=lines, behaviour=behaviour, bht_date=DOS)
        for n in range(3)
    ]
    assert balancing_errors(results, sum((r.paid for r in results), Decimal("0"))) == []
    for result in results:
        assert result.paid >= 0
        assert result.patient_responsibility <= min(copay, result.charge)


def test_fee_schedule_then_deductible_copay_and_coinsurance_come_out_of_the_allowed_amount() -> None:
    # Fee 95 for 90834: CO-45 = 150 − 95 = 55; deductible 50 (PR-1), copay 20 (PR-3), 20% of the 25 left = 5 (PR-2);
    # the payer pays 95 − 50 − 20 − 5 = 20.
    rules = PayerRules(
        fee_schedules={"*": {"90834": Decimal("95.00")}},
        copay=Decimal("20.00"),
        coinsurance_pct=Decimal("0.20"),
        deductible=Decimal("500.00"),
    )
    result = adjudicate(
        submitter="org",
        claim_id="CF1",
        lines=_lines("150.00"),
        behaviour=Behaviour(denial_rate=0),
        bht_date=DOS,
        rules=rules,
        deductible_left=Decimal("50.00"),
    )
    (line,) = result.lines
    assert line.adjustments == (
        Adjustment("CO", "45", Decimal("55.00")),
        Adjustment("PR", "1", Decimal("50.00")),
        Adjustment("PR", "3", Decimal("20.00")),
        Adjustment("PR", "2", Decimal("5.00")),
    )
    assert (line.paid, result.patient_responsibility, deductible_applied(result)) == (
        Decimal("20.00"),
        Decimal("75.00"),
        Decimal("50.00"),
    )
    assert balancing_errors([result], result.paid) == []


def test_the_practice_fee_schedule_wins_and_never_allows_more_than_the_charge() -> None:
    rules = PayerRules(
        fee_schedules={"1234567893": {"90834": Decimal("200.00")}, "*": {"90834": Decimal("90.00")}},
        copay=Decimal("0"),
    )

    def paid(npi: str) -> Decimal:
        result = adjudicate(
            submitter="org",
            claim_id="CF1",
            lines=_lines("150.00"),
            behaviour=Behaviour(denial_rate=0),
            bht_date=DOS,
            rules=rules,
            billing_npi=npi,
        )
        return result.paid

    assert paid("1234567893") == Decimal("150.00")  # 200 on the schedule, capped at the 150 charged
    assert paid("1999999999") == Decimal("90.00")


RULES = PayerRules(authorization_required_codes=("90834",), timely_filing_days=90)


@pytest.mark.parametrize(
    ("rules", "has_auth", "received", "duplicate_of", "replacement", "expected"),
    [
        (RULES, True, date(2026, 12, 13), None, False, None),  # 90 days after the visit: still in time
        (RULES, True, date(2026, 12, 14), None, False, Denial("CO", "29", None)),
        (RULES, True, date(2026, 12, 14), None, True, None),  # a replacement keeps the original's filing date
        (RULES, False, DOS, None, False, Denial("CO", "197", "M62")),
        (PayerRules(authorization_required_codes=("*",)), False, DOS, None, False, Denial("CO", "197", "M62")),
        (PayerRules(authorization_required_codes=("90837",)), False, DOS, None, False, None),
        (RULES, False, date(2026, 12, 14), "CF0", False, Denial("OA", "18", "N522")),  # duplicate first
    ],
)
def test_rule_violations_visible_on_the_claim_are_denied_deterministically(
    rules: PayerRules,
    has_auth: bool,
    received: date,
    duplicate_of: str | None,
    replacement: bool,
    expected: Denial | None,
) -> None:
    denial = rule_denial(
        rules=rules,
        procedure_codes=["90834", "90785"],
        has_authorization_number=has_auth,
        date_of_service=DOS,
        received=received,
        duplicate_of=duplicate_of,
        replacement=replacement,
    )
    assert denial == expected


def test_a_rule_denial_denies_every_line_in_full_even_at_a_zero_denial_rate() -> None:
    result = adjudicate(
        submitter="org",
        claim_id="CF1",
        lines=_lines("150", "30.55"),
        behaviour=Behaviour(denial_rate=0),
        bht_date=DOS,
        denial=Denial("CO", "197", "M62"),
    )
    assert (result.status, result.paid) == ("4", 0)
    assert [(line.adjustments, line.remarks) for line in result.lines] == [
        ((Adjustment("CO", "197", Decimal("150")),), ("M62",)),
        ((Adjustment("CO", "197", Decimal("30.55")),), ("M62",)),
    ]


def test_documentation_denials_are_co16_or_co50_fixed_by_the_seed() -> None:
    behaviour = Behaviour(denial_rate=1, seed="s")
    kinds = {documentation_denial(behaviour, f"CF{n}") for n in range(200)}
    assert kinds == {Denial("CO", "16", "M76"), Denial("CO", "50", None)}
    assert documentation_denial(behaviour, "CF7") == documentation_denial(behaviour, "CF7")


def test_a_reversal_negates_every_amount_and_still_balances() -> None:
    paid = adjudicate(
        submitter="org", claim_id="CF1", lines=_lines("150.00"), behaviour=Behaviour(denial_rate=0), bht_date=DOS
    )
    reversal = reversal_of(paid, date(2026, 10, 1))
    assert (reversal.status, reversal.charge, reversal.paid, reversal.patient_responsibility) == (
        "22",
        Decimal("-150.00"),
        Decimal("-100.00"),
        Decimal("-20.00"),
    )
    assert reversal.payer_claim_number == paid.payer_claim_number
    assert balancing_errors([paid, reversal], Decimal("0")) == []


@pytest.mark.parametrize(
    ("pattern", "member", "rejected"),
    [("^BAD", "BAD123", True), ("^BAD", "M0001", False), (None, "BAD123", False), ("[", "BAD123", False)],
)
def test_member_id_pattern_rejects_matching_members(pattern: str | None, member: str, rejected: bool) -> None:
    assert member_rejected(Behaviour(reject_member_pattern=pattern), member) is rejected
