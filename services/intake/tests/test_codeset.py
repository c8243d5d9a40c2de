"""ICD-10-CM validation by date of service (DOMAIN.md 3.10): packaged FY2026 set and CMS release files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared import icd10

FIXTURES = Path(__file__).parent / "fixtures"
FY2027 = icd10.CodeFile(fiscal_year=2027, path=FIXTURES / "icd10cm-order-2027.txt")


@pytest.fixture(scope="module")
def packaged_only() -> tuple[icd10.CodeSet, ...]:
    """The packaged FY2026 set alone (no newer release loaded)."""
    return icd10.load_code_sets([])


@pytest.fixture(scope="module")
def with_fy2027() -> tuple[icd10.CodeSet, ...]:
    """FY2026 plus the FY2027 fixture release."""
    return icd10.load_code_sets([FY2027])


def test_order_file_marks_billable_codes_and_headers() -> None:
    codes = icd10.parse_cms_release((FIXTURES / "icd10cm-order-2027.txt").read_text().splitlines())
    assert codes["F411"] is True
    assert codes["F41"] is False
    assert codes["F431"] is False
    assert codes["F4112"] is True
    assert "F331" not in codes
    assert len(codes) == 10


def test_codes_file_lists_billable_codes_and_their_prefixes_are_categories() -> None:
    codes = icd10.parse_cms_release((FIXTURES / "icd10cm-codes-2027.txt").read_text().splitlines())
    assert codes["F4310"] is True
    assert codes["F431"] is False
    assert codes["F43"] is False
    assert codes["F32A"] is True
    assert "F33" not in codes


def test_a_line_in_neither_format_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="not a CMS ICD-10-CM release line"):
        icd10.parse_cms_release(["this is not a release file"])


def test_a_release_defaults_to_its_fiscal_year_dates(with_fy2027: tuple[icd10.CodeSet, ...]) -> None:
    fy2027 = next(s for s in with_fy2027 if s.label == "FY2027")
    assert (fy2027.valid_from, fy2027.valid_to) == (date(2026, 10, 1), date(2027, 9, 30))
    assert [s.label for s in with_fy2027] == ["FY2026", "FY2027"]


def test_release_files_come_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CLAIMFLOW_ICD10_CODE_FILES",
        f'[{{"fiscal_year": 2027, "path": "{FIXTURES / "icd10cm-codes-2027.txt"}", "valid_from": "2026-10-01"}}]',
    )
    sets = icd10.load_code_sets()
    assert [s.label for s in sets] == ["FY2026", "FY2027"]
    assert sets[1].billable("F41.12") is True


@pytest.mark.parametrize(
    ("code", "date_of_service", "outcome", "reason_code"),
    [
        ("F41.1", date(2026, 5, 4), "billable", ""),
        ("F41", date(2026, 5, 4), "held", "DX-NOT-BILLABLE"),
        ("F43.1", date(2026, 5, 4), "held", "DX-NOT-BILLABLE"),
        ("F99.999", date(2026, 5, 4), "refused", ""),
        ("296.30", date(2026, 5, 4), "refused", ""),
        # After 2026-09-30 without a newer release: checked against FY2026 with a visible warning.
        ("F41.1", date(2026, 11, 15), "held", "DX-CODE-SET-PENDING"),
        ("F41.12", date(2026, 11, 15), "held", "DX-CODE-SET-PENDING"),
        ("U99.9", date(2026, 11, 15), "refused", ""),
        # Before FY2026 the packaged set is the nearest one: still a warning, never silently billable.
        ("F41.1", date(2024, 3, 1), "held", "DX-CODE-SET-PENDING"),
    ],
)
def test_packaged_set_alone(
    packaged_only: tuple[icd10.CodeSet, ...], code: str, date_of_service: date, outcome: str, reason_code: str
) -> None:
    finding = icd10.diagnosis_finding(code, date_of_service, packaged_only)
    assert (finding.outcome, finding.reason_code) == (outcome, reason_code)


@pytest.mark.parametrize(
    ("code", "date_of_service", "outcome", "reason_code"),
    [
        ("F41.12", date(2026, 11, 15), "billable", ""),
        ("F41.1", date(2026, 11, 15), "billable", ""),
        ("F41", date(2026, 11, 15), "held", "DX-NOT-BILLABLE"),
        # In FY2026 but not in FY2027: exists, yet not valid on that date.
        ("F33.1", date(2026, 11, 15), "held", "DX-NOT-VALID-ON-DATE"),
        # New in FY2027: not valid for a FY2026 date of service.
        ("F41.12", date(2026, 9, 30), "held", "DX-NOT-VALID-ON-DATE"),
        ("F33.1", date(2026, 9, 30), "billable", ""),
        ("F99.999", date(2026, 11, 15), "refused", ""),
        ("F41.1", date(2027, 10, 1), "held", "DX-CODE-SET-PENDING"),
    ],
)
def test_with_a_newer_release_loaded(
    with_fy2027: tuple[icd10.CodeSet, ...], code: str, date_of_service: date, outcome: str, reason_code: str
) -> None:
    finding = icd10.diagnosis_finding(code, date_of_service, with_fy2027)
    assert (finding.outcome, finding.reason_code) == (outcome, reason_code)


def test_the_pending_warning_names_the_set_used(packaged_only: tuple[icd10.CodeSet, ...]) -> None:
    finding = icd10.diagnosis_finding("F41.1", date(2026, 11, 15), packaged_only)
    assert "checked against FY2026" in finding.reason
    assert "2026-11-15" in finding.reason


@pytest.mark.parametrize(
    ("raw", "normalized"), [("F411", "F41.1"), ("f41.1", "F41.1"), (" F32A ", "F32.A"), ("F41", "F41")]
)
def test_codes_are_normalized_to_the_dotted_form(raw: str, normalized: str) -> None:
    assert icd10.normalize_diagnosis(raw) == normalized
