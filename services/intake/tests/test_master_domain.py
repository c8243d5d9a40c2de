"""Pure master-data rules and the request models' contract with the reference payloads (no stack needed)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from intake import master_domain
from intake.master_kinds import KINDS
from intake.practice_schemas import (
    AuthorizationPolicyIn,
    CredentialingIn,
    PayerProfileIn,
    TelehealthPolicyIn,
    VisitLimitIn,
)
from intake.schemas import example_of
from pydantic import BaseModel, ValidationError

from shared.events import reference

D = date.fromisoformat
PAYER_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
PAYER_B = uuid.UUID("00000000-0000-0000-0000-00000000000b")


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        (("2026-01-01", "2026-06-30"), ("2026-07-01", None), False),  # the day after
        (("2026-01-01", "2026-06-30"), ("2026-06-30", None), True),  # ranges include both ends
        (("2026-01-01", None), ("2030-01-01", "2030-12-31"), True),  # an open end runs forever
        (("2026-03-01", "2026-03-31"), ("2026-01-01", "2026-02-28"), False),
        (("2026-01-01", "2026-12-31"), ("2026-05-01", "2026-05-01"), True),  # contained
    ],
)
def test_date_ranges_overlap_when_they_share_a_day(first, second, overlap):
    as_dates = [(D(start), D(end) if end else None) for start, end in (first, second)]
    assert master_domain.ranges_overlap(*as_dates[0], *as_dates[1]) is overlap
    assert master_domain.ranges_overlap(*as_dates[1], *as_dates[0]) is overlap


def test_two_payer_profiles_may_not_start_on_the_same_day():
    problems = master_domain.profile_date_problems([D("2026-01-01"), D("2026-07-01"), D("2026-01-01")])
    assert problems == [("profiles.2.effective_from", "2026-01-01 is already the start of profiles.0")]
    assert master_domain.profile_date_problems([D("2026-01-01"), D("2027-01-01")]) == []


def test_credentialing_periods_are_ordered_and_do_not_overlap_for_one_payer():
    periods = [
        (PAYER_A, D("2026-01-01"), D("2026-06-30")),
        (PAYER_B, D("2026-01-01"), None),  # another payer may overlap
        (PAYER_A, D("2026-07-01"), None),  # re-enrolled the day after: fine
        (PAYER_A, D("2026-12-01"), D("2026-11-30")),  # ends before it starts
        (PAYER_A, D("2026-03-01"), D("2026-03-31")),  # inside the first period
    ]
    assert master_domain.credentialing_problems(periods) == [
        ("credentialing.3.effective_to", "must be on or after credentialing.3.effective_from (2026-12-01)"),
        ("credentialing.4", "overlaps credentialing.0 with the same payer"),
    ]
    assert master_domain.credentialing_problems(periods[:3]) == []


@pytest.mark.parametrize(
    ("relationship", "has_subscriber", "end", "fields"),
    [
        ("self", False, None, []),
        ("child", False, None, ["subscriber"]),
        ("spouse", True, "2026-12-31", []),
        ("self", False, "2025-12-31", ["end_date"]),
    ],
)
def test_a_dependents_coverage_names_the_subscriber(relationship, has_subscriber, end, fields):
    problems = master_domain.coverage_problems(
        relationship=relationship,
        has_subscriber=has_subscriber,
        start_date=D("2026-01-01"),
        end_date=D(end) if end else None,
    )
    assert [field for field, _ in problems] == fields


@pytest.mark.parametrize(
    ("approved", "used", "end", "fields"),
    [
        (12, 12, "2026-06-30", []),
        (12, 13, "2026-06-30", ["units_used"]),
        (0, 0, "2026-01-01", []),
        (12, 0, "2025-12-31", ["end_date"]),
    ],
)
def test_units_used_stay_within_the_approval(approved, used, end, fields):
    problems = master_domain.authorization_problems(
        units_approved=approved, units_used=used, start_date=D("2026-01-01"), end_date=D(end)
    )
    assert [field for field, _ in problems] == fields


@pytest.mark.parametrize(("npi", "valid"), [("1234567893", True), ("1234567890", False), ("1245319599", True)])
def test_npi_check_digit_is_luhn_with_prefix_80840(npi, valid):
    assert (master_domain.npi_problems(npi) == []) is valid


def test_a_cursor_round_trips_and_a_forged_one_is_refused():
    entity_id = uuid.UUID("3d2a9c5e-7b14-4f0a-8c3e-5a6b7c8d9e01")
    cursor = master_domain.encode_cursor(entity_id)
    assert master_domain.decode_cursor(cursor) == entity_id
    assert str(entity_id) not in cursor
    for forged in ("not-a-cursor", cursor + "A", cursor[:-1], "", "é" * 22):
        assert master_domain.decode_cursor(forged) is None


def test_text_postgres_cannot_store_is_refused():
    assert master_domain.usable_text("Ærø clinic") == "Ærø clinic"
    with pytest.raises(ValueError, match="NUL"):
        master_domain.usable_text("a\x00b")
    with pytest.raises(ValueError, match="Unicode"):
        master_domain.usable_text("a\ud800b")


MIRRORS: list[tuple[type[BaseModel], type[BaseModel]]] = [
    (CredentialingIn, reference.Credentialing),
    (AuthorizationPolicyIn, reference.AuthorizationPolicy),
    (VisitLimitIn, reference.VisitLimit),
    (TelehealthPolicyIn, reference.TelehealthPolicy),
    (PayerProfileIn, reference.PayerProfile),
]


@pytest.mark.parametrize(("request_model", "payload"), MIRRORS)
def test_nested_request_models_mirror_the_reference_payloads(request_model, payload):
    assert set(request_model.model_fields) == set(payload.model_fields)
    assert request_model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize(
    "kind", [k for k in KINDS.values() if k.replicated_as is not None], ids=lambda k: k.entity_type
)
def test_a_replicated_kind_stores_exactly_what_it_replicates(kind):
    assert kind.replicated_as is not None
    assert set(kind.request.model_fields) == set(kind.replicated_as.model_fields) - {"entity_type"}
    example = example_of(kind.request)
    assert example is not None
    stored = kind.request.model_validate(example).model_dump(mode="json")
    replicated = kind.replicated_as.model_validate(stored).model_dump(mode="json")
    assert replicated == {**stored, "entity_type": kind.entity_type}


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.entity_type)
def test_every_request_example_is_valid_and_breaks_no_rule(kind):
    example = example_of(kind.request)
    assert example is not None
    assert kind.request.model_validate(example).rule_problems() == []


def test_an_unknown_field_deep_inside_a_payer_profile_is_refused_with_its_path():
    body = example_of(KINDS["payer"].request)
    assert body is not None
    body["profiles"][0]["telehealth"]["place"] = "02"
    with pytest.raises(ValidationError) as refused:
        KINDS["payer"].request.model_validate(body)
    assert [error["loc"] for error in refused.value.errors()] == [("profiles", 0, "telehealth", "place")]
