"""Pure intake rules: identifier checks, diagnosis code status by date of service, coverage on a date."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from types import ModuleType
from typing import Literal

# The packaged ICD-10-CM tabular (simple-icd-10-cm) is the FY2026 set, valid 2025-10-01 to 2026-09-30.
PACKAGED_CODE_SET_START = date(2025, 10, 1)
PACKAGED_CODE_SET_END = date(2026, 9, 30)
ICD10_START = date(2015, 10, 1)

DiagnosisStatus = Literal["billable", "not_billable", "unknown", "beyond_code_set"]


def npi_is_valid(npi: str) -> bool:
    """NPI check digit: Luhn over the 9-digit base with the 80840 prefix (CMS NPI standard)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(d) for d in "80840" + npi[:9]]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def with_npi_check_digit(base9: str) -> str:
    """A valid NPI from a 9-digit base (demo and test data)."""
    for check in range(10):
        if npi_is_valid(base9 + str(check)):
            return base9 + str(check)
    raise ValueError("no check digit found")


@lru_cache(maxsize=1)
def _code_set() -> ModuleType:
    """The packaged ICD-10-CM code set, loaded once on first use."""
    import simple_icd_10_cm

    module: ModuleType = simple_icd_10_cm
    return module


def diagnosis_status(code: str, date_of_service: date) -> DiagnosisStatus:
    """Whether an ICD-10-CM code can be billed on a date: billable leaf, category only, unknown, or past the set."""
    codes = _code_set()
    if not codes.is_valid_item(code):
        return "unknown"
    if not codes.is_leaf(code):
        return "not_billable"
    if date_of_service > PACKAGED_CODE_SET_END:
        return "beyond_code_set"
    return "billable"


def coverage_active(start: date, end: date | None, on: date) -> bool:
    """Whether a coverage's plan dates include a date of service."""
    return start <= on and (end is None or on <= end)


def warm_up() -> None:
    """Load the code set at start-up so the first request does not pay for it."""
    _code_set()
