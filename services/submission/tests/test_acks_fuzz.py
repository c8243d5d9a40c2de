"""The 999 and 277CA readers under mutated files: a clear AcknowledgementError/X12Error, never another exception,
and a readable 277CA never loses a claim status (every STC under a TRN*2 claim loop is read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from submission.acks import AcknowledgementError, parse_277ca, parse_999

from services.submission.tests.test_acks import HAND_WRITTEN_999, _277
from shared.x12 import X12Error

REFUSALS = (AcknowledgementError, X12Error)
T = TypeVar("T")
JUNK = st.text(alphabet=st.sampled_from("0123456789ACERWX-:*^~ \n"), min_size=0, max_size=10)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """A few random segment-level and element-level mutations of an acknowledgement."""
    segments = [s for s in text.split("~") if s.strip()]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["drop", "duplicate", "swap", "junk_element", "truncate"]))
        index = draw(st.integers(min_value=0, max_value=len(segments) - 1))
        if kind == "drop" and len(segments) > 2:
            segments.pop(index)
        elif kind == "duplicate":
            segments.insert(index, segments[index])
        elif kind == "swap":
            other = draw(st.integers(min_value=0, max_value=len(segments) - 1))
            segments[index], segments[other] = segments[other], segments[index]
        elif kind == "junk_element":
            elements = segments[index].split("*")
            position = draw(st.integers(min_value=0, max_value=len(elements) - 1))
            elements[position] = draw(JUNK)
            segments[index] = "*".join(elements)
        elif kind == "truncate":
            segments = segments[: max(1, index)]
    return "~".join(segments) + "~"


FUZZ = settings(
    max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def read_or_refusal(parse: Callable[[str], T], text: str) -> tuple[T | None, str | None]:
    """What a reader made of a file: its result, or the reason it refused (any other exception propagates)."""
    try:
        return parse(text), None
    except REFUSALS as refused:
        return None, str(refused)


@FUZZ
@given(text=mutated(HAND_WRITTEN_999))
def test_a_mutated_999_is_read_or_refused_clearly(text: str) -> None:
    acks, reason = read_or_refusal(parse_999, text)
    if acks is None:
        assert reason
        return
    for ack in acks:
        assert all(s.outcome in {"accepted", "accepted_with_errors", "rejected"} for s in ack.sets)


BASE_277 = _277(("CF0000000000000001", "A2:20"), ("CF0000000000000002", "A7:254"), ("CF0000000000000003", "A1:20"))


@FUZZ
@given(text=mutated(BASE_277))
def test_a_mutated_277ca_is_read_or_refused_clearly_and_never_loses_a_claim_status(text: str) -> None:
    parsed, reason = read_or_refusal(parse_277ca, text)
    if parsed is None:
        assert reason
        return
    read = {claim.claim_id for claim in parsed.claims}
    for number in (1, 2, 3):
        claim_id = f"CF000000000000000{number}"
        if f"TRN*2*{claim_id}~STC*" in text:
            assert claim_id in read
