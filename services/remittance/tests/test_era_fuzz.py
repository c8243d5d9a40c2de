"""The 835 reader under mutated, sample-shaped files: a clear refusal or a result that accounts for every CLP.

Hypothesis mutates a project-written 835 (segments dropped, duplicated, swapped or truncated; elements replaced
with junk; line breaks and separators disturbed). Whatever comes in, the reader either refuses the file with
EraRefused naming the reason, or returns transactions in which every CLP segment of the file is either a posted
claim or an unreadable claim with its reason: never another exception, never a silently dropped claim.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from remittance.era import EraRefused, Remittance835, read_835

from services.remittance.tests.conftest import COST_SHARE, DENIED, PAID, REVERSAL, era_text
from shared.x12 import X12Error, tokenize

BASE = era_text(
    [
        PAID.format(claim="CFA0000000000000001"[:18]),
        DENIED.format(claim="CLAIM-2"),
        COST_SHARE.format(claim="CLAIM-3"),
        REVERSAL.format(claim="CLAIM-4"),
    ],
    payment="100",
    plb=["PLB*1234567893*20261231*L6:INTEREST*-5"],
    transactions=2,
)
SEGMENTS = BASE.split("~\n")
JUNK = st.text(alphabet=st.sampled_from("0123456789ABCXYZ-.:*^~ \n"), min_size=0, max_size=12)


@st.composite
def mutated_835(draw: st.DrawFn) -> str:
    """The base file with a few random mutations."""
    segments = [s for s in SEGMENTS if s]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["drop", "duplicate", "swap", "junk_element", "truncate", "newlines"]))
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
        elif kind == "newlines":
            segments[index] = "\r\n" + segments[index] + "\r\n"
    return "~\n".join(segments) + "~\n"


def clp_segments(text: str) -> int | None:
    """How many CLP segments the file holds (None when it cannot even be split into segments)."""
    try:
        _, segments = tokenize(text)
    except X12Error:
        return None
    return sum(1 for segment in segments if segment.tag == "CLP")


def read_or_refusal(text: str) -> tuple[Remittance835 | None, str]:
    """What the reader made of a file: the remittance, or the reason it refused (other exceptions propagate)."""
    try:
        return read_835(text), ""
    except EraRefused as refused:
        return None, str(refused)


@settings(max_examples=400, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=mutated_835())
def test_a_mutated_835_is_refused_clearly_or_every_clp_is_accounted_for(text: str) -> None:
    remittance, reason = read_or_refusal(text)
    if remittance is None:
        assert reason.strip()
        return
    accounted = sum(len(t.claims) + len(t.unreadable_claims) for t in remittance.transactions)
    assert accounted == clp_segments(text)


def test_the_unmutated_file_reads_every_claim_of_both_transactions() -> None:
    remittance = read_835(BASE)
    assert [len(t.claims) for t in remittance.transactions] == [4, 4]
    assert clp_segments(BASE) == 8
