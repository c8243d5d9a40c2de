"""An 835 without its trailers, or whose trailers do not count what they close, is refused whole (saying where it
ends), and its bytes are X12 or it is refused naming the offset: shared/x12.py's envelope and byte checks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from remittance.era import EraRefused, read_835

from services.remittance.tests.conftest import DENIED, PAID, era_text
from shared.x12 import X12_CHARACTERS, X12ByteError, X12EncodingError, X12Error, decode_interchange

TWO_CLAIMS = era_text([PAID.format(claim="C1"), DENIED.format(claim="C2")], payment="100", trace="EFT-TRUNC")
SE = next(line for line in TWO_CLAIMS.splitlines() if line.startswith("SE*")).rstrip("~")  # SE*20*0001
SE_COUNT = SE.split("*")[1]


def test_a_two_claim_file_cut_40_bytes_into_the_second_clp_is_refused_saying_where_it_ends() -> None:
    cut = TWO_CLAIMS[: TWO_CLAIMS.index("CLP*C2") + 40]
    with pytest.raises(EraRefused) as refusal:
        read_835(cut)
    assert "without SE, GE, IEA" in refusal.value.reason
    assert "incomplete" in refusal.value.reason
    assert refusal.value.where == f"segment {cut.count('~') + 1} (NM1)"


def test_every_shorter_cut_of_a_complete_file_is_refused_and_the_complete_file_reads() -> None:
    complete = TWO_CLAIMS.rstrip("\n")
    assert len(read_835(complete).transactions[0].claims) == 2
    for end in range(complete.index("ST*835"), len(complete) - 1):
        with pytest.raises(EraRefused):
            read_835(complete[:end])


@pytest.mark.parametrize(
    ("change", "refused_at"),
    [
        (lambda text: text.replace("GE*1*1~\n", ""), "(IEA)"),
        (lambda text: text.replace("IEA*1*000000001~\n", ""), "(GE)"),
        (lambda text: text.replace("GE*1*1", "GE*2*1"), "(GE)"),
        (lambda text: text.replace("IEA*1*", "IEA*3*"), "(IEA)"),
        (lambda text: text.replace(f"SE*{SE_COUNT}*", f"SE*{int(SE_COUNT) - 1}*"), "(SE)"),
        (lambda text: text.replace(f"SE*{SE_COUNT}*", "SE*X*"), "(SE)"),
        (lambda text: text.replace(SE + "~\n", ""), "(GE)"),
        (lambda text: text.replace("ST*835*0001~\n", ""), "(SE)"),
    ],
    ids=[
        "no-GE",
        "no-IEA",
        "GE-counts-two-sets",
        "IEA-counts-three-groups",
        "SE-count-one-short",
        "SE-count-not-a-number",
        "no-SE",
        "no-ST",
    ],
)
def test_missing_or_miscounting_trailers_refuse_the_whole_file(change, refused_at) -> None:
    with pytest.raises(EraRefused) as refusal:
        read_835(change(TWO_CLAIMS))
    assert refusal.value.where.endswith(refused_at), refusal.value


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        (lambda text: text.replace(SE, f"SE*{SE_COUNT}*0009"), "SE02"),
        (lambda text: text.replace("GE*1*1", "GE*1*7"), "GE02"),
        (lambda text: text.replace("IEA*1*000000001", "IEA*1*000000002"), "IEA02"),
    ],
    ids=["SE02", "GE02", "IEA02"],
)
def test_a_control_number_that_does_not_repeat_its_header_is_a_warning_and_the_file_reads(change, warning) -> None:
    remittance = read_835(change(TWO_CLAIMS))
    assert len(remittance.transactions[0].claims) == 2
    assert [w for w in remittance.warnings if warning in w], remittance.warnings


def test_a_second_interchange_after_the_first_is_read_and_junk_after_iea_is_refused() -> None:
    second = TWO_CLAIMS.replace("EFT-TRUNC", "EFT-OTHER").replace("CLP*C1", "CLP*C3").replace("CLP*C2", "CLP*C4")
    both = read_835(TWO_CLAIMS + second)
    assert [t.trace_number for t in both.transactions] == ["EFT-TRUNC", "EFT-OTHER"]
    with pytest.raises(EraRefused, match="after the interchange's IEA"):
        read_835(TWO_CLAIMS + "CLP*C9*1*10*10~\n")


# Item 6: the bytes of an X12 body.


def _with_byte(byte: int) -> bytes:
    """The project file with one byte placed inside the payee name (offset returned by the refusal)."""
    raw = TWO_CLAIMS.encode()
    at = raw.index(b"TEST PRACTICE") + 4
    return raw[:at] + bytes([byte]) + raw[at:]


@pytest.mark.parametrize("byte", range(256), ids=lambda byte: f"0x{byte:02X}")
def test_every_byte_outside_the_x12_sets_is_refused_naming_its_offset_and_every_byte_inside_reads(byte) -> None:
    raw = _with_byte(byte)
    at = raw.index(b"TEST") + 4
    if byte in X12_CHARACTERS and byte not in b"*:^~":
        assert decode_interchange(raw) == raw.decode("ascii")
        return
    if byte in b"*:^~":
        return  # a delimiter inside a value splits it: the reader's business, not a byte error
    with pytest.raises(X12ByteError) as refused:
        decode_interchange(raw)
    assert refused.value.offset == at
    assert f"offset {at}" in str(refused.value)
    with pytest.raises(EraRefused) as refusal:
        read_835(raw)
    assert refusal.value.where == f"byte offset {at}"


def test_cr_and_lf_after_a_segment_terminator_read_and_inside_a_segment_are_refused() -> None:
    for layout in ("~\n", "~\r\n", "~", "\r\n~"):
        assert decode_interchange(TWO_CLAIMS.replace("~\n", layout).encode())
    wrapped = TWO_CLAIMS.replace("TEST PRACTICE", "TEST\nPRACTICE").encode()
    with pytest.raises(X12ByteError) as refused:
        decode_interchange(wrapped)
    assert refused.value.offset == wrapped.index(b"\nPRACTICE")


def test_control_characters_the_isa_declares_as_delimiters_are_allowed() -> None:
    text = TWO_CLAIMS.replace("~\n", "\x1c").replace("*", "\x1d").replace(":", "\x1f")
    remittance = read_835(text.encode())
    assert [c.claim_id for c in remittance.transactions[0].claims] == ["C1", "C2"]


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (TWO_CLAIMS.encode("utf-16"), "UTF-16"),
        (TWO_CLAIMS.encode("utf-16-le"), "UTF-16 (little-endian)"),
        (TWO_CLAIMS.encode("utf-16-be"), "UTF-16 (big-endian)"),
        (TWO_CLAIMS.encode("utf-8-sig"), "UTF-8"),
        (TWO_CLAIMS.encode("utf-32"), "UTF-32"),
        (TWO_CLAIMS.encode("cp500"), "EBCDIC"),
    ],
    ids=["utf-16-bom", "utf-16-le", "utf-16-be", "utf-8-bom", "utf-32", "ebcdic"],
)
def test_a_body_in_another_encoding_is_refused_as_such(encoded, encoding) -> None:
    with pytest.raises(X12EncodingError) as refused:
        decode_interchange(encoded)
    assert encoding in refused.value.reason
    assert "ASCII" in refused.value.reason


@settings(max_examples=300, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(tail=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=len(TWO_CLAIMS)))
def test_isa_followed_by_binary_or_a_nul_anywhere_is_refused_clearly_never_another_error(tail, cut) -> None:
    for raw in (b"ISA" + tail, TWO_CLAIMS.encode()[:cut] + b"\x00" + tail):
        with pytest.raises(EraRefused) as refusal:
            read_835(raw)
        assert refusal.value.reason.strip()


def test_a_refusal_names_what_the_isa_declares_when_its_delimiter_is_not_one() -> None:
    with pytest.raises(X12Error, match="element separator"):
        decode_interchange(b"ISA\x00" + TWO_CLAIMS.encode()[4:])
