"""Scrubber edits, one row per rule: which edit fires for which claim problem."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from submission import domain

from shared.events.charge import ChargeLine


def _line(**changes: Any) -> ChargeLine:
    facts: dict[str, Any] = {
        "line_number": 1,
        "procedure_code": "90834",
        "units": 1,
        "diagnosis_pointers": [1],
        "place_of_service": "11",
        "amount": Decimal("150.00"),
    }
    facts.update(changes)
    return ChargeLine(**facts)


def _provider(charges: Any, npi: str) -> Any:
    return charges.make().provider.model_copy(update={"npi": npi})


def _coverage(charges: Any, **changes: Any) -> Any:
    return charges.make().coverage.model_copy(update=changes)


# (test id, how the claim differs from a clean one, submission date, filing window, rule ids expected)
CASES: list[tuple[str, Any, date, int, set[str]]] = [
    ("clean claim passes", lambda c: {}, date(2026, 9, 15), 365, set()),
    ("no coverage", lambda c: {"coverage": None}, date(2026, 9, 15), 365, {"ELIG-NO-COVERAGE"}),
    (
        "coverage inactive on the date of service",
        lambda c: {"coverage": _coverage(c, active_on_date_of_service=False)},
        date(2026, 9, 15),
        365,
        {"ELIG-INACTIVE"},
    ),
    (
        "payer without X12 id",
        lambda c: {"coverage": _coverage(c, x12_payer_id=" ")},
        date(2026, 9, 15),
        365,
        {"PAYER-ID-MISSING"},
    ),
    ("blank diagnosis", lambda c: {"diagnoses": [" "]}, date(2026, 9, 15), 365, {"DX-MISSING", "DX-POINTER"}),
    (
        "pointer beyond the diagnoses",
        lambda c: {"lines": [_line(diagnosis_pointers=[1, 3])]},
        date(2026, 9, 15),
        365,
        {"DX-POINTER"},
    ),
    ("no service lines", lambda c: {"lines": []}, date(2026, 9, 15), 365, {"LINES-MISSING"}),
    ("zero charge", lambda c: {"lines": [_line(amount=Decimal("0"))]}, date(2026, 9, 15), 365, {"LINE-AMOUNT"}),
    (
        "rendering NPI fails Luhn",
        lambda c: {"provider": _provider(c, "1245319598")},
        date(2026, 9, 15),
        365,
        {"PROV-NPI"},
    ),
    (
        "billing NPI fails Luhn",
        lambda c: {"practice": c.make().practice.model_copy(update={"npi": "1234567890"})},
        date(2026, 9, 15),
        365,
        {"BILL-NPI"},
    ),
    (
        "TIN not 9 digits",
        lambda c: {"practice": c.make().practice.model_copy(update={"tin": "12-345"})},
        date(2026, 9, 15),
        365,
        {"BILL-TIN"},
    ),
    ("inside a 90-day window", lambda c: {}, date(2026, 12, 13), 90, set()),
    ("one day past a 90-day window", lambda c: {}, date(2026, 12, 14), 90, {"TIMELY-FILING"}),
    ("past the default 365 days", lambda c: {}, date(2027, 9, 15), 365, {"TIMELY-FILING"}),
]


@pytest.mark.parametrize(
    ("changes", "submitted", "window", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_scrubber_edit_fires_exactly_for_its_problem(
    charges: Any, changes: Any, submitted: date, window: int, expected: set[str]
) -> None:
    charge = charges.make(**changes(charges))
    result = domain.scrub_claim(domain.ScrubInput(charge=charge, submission_date=submitted, timely_filing_days=window))
    assert {edit.rule_id for edit in result.edits} == expected
    assert result.passed is (not expected)
    assert all(edit.reason and edit.severity == "error" for edit in result.edits)


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
    ("payer", "on", "days"),
    [
        (None, date(2026, 9, 1), 365),
        ({"profiles": []}, date(2026, 9, 1), 365),
        ({"profiles": [{"effective_from": "2026-01-01", "timely_filing_days": 90}]}, date(2026, 9, 1), 90),
        (
            {
                "profiles": [
                    {"effective_from": "2026-01-01", "timely_filing_days": 90},
                    {"effective_from": "2026-10-01", "timely_filing_days": 180},
                ]
            },
            date(2026, 9, 1),
            90,
        ),
        ({"profiles": [{"effective_from": "2027-01-01", "timely_filing_days": 90}]}, date(2026, 9, 1), 365),
    ],
)
def test_timely_filing_window_comes_from_the_profile_in_force(payer: Any, on: date, days: int) -> None:
    assert domain.timely_filing_days(payer, on) == days
