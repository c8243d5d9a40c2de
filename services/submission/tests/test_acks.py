"""999 and 277CA readers: every real-world sample and the project's own fixtures read correctly."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from submission.acks import parse_277ca, parse_999

from shared.x12 import X12Error


def _sample(charges: Any, folder: str, name: str) -> str:
    path: Path = charges.samples_dir() / folder / name
    if not path.is_file():
        pytest.skip(f"sample {folder}/{name} absent (set CLAIMFLOW_SAMPLES_DIR)")
    return path.read_text()


def test_sample_999_accepting_one_set(charges: Any) -> None:
    (ack,) = parse_999(_sample(charges, "x12-999", "imsweb_999_accepted.999"))
    assert (ack.group_control_number, ack.group_code, ack.group_outcome) == ("17456", "A", "accepted")
    assert [(s.control_number, s.code, s.outcome) for s in ack.sets] == [("0001", "A", "accepted")]
    assert ack.acknowledged_date == date(2020, 4, 15)
    assert ack.sets[0].reason() is None


def test_sample_999_rejection_names_the_segment_in_error(charges: Any) -> None:
    (ack,) = parse_999(_sample(charges, "x12-999", "imsweb_999_rejected_emedny.999"))
    (rejected,) = ack.sets
    assert (ack.group_code, rejected.code, rejected.outcome) == ("R", "R", "rejected")
    assert rejected.syntax_codes == ("5",)
    assert rejected.errors[0].segment_id == "NM"
    assert rejected.errors[0].position == "17"
    reason = rejected.reason() or ""
    assert "one or more segments in error" in reason
    assert "NM" in reason


def test_sample_999_for_an_834_reads_as_accepted(charges: Any) -> None:
    (ack,) = parse_999(_sample(charges, "x12-999", "pyx12_834_999_accepted.999"))
    assert ack.group_code == "A"
    assert ack.sets[0].set_id == "834"


def test_sample_999_partly_accepted_with_ik3_ik4_and_ctx(charges: Any) -> None:
    (ack,) = parse_999(_sample(charges, "x12-999", "rubyx12_999_partial_ik3_ik4_ctx.999"))
    assert (ack.group_code, ack.group_outcome) == ("P", "accepted_with_errors")
    assert [(s.control_number, s.code) for s in ack.sets] == [("0001", "A"), ("0002", "R"), ("0003", "R")]
    second = ack.sets[1]
    assert second.errors[0].segment_id == "CLM"
    assert second.errors[0].element_errors == (("2", "782", "1"),)
    assert ack.sets[2].errors[0].segment_id == "REF"


def test_sample_999_after_a_ta1_acknowledges_34_sets(charges: Any) -> None:
    (ack,) = parse_999(_sample(charges, "x12-999", "rubyx12_999_with_ta1_34_accepted.999"))
    assert len(ack.sets) == 34
    assert {s.code for s in ack.sets} == {"A"}
    assert ack.sets[-1].control_number == "000000034"


def test_sample_277ca_accepted_claim_is_read_at_patient_level(charges: Any) -> None:
    parsed = parse_277ca(_sample(charges, "x12-277ca", "imsweb_277ca_accepted_emedny.277"))
    (claim,) = parsed.claims
    assert claim.claim_id == "5781"
    assert (claim.category, claim.status_code, claim.entity_code, claim.outcome) == ("A2", "20", "", "accepted")
    assert claim.payer_claim_number == "1107000000014420"
    assert claim.status_date == date(2011, 3, 11)
    assert parsed.file_date == date(2011, 3, 11)
    assert claim.reason() is None


def test_sample_277ca_rejection_with_pipe_component_separator(charges: Any) -> None:
    parsed = parse_277ca(_sample(charges, "x12-277ca", "imsweb_277ca_rejected_emedny.277"))
    (claim,) = parsed.claims
    assert claim.claim_id == "3920394930203"
    assert (claim.category, claim.status_code, claim.entity_code, claim.outcome) == ("A7", "562", "85", "rejected")
    assert "invalid information" in (claim.reason() or "")


HAND_WRITTEN_999 = (
    "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW      *260915*1300*^*00501*000000009*0*T*:~\n"
    "GS*FA*SANDBOXCH*CLAIMFLOW*20260916*1300*9*X*005010X231A1~\n"
    "ST*999*0001*005010X231A1~\nAK1*HC*77*005010X222A1~\n"
    "AK2*837*0077*005010X222A1~\nIK5*E~\n"
    "AK2*837*0078*005010X222A1~\nIK5*M*3~\n"
    "AK2*837*0079*005010X222A1~\nIK5*W~\n"
    "AK2*837*0080*005010X222A1~\nIK5*X~\n"
    "AK9*P*4*4*1~\nSE*12*0001~\nGE*1*9~\nIEA*1*000000009~\n"
)


@pytest.mark.parametrize("cut", ["IEA", "GE", "SE", "AK9"])
def test_a_truncated_999_or_277ca_is_refused_whole_never_read_in_part(cut: str) -> None:
    with pytest.raises(X12Error, match="incomplete"):
        parse_999(HAND_WRITTEN_999[: HAND_WRITTEN_999.index(cut + "*")])
    answer_277 = _277(("CF0001", "A2:20"), ("CF0002", "A7:21"))
    if cut != "AK9":
        with pytest.raises(X12Error, match="incomplete"):
            parse_277ca(answer_277[: answer_277.index(cut + "*")])


def test_hand_written_999_reads_every_ik5_code() -> None:
    (ack,) = parse_999(HAND_WRITTEN_999)
    assert [(s.code, s.outcome) for s in ack.sets] == [
        ("E", "accepted_with_errors"),
        ("M", "rejected"),
        ("W", "rejected"),
        ("X", "rejected"),
    ]
    assert ack.sets[1].reason() == "999 M: control numbers of header and trailer do not match"
    assert ack.acknowledged_date == date(2026, 9, 16)


def _277(*statuses: tuple[str, str]) -> str:
    claims = "".join(
        f"HL*{n + 4}*3*PT~NM1*QC*1*DOE*JANE****MI*M1~TRN*2*{claim_id}~STC*{stc}*20260916*U*150~"
        for n, (claim_id, stc) in enumerate(statuses)
    )
    transaction = (
        "ST*277*0001*005010X214~"
        "BHT*0085*08*10*20260916*1300*TH~HL*1**20*1~NM1*AY*2*SANDBOX*****46*SANDBOXCH~TRN*1*10~"
        "HL*2*1*21*1~NM1*41*2*CLAIMFLOW*****46*CLAIMFLOW~TRN*2*0042~STC*A1:20*20260916*WQ*150~"
        "HL*3*2*19*1~NM1*85*2*LAKESIDE*****XX*1234567893~TRN*1*X~STC*A1:20**WQ*150~" + claims
    )
    return (
        "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW      *260916*1300*^*00501*000000010*0*T*:~"
        "GS*HN*SANDBOXCH*CLAIMFLOW*20260916*1300*10*X*005010X214~"
        + transaction
        + f"SE*{transaction.count('~') + 1}*0001~GE*1*10~IEA*1*000000010~"
    )


@pytest.mark.parametrize(
    ("stc", "outcome"),
    [
        ("A1:20", "received"),
        ("A2:20", "accepted"),
        ("A5:20", "accepted"),
        ("A3:21", "rejected"),
        ("A4:35", "rejected"),
        ("A6:21:PR", "rejected"),
        ("A7:254", "rejected"),
        ("A8:21", "rejected"),
    ],
)
def test_hand_written_277ca_category_decides_the_outcome(stc: str, outcome: str) -> None:
    parsed = parse_277ca(_277(("CF0000000000000001", stc)))
    (claim,) = parsed.claims
    assert claim.claim_id == "CF0000000000000001"
    assert claim.category == stc.split(":")[0]
    assert claim.outcome == outcome
    assert claim.status_date == date(2026, 9, 16)


def test_trn2_of_the_information_receiver_is_not_taken_for_a_claim() -> None:
    parsed = parse_277ca(_277(("CFA", "A2:20"), ("CFB", "A7:254")))
    assert [c.claim_id for c in parsed.claims] == ["CFA", "CFB"]
