"""Event contracts: checked-in schemas match the models, and parsing is total (bad input never crashes)."""

import contextlib
import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events.catalogue import EVENT_CLASSES, UnknownEventType, build_event, parse_event, serialize_event
from shared.events.charge import ChargeVoided
from shared.schemas import SCHEMA_DIR, rendered


def test_checked_in_schemas_match_the_event_models_so_changes_need_a_version_decision():
    stale = [
        path
        for path, text in rendered().items()
        if not (SCHEMA_DIR / path).exists() or (SCHEMA_DIR / path).read_text() != text
    ]
    assert stale == [], f"event schemas changed without a version decision; run `make schemas`: {stale}"


def test_every_event_type_is_on_a_catalogue_topic_with_its_dlq_name():
    topics = {topic for topic, _ in EVENT_CLASSES.values()}
    assert all(topic.startswith("claimflow.") and topic.endswith(".v1") for topic in topics)


def test_an_event_round_trips_through_its_wire_form():
    topic, event = build_event(
        "charge.voided",
        ChargeVoided(charge_id="c1", reason="encounter cancelled"),
        source="coding",
        subject="c1",
        organization_id=uuid.uuid4(),
        business_date=date(2026, 10, 1),
        correlation_id="corr",
    )
    parsed = parse_event(serialize_event(event))
    assert topic == "claimflow.charge.v1"
    assert parsed == event


def test_an_unknown_event_type_is_reported_as_unknown_not_as_invalid():
    with pytest.raises(UnknownEventType):
        parse_event(b'{"type": "charge.repriced", "id": "x"}')


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser_with_anything_but_a_value_error(raw):
    with contextlib.suppress(ValueError, UnknownEventType):
        parse_event(raw)
