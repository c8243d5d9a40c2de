"""Adjustment classes (DOMAIN.md 5.2) and root causes (5.3): one row per line of the tables."""

from __future__ import annotations

import pytest
from remittance.tables import claim_status_class, classify_adjustment, root_cause_of

# DOMAIN.md 5.2, one row per (group, CARC) the table names, plus the fall-through rows.
ADJUSTMENT_CLASS_ROWS = [
    ("PR", "1", "cost_share"),
    ("PR", "2", "cost_share"),
    ("PR", "3", "cost_share"),
    ("PR", "66", "cost_share"),
    ("CO", "45", "contractual"),
    ("CO", "253", "contractual"),
    ("CO", "59", "contractual"),
    ("CO", "24", "contractual"),
    ("CO", "94", "contractual"),
    ("CO", "131", "contractual"),
    ("CO", "A2", "contractual"),
    ("OA", "23", "informational"),
    ("PR", "26", "denial_patient"),
    ("PR", "27", "denial_patient"),
    ("PR", "96", "denial_patient"),
    ("PR", "119", "denial_patient"),
    ("PR", "204", "denial_patient"),
    ("CO", "197", "denial"),
    ("OA", "18", "denial"),
    ("PI", "16", "denial"),
    ("OA", "94", "denial"),
    ("CO", "999", "denial"),
]


@pytest.mark.parametrize(("group", "carc", "expected"), ADJUSTMENT_CLASS_ROWS)
def test_adjustment_class_follows_the_domain_table(group: str, carc: str, expected: str) -> None:
    assert classify_adjustment(group, carc).adjustment_class == expected


def test_an_unknown_group_is_a_denial_and_flagged_as_unknown_not_guessed() -> None:
    classification = classify_adjustment("ZZ", "45")
    assert classification.adjustment_class == "denial"
    assert not classification.known_group


@pytest.mark.parametrize(
    ("status", "expected"),
    [("4", "denial"), ("19", "informational"), ("20", "informational"), ("21", "informational"), ("1", None)],
)
def test_claim_status_class_marks_clp02_4_as_denial_and_forwarded_claims_as_informational(
    status: str, expected: str | None
) -> None:
    assert claim_status_class(status) == expected


# DOMAIN.md 5.3: (group, CARC, RARCs, telehealth line, root cause), one row per code the table lists.
ROOT_CAUSE_ROWS = [
    ("CO", "197", (), False, "authorization_missing"),
    ("CO", "15", (), False, "authorization_missing"),
    ("CO", "284", (), False, "authorization_missing"),
    ("CO", "296", (), False, "authorization_missing"),
    ("CO", "16", ("M62",), False, "authorization_missing"),
    ("CO", "16", ("N54",), False, "authorization_missing"),
    ("CO", "39", (), False, "authorization_denied"),
    ("CO", "198", (), False, "authorization_exhausted"),
    ("CO", "302", (), False, "authorization_exhausted"),
    ("CO", "16", ("N362",), False, "authorization_exhausted"),
    ("CO", "301", (), False, "not_covered"),
    ("CO", "109", (), False, "not_covered"),
    ("CO", "300", (), False, "not_covered"),
    ("CO", "96", (), False, "not_covered"),
    ("CO", "204", (), False, "not_covered"),
    ("CO", "119", (), False, "visit_limit"),
    ("PR", "119", (), False, "visit_limit"),
    ("CO", "151", (), False, "visit_limit"),
    ("CO", "273", (), False, "visit_limit"),
    ("CO", "5", (), False, "telehealth"),
    ("CO", "58", (), False, "telehealth"),
    ("CO", "4", (), True, "telehealth"),
    ("CO", "B7", (), False, "provider_not_credentialed"),
    ("CO", "170", (), False, "provider_not_credentialed"),
    ("CO", "185", (), False, "provider_not_credentialed"),
    ("CO", "242", (), False, "provider_not_credentialed"),
    ("CO", "206", (), False, "provider_not_credentialed"),
    ("CO", "207", (), False, "provider_not_credentialed"),
    ("CO", "208", (), False, "provider_not_credentialed"),
    ("CO", "27", (), False, "eligibility"),
    ("PR", "27", (), False, "eligibility"),
    ("PR", "26", (), False, "eligibility"),
    ("CO", "31", (), False, "eligibility"),
    ("CO", "22", (), False, "eligibility"),
    ("CO", "4", (), False, "coding"),
    ("CO", "11", (), False, "coding"),
    ("CO", "16", (), False, "coding"),
    ("CO", "97", (), False, "coding"),
    ("CO", "231", (), False, "coding"),
    ("CO", "236", (), False, "coding"),
    ("CO", "251", ("M15",), False, "coding"),
    ("CO", "251", ("M51",), False, "coding"),
    ("CO", "251", ("M76",), False, "coding"),
    ("CO", "29", (), False, "timely_filing"),
    ("OA", "18", (), False, "duplicate"),
    ("CO", "B13", (), False, "duplicate"),
    ("OA", "B13", (), False, "duplicate"),
    ("CO", "50", (), False, "medical_necessity"),
    ("CO", "167", (), False, "medical_necessity"),
    ("CO", "252", (), False, "medical_necessity"),
    ("CO", "226", (), False, "medical_necessity"),
    ("CO", "251", (), False, "unclassified"),
    ("PR", "29", (), False, "unclassified"),
    ("CO", "18", (), False, "unclassified"),
    ("CO", "16", ("N14",), False, "coding"),
]


@pytest.mark.parametrize(("group", "carc", "remarks", "telehealth", "expected"), ROOT_CAUSE_ROWS)
def test_root_cause_follows_the_domain_table_and_unknown_codes_are_unclassified(
    group: str, carc: str, remarks: tuple[str, ...], telehealth: bool, expected: str
) -> None:
    assert root_cause_of(group, carc, remarks, telehealth=telehealth).name == expected


def test_every_root_cause_has_an_owner_and_a_first_action() -> None:
    for group, carc, remarks, telehealth, _ in ROOT_CAUSE_ROWS:
        cause = root_cause_of(group, carc, remarks, telehealth=telehealth)
        assert cause.owner
        assert cause.first_action


def test_co_300_says_wait_for_the_behavioral_health_plan_instead_of_rebilling() -> None:
    assert "wait" in root_cause_of("CO", "300").first_action
    assert "wait" not in root_cause_of("CO", "109").first_action
