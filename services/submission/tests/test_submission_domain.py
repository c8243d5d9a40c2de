"""Submission's pure rules beside the scrubber: NPI check digits, claim ids, the payer profile in force and its filing
window, benefit periods, NCCI rows, no-response and timely-filing follow-up, authorization burn-down, rework codes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from submission import domain, rules


@pytest.mark.parametrize(
    ("npi", "valid"),
    [("1234567893", True), ("1245319599", True), ("1234567890", False), ("123456789", False), ("12345678A3", False)],
)
def test_npi_check_digit_uses_luhn_with_prefix_80840(npi: str, valid: bool) -> None:
    assert domain.npi_is_valid(npi) is valid


def test_claim_ids_are_18_crockford_characters_and_unique() -> None:
    ids = {domain.new_claim_id() for _ in range(2000)}
    assert len(ids) == 2000
    for claim_id in ids:
        assert len(claim_id) == 18 <= 20
        assert claim_id.startswith("CF")
        assert set(claim_id[2:]) <= set(domain.CROCKFORD_ALPHABET)


@pytest.mark.parametrize(
    ("profiles", "on", "days"),
    [
        ([], date(2026, 9, 1), 365),
        ([{"effective_from": "2026-01-01", "timely_filing_days": 90}], date(2026, 9, 1), 90),
        (
            [
                {"effective_from": "2026-01-01", "timely_filing_days": 90},
                {"effective_from": "2026-10-01", "timely_filing_days": 180},
            ],
            date(2026, 9, 1),
            90,
        ),
        (
            [
                {"effective_from": "2026-10-01", "timely_filing_days": 180},
                {"effective_from": "2026-01-01", "timely_filing_days": 90},
            ],
            date(2026, 10, 1),
            180,
        ),
        ([{"effective_from": "2027-01-01", "timely_filing_days": 90}], date(2026, 9, 1), 365),
    ],
)
def test_the_profile_in_force_on_the_date_of_service_gives_the_filing_window(
    profiles: list[dict[str, Any]], on: date, days: int
) -> None:
    payer = domain.payer_from_replica({"entity_type": "payer", "name": "P", "x12_payer_id": "P1", "profiles": profiles})
    assert domain.timely_filing_days(domain.profile_in_force(payer, on)) == days


@pytest.mark.parametrize(
    ("period", "on", "plan_start", "expected"),
    [
        ("calendar_year", date(2026, 9, 14), None, (date(2026, 1, 1), date(2026, 12, 31))),
        ("plan_year", date(2026, 9, 14), date(2024, 10, 1), (date(2025, 10, 1), date(2026, 9, 30))),
        ("plan_year", date(2026, 10, 1), date(2024, 10, 1), (date(2026, 10, 1), date(2027, 9, 30))),
        ("plan_year", date(2026, 9, 14), None, (date(2026, 1, 1), date(2026, 12, 31))),
        ("rolling_12_months", date(2026, 9, 14), None, (date(2025, 9, 15), date(2026, 9, 14))),
    ],
)
def test_benefit_periods(period: Any, on: date, plan_start: date | None, expected: tuple[date, date]) -> None:
    assert domain.benefit_period(period, on, plan_start) == expected


def test_ncci_rows_load_into_the_pair_table_with_dates_and_indicator() -> None:
    (pair,) = rules.pairs_from_ncci_rows([("90834", "90847", "", "20260101", "*", "1")])
    assert (pair.column_one, pair.column_two, pair.modifier_indicator) == ("90834", "90847", 1)
    assert pair.in_force(date(2026, 1, 1))
    assert not pair.in_force(date(2025, 12, 31))


@pytest.mark.parametrize(
    ("submitted", "follow_up", "as_of", "due"),
    [
        (date(2026, 9, 15), 30, date(2026, 10, 15), False),
        (date(2026, 9, 15), 30, date(2026, 10, 16), True),
        (date(2026, 9, 15), 45, date(2026, 10, 30), False),
        (date(2026, 9, 15), 45, date(2026, 10, 31), True),
    ],
)
def test_no_response_is_due_after_the_payers_follow_up_days(
    submitted: date, follow_up: int, as_of: date, due: bool
) -> None:
    assert domain.no_response_due(submitted, follow_up, as_of) is due


@pytest.mark.parametrize(
    ("window", "as_of", "at_risk"),
    [
        (90, date(2026, 11, 25), False),  # 72 days = 80% of 90
        (90, date(2026, 11, 26), True),
        (365, date(2027, 6, 1), False),  # 260 days; 80% of 365 is 292
        (365, date(2027, 7, 4), True),  # 293 days
    ],
)
def test_timely_filing_risk_past_80_percent_of_the_window(window: int, as_of: date, at_risk: bool) -> None:
    assert domain.timely_filing_at_risk(date(2026, 9, 14), window, as_of) is at_risk


@pytest.mark.parametrize(
    ("approved", "used", "end", "as_of", "fires"),
    [
        (10, 7, date(2026, 12, 31), date(2026, 9, 15), False),
        (10, 8, date(2026, 12, 31), date(2026, 9, 15), True),  # 80% used
        (12, 9, date(2026, 12, 31), date(2026, 9, 15), False),  # 75% used
        (12, 3, date(2026, 9, 30), date(2026, 9, 15), False),  # 15 days left
        (12, 3, date(2026, 9, 29), date(2026, 9, 15), True),  # 14 days left
    ],
)
def test_authorization_burn_down_at_80_percent_used_or_14_days_left(
    approved: int, used: int, end: date, as_of: date, fires: bool
) -> None:
    why = domain.authorization_burning_down(units_approved=approved, units_used=used, end_date=end, as_of=as_of)
    assert (why is not None) is fires


@pytest.mark.parametrize(
    ("payer_has_claim", "void", "frequency"), [(False, False, "1"), (True, False, "7"), (True, True, "8")]
)
def test_rework_frequency_codes(payer_has_claim: bool, void: bool, frequency: str) -> None:
    assert domain.next_frequency(payer_has_claim=payer_has_claim, void=void) == frequency
