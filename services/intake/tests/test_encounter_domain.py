"""Pure intake rules for encounters: coverage on the date of service, authorization policy, minutes, amendments."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from intake import domain
from intake.amendments import amended_input
from intake.encounter_schemas import EncounterAmendmentIn, EncounterIn
from intake.fhir_mapping import fhir_path


def coverage(priority: str, start: str, end: str | None = None) -> dict[str, Any]:
    """A stored coverage's attributes."""
    return {"priority": priority, "start_date": start, "end_date": end, "payer_id": "p", "member_id": "m"}


def test_the_primary_coverage_active_on_the_date_is_billed() -> None:
    coverages = [
        ("old", coverage("primary", "2024-01-01", "2025-12-31")),
        ("second", coverage("secondary", "2026-01-01")),
        ("current", coverage("primary", "2026-01-01")),
    ]
    assert domain.choose_coverage(coverages, date(2026, 5, 4)) == ("current", coverages[2][1], True)


def test_without_an_active_primary_the_active_secondary_is_billed_and_flagged() -> None:
    coverages = [
        ("old", coverage("primary", "2024-01-01", "2025-12-31")),
        ("second", coverage("secondary", "2026-01-01")),
    ]
    chosen = domain.choose_coverage(coverages, date(2026, 5, 4))
    assert chosen is not None
    assert chosen[0] == "second"
    assert chosen[2] is True
    reasons = domain.eligibility_reasons(chosen[1], True, date(2026, 5, 4))
    assert [code for code, _ in reasons] == ["NO-ACTIVE-PRIMARY"]


def test_an_ended_coverage_is_billed_inactive_with_its_plan_dates_in_the_reason() -> None:
    coverages = [("c1", coverage("primary", "2025-01-01", "2026-03-31"))]
    chosen = domain.choose_coverage(coverages, date(2026, 5, 4))
    assert chosen == ("c1", coverages[0][1], False)
    [(code, reason)] = domain.eligibility_reasons(chosen[1], False, date(2026, 5, 4))
    assert code == "COVERAGE-INACTIVE"
    assert "2025-01-01 to 2026-03-31" in reason


def test_coverage_end_date_is_inclusive_and_start_date_too() -> None:
    assert domain.coverage_active(date(2026, 1, 1), date(2026, 3, 31), date(2026, 3, 31))
    assert domain.coverage_active(date(2026, 1, 1), None, date(2026, 1, 1))
    assert not domain.coverage_active(date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 1))


def test_no_coverage_at_all_is_an_eligibility_reason() -> None:
    assert domain.choose_coverage([], date(2026, 5, 4)) is None
    assert [c for c, _ in domain.eligibility_reasons(None, False, date(2026, 5, 4))] == ["NO-COVERAGE"]


def test_the_profile_in_force_is_the_latest_that_started_on_or_before_the_date() -> None:
    profiles = [{"effective_from": "2025-01-01", "n": 1}, {"effective_from": "2026-07-01", "n": 2}]
    assert domain.profile_in_force(profiles, date(2026, 6, 30)) == profiles[0]
    assert domain.profile_in_force(profiles, date(2026, 7, 1)) == profiles[1]
    assert domain.profile_in_force(profiles, date(2024, 12, 31)) is None


@pytest.mark.parametrize(
    ("policy", "service_type", "earlier_visits", "needed"),
    [
        (None, "psychotherapy", 0, False),
        ({"mode": "none"}, "psychotherapy", 0, False),
        ({"mode": "all"}, "psychotherapy", 0, True),
        ({"mode": "listed_codes", "codes": ["90837"]}, "psychotherapy", 0, True),
        ({"mode": "listed_codes", "codes": ["90837"]}, "diagnostic_evaluation", 0, False),
        ({"mode": "listed_codes", "codes": ["90791"]}, "diagnostic_evaluation", 0, True),
        ({"mode": "after_visits", "unmanaged_visits": 2}, "psychotherapy", 1, False),
        ({"mode": "after_visits", "unmanaged_visits": 2}, "psychotherapy", 2, True),
        ({"mode": "after_visits", "unmanaged_visits": 0}, "psychotherapy", 0, True),
    ],
)
def test_authorization_policy_per_payer(
    policy: dict[str, Any] | None, service_type: str, earlier_visits: int, needed: bool
) -> None:
    assert (domain.authorization_required(policy, service_type, earlier_visits) is not None) is needed


def authorization(**overrides: Any) -> dict[str, Any]:
    """A stored authorization's attributes."""
    return {
        "payer_id": "payer-1",
        "number": "A1",
        "start_date": "2026-01-01",
        "end_date": "2026-06-30",
        "service_codes": [],
        "units_approved": 10,
        "units_used": 0,
    } | overrides


@pytest.mark.parametrize(
    ("record", "on", "service_type", "covers"),
    [
        (authorization(), date(2026, 5, 4), "psychotherapy", True),
        (authorization(), date(2026, 7, 1), "psychotherapy", False),
        (authorization(payer_id="payer-2"), date(2026, 5, 4), "psychotherapy", False),
        (authorization(service_codes=["90837", "90834"]), date(2026, 5, 4), "psychotherapy", True),
        (authorization(service_codes=["90791"]), date(2026, 5, 4), "psychotherapy", False),
    ],
)
def test_an_authorization_covers_its_payer_dates_and_code_family(
    record: dict[str, Any], on: date, service_type: str, covers: bool
) -> None:
    assert domain.authorization_covers(record, "payer-1", on, service_type) is covers


def test_an_authorization_with_units_left_is_preferred_over_an_exhausted_newer_one() -> None:
    exhausted = ("a2", authorization(start_date="2026-03-01", units_used=10))
    open_one = ("a1", authorization())
    assert domain.choose_authorization([exhausted, open_one]) == open_one


@pytest.mark.parametrize(
    ("service_type", "minutes", "mdm_level", "missing"),
    [
        ("psychotherapy", {}, None, True),
        ("psychotherapy", {"psychotherapy": 53}, None, False),
        ("crisis", {"psychotherapy": 60}, None, True),
        ("family", {"family": 50}, None, False),
        ("care_management", {}, None, True),
        ("office_visit", {}, None, True),
        ("office_visit", {}, "moderate", False),
        ("office_visit", {"evaluation_and_management": 25}, None, False),
        ("diagnostic_evaluation", {}, None, False),
        ("group", {}, None, False),
    ],
)
def test_minutes_missing_for_time_based_services(
    service_type: str, minutes: dict[str, int], mdm_level: str | None, missing: bool
) -> None:
    assert (domain.missing_minutes(service_type, minutes, mdm_level) is not None) is missing


def test_an_amendment_replaces_what_it_sends_and_merges_minutes_and_flags_by_kind() -> None:
    current = EncounterIn(
        ehr_encounter_id="E1",
        practice_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        date_of_service=date(2026, 5, 4),
        service_type="medication_management",
        minutes={"evaluation_and_management": 20},  # type: ignore[arg-type]
        mdm_level="moderate",
        diagnoses=["F41.1"],
        flags={"patient_status": "established"},  # type: ignore[arg-type]
    )
    amendment = EncounterAmendmentIn.model_validate(
        {"minutes": {"psychotherapy": 30}, "diagnoses": ["F33.1", "F41.1"], "flags": {"family_present": True}}
    )
    updated = amended_input(current, amendment)
    assert updated.minutes.psychotherapy == 30
    assert updated.minutes.evaluation_and_management == 20
    assert updated.diagnoses == ["F33.1", "F41.1"]
    assert updated.flags.family_present is True
    assert updated.flags.patient_status == "established"
    assert updated.mdm_level == "moderate"
    assert updated.practice_id == current.practice_id


def test_pydantic_locations_read_as_fhir_paths() -> None:
    assert fhir_path(("entry", 2, "resource", "code", "coding", 0, "code")) == "entry[2].resource.code.coding[0].code"
    assert fhir_path(()) == "Bundle"
