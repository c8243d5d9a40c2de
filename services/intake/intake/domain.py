"""Pure intake rules: identifiers, coverage, authorization and minutes checks (diagnosis codes: shared.icd10)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

PRIORITY_ORDER = {"primary": 0, "secondary": 1, "tertiary": 2}

# The procedure codes a service type is likely to be billed with (to match payer auth lists and auth codes).
LIKELY_CODES: dict[str, frozenset[str]] = {
    "psychotherapy": frozenset({"90832", "90834", "90837", "90833", "90836", "90838", "90785"}),
    "diagnostic_evaluation": frozenset({"90791", "90792", "90785"}),
    "medication_management": frozenset({"99212", "99213", "99214", "99215", "90833", "90836", "90838"}),
    "crisis": frozenset({"90839", "90840"}),
    "family": frozenset({"90846", "90847", "90849"}),
    "group": frozenset({"90853", "90785"}),
    "care_management": frozenset({"99492", "99493", "99494", "G2214", "99484"}),
    "office_visit": frozenset({"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"}),
    "preventive": frozenset({f"9938{n}" for n in range(1, 8)} | {f"9939{n}" for n in range(1, 8)}),
}

# Which documented minutes a time-based service cannot be coded without.
_MINUTES_NEEDED = {
    "psychotherapy": "psychotherapy",
    "crisis": "crisis",
    "family": "family",
    "care_management": "care_management",
}


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


def coverage_active(start: date, end: date | None, on: date) -> bool:
    """Whether a coverage's plan dates include a date of service."""
    return start <= on and (end is None or on <= end)


def _dates(record: dict[str, Any]) -> tuple[date, date | None]:
    """Start and end dates of a stored coverage or authorization."""
    end = record.get("end_date")
    return date.fromisoformat(record["start_date"]), date.fromisoformat(end) if end else None


def choose_coverage(
    coverages: Sequence[tuple[Any, dict[str, Any]]], date_of_service: date
) -> tuple[Any, dict[str, Any], bool] | None:
    """The coverage to bill: the best-priority one active on the date, else the latest primary (inactive).

    Returns (coverage id, attributes, active on the date) or None when the patient has no coverage at all.
    """
    active = [c for c in coverages if coverage_active(*_dates(c[1]), date_of_service)]
    if active:
        best = min(active, key=lambda c: (PRIORITY_ORDER.get(c[1].get("priority", "primary"), 9), c[1]["start_date"]))
        return best[0], best[1], True
    if not coverages:
        return None
    latest = min(
        coverages,
        key=lambda c: (PRIORITY_ORDER.get(c[1].get("priority", "primary"), 9), _neg_ordinal(c[1]["start_date"])),
    )
    return latest[0], latest[1], False


def _neg_ordinal(iso_date: str) -> int:
    """Sort key putting later dates first."""
    return -date.fromisoformat(iso_date).toordinal()


def eligibility_reasons(coverage: dict[str, Any] | None, active: bool, date_of_service: date) -> list[tuple[str, str]]:
    """Eligibility work-queue reasons (reason code, plain words) for the chosen coverage."""
    if coverage is None:
        return [("NO-COVERAGE", "patient has no coverage on file")]
    if not active:
        start, end = _dates(coverage)
        period = f"{start} to {end}" if end else f"from {start}"
        return [("COVERAGE-INACTIVE", f"coverage is not active on {date_of_service} (plan dates {period})")]
    if coverage.get("priority", "primary") != "primary":
        return [
            (
                "NO-ACTIVE-PRIMARY",
                f"no primary coverage is active on {date_of_service}; billing the {coverage['priority']} coverage",
            )
        ]
    return []


def profile_in_force(profiles: Sequence[dict[str, Any]], date_of_service: date) -> dict[str, Any] | None:
    """The payer profile in force on a date: the latest one that took effect on or before it."""
    started = [p for p in profiles if date.fromisoformat(str(p["effective_from"])) <= date_of_service]
    return max(started, key=lambda p: date.fromisoformat(str(p["effective_from"]))) if started else None


def authorization_covers(
    authorization: dict[str, Any], payer_id: str, date_of_service: date, service_type: str
) -> bool:
    """Whether an authorization is with the payer, includes the date and covers the service's code family."""
    if str(authorization.get("payer_id")) != payer_id:
        return False
    if not coverage_active(*_dates(authorization), date_of_service):
        return False
    codes = set(authorization.get("service_codes") or [])
    return not codes or bool(codes & LIKELY_CODES.get(service_type, frozenset()))


def choose_authorization(candidates: Sequence[tuple[Any, dict[str, Any]]]) -> tuple[Any, dict[str, Any]] | None:
    """Among covering authorizations, one with units left first, then the most recent."""
    if not candidates:
        return None

    def rank(candidate: tuple[Any, dict[str, Any]]) -> tuple[int, int]:
        record = candidate[1]
        exhausted = int(record.get("units_used", 0)) >= int(record.get("units_approved", 0))
        return (1 if exhausted else 0, _neg_ordinal(record["start_date"]))

    return min(candidates, key=rank)


def authorization_required(
    policy: dict[str, Any] | None, service_type: str, earlier_visits_this_year: int
) -> str | None:
    """Why the payer wants an authorization for this visit, or None (DOMAIN.md section 4, per payer)."""
    if not policy:
        return None
    mode = policy.get("mode", "none")
    if mode == "all":
        return "the payer requires an authorization for every visit"
    if mode == "listed_codes":
        listed = sorted(set(policy.get("codes") or []) & LIKELY_CODES.get(service_type, frozenset()))
        if listed:
            return f"the payer requires an authorization for {', '.join(listed)}"
    if mode == "after_visits":
        allowed = int(policy.get("unmanaged_visits") or 0)
        if earlier_visits_this_year >= allowed:
            return (
                f"the payer allows {allowed} visits per calendar year without authorization; "
                f"this is visit {earlier_visits_this_year + 1}"
            )
    return None


def missing_minutes(service_type: str, minutes: dict[str, int | None], mdm_level: str | None) -> str | None:
    """Why a time-based service cannot be coded (minutes missing), or None."""
    kind = _MINUTES_NEEDED.get(service_type)
    if kind is not None and minutes.get(kind) is None:
        return f"{kind.replace('_', ' ')} minutes are not documented for a {service_type.replace('_', ' ')} visit"
    if service_type == "office_visit" and mdm_level is None and minutes.get("evaluation_and_management") is None:
        return "an office visit needs E/M total minutes or an MDM level"
    return None
