"""Mailbox profiles as validated data, and the outbound file names built from a batch."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from submission.mailbox.naming import MAX_NAME_LENGTH, outbound_name, temporary_name
from submission.mailbox.profiles import AfterDownload, PartnerProfile, parse_profiles, profile, shipped_profiles

NAME = re.compile(r"^[A-Za-z0-9_.]+$")
ORGANIZATION = uuid.UUID("5d1f0c2e-8a47-4b1e-9c33-0f6a2b7d4e10")
PARTNERS = sorted(shipped_profiles())


def test_the_shipped_profiles_are_office_ally_stedi_and_a_payer_direct_mailbox() -> None:
    assert PARTNERS == ["office_ally", "payer_direct", "stedi"]
    office_ally, stedi = profile("office_ally"), profile("stedi")
    assert (office_ally.upload_folder, office_ally.download_folder, office_ally.answers_zipped) == (
        "inbound",
        "outbound",
        True,
    )
    assert (stedi.upload_folder, stedi.download_folder) == ("to-stedi", "from-stedi")
    assert stedi.answer_name_pattern == "{timestamp}_{uuid}_{kind}.x12"
    assert all(shipped.usage == "T" for shipped in shipped_profiles().values())


def test_stedis_receiver_id_follows_isa15() -> None:
    stedi = profile("stedi")
    assert stedi.interchange_receiver_id("T") == stedi.group_receiver_id("T") == "STEDITEST"
    assert stedi.interchange_receiver_id("P") == stedi.group_receiver_id("P") == "STEDI"
    assert stedi.interchange_receiver_id() == "STEDITEST"  # the profile's own ISA15 is T until switched
    production = stedi.model_copy(update={"usage": "P"})
    assert production.interchange_receiver_id() == "STEDI"


def test_isa14_asks_for_a_ta1_only_where_the_profile_says_so() -> None:
    assert profile("payer_direct").acknowledgement_flag == "1"
    assert profile("stedi").acknowledgement_flag == "0"


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="office_ally"):
        profile("availity")


@pytest.mark.parametrize("partner", PARTNERS)
def test_a_batch_always_gets_the_same_name(partner: str) -> None:
    chosen = profile(partner)
    first = outbound_name(chosen, organization=ORGANIZATION, control_number=42)
    assert first == outbound_name(chosen, organization=str(ORGANIZATION), control_number="000000042")
    assert first.endswith(chosen.extension)
    assert outbound_name(chosen, organization=ORGANIZATION, control_number=42, usage="P") != first


@pytest.mark.parametrize("partner", PARTNERS)
@given(control_numbers=st.lists(st.integers(min_value=0, max_value=999_999_999), min_size=2, max_size=2, unique=True))
def test_names_are_short_plain_and_distinct_for_distinct_control_numbers(
    partner: str, control_numbers: list[int]
) -> None:
    chosen = profile(partner)
    names = [outbound_name(chosen, organization=ORGANIZATION, control_number=number) for number in control_numbers]
    for name in names:
        assert len(name) <= MAX_NAME_LENGTH
        assert NAME.match(name)
        temporary = temporary_name(chosen, name)
        assert temporary != name
        assert NAME.match(temporary)
    assert names[0] != names[1]


def test_a_control_number_that_is_not_isa13_is_refused() -> None:
    for wrong in ("1234567890", "12a", "-1", ""):
        with pytest.raises(ValueError, match="ISA13"):
            outbound_name(profile("stedi"), organization=ORGANIZATION, control_number=wrong)


def fields(**changes: Any) -> dict[str, Any]:
    base = profile("payer_direct").model_dump(mode="json", exclude={"name"})
    return {**base, **changes}


def test_a_name_pattern_that_would_give_too_long_a_name_is_refused_when_used() -> None:
    chosen = PartnerProfile.model_validate(
        fields(name="wordy", file_name_pattern="CLAIMFLOW_OUTBOUND_BATCH_{organization}_{control_number}")
    )
    with pytest.raises(ValueError, match="more than 50"):
        outbound_name(chosen, organization=ORGANIZATION, control_number=1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"file_name_pattern": "CF_{organization}_{usage}"}, "control_number"),
        ({"file_name_pattern": "CF_{batch}_{control_number}"}, "unknown placeholders"),
        ({"upload_folder": "../elsewhere"}, "'..'"),
        ({"download_folder": "/absolute"}, "relative path"),
        ({"after_download": AfterDownload.move.value, "archive_folder": None}, "archive_folder"),
        ({"receiver_id": {"test": "MUCH TOO LONG FOR ISA", "production": "X"}}, "ISA08"),
        ({"usage": "X"}, "usage"),
        ({"extension": "x12"}, "extension"),
        ({"authentication": "certificate"}, "authentication"),
        ({"ftp_mode": "passive"}, "ftp_mode"),
    ],
)
def test_a_profile_with_a_wrong_field_is_refused_naming_it(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_profiles({"broken": fields(**changes)})


def test_profiles_are_frozen() -> None:
    with pytest.raises(ValidationError):
        profile("stedi").upload_folder = "elsewhere"  # type: ignore[misc]
