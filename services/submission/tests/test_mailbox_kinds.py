"""Inbound mailbox files are told apart by their content: hand-written answers of each kind, archives, reports, and
(when present) every real-world 999, 277CA and 835 sample."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest
from submission.mailbox.kinds import detect, detect_document

from shared.x12 import decode_interchange, tokenize

SAMPLES = Path(
    os.environ.get("CLAIMFLOW_SAMPLES_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "samples")
)
SAMPLE_KINDS = {"x12-999": "999", "x12-277ca": "277ca", "x12-835": "835"}


def interchange(*groups: str, ta1: str = "", control: str = "000000777", sender: str = "CLEARHOUSE") -> bytes:
    """An interchange from the partner to us around the given functional groups (and a TA1 before them)."""
    isa = f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*CLAIMFLOW      *261208*0215*^*00501*{control}*0*T*:~"
    return f"{isa}{ta1}{''.join(groups)}IEA*{len(groups)}*{control}~".encode()


def group(functional_id: str, version: str, set_id: str, *body: str) -> str:
    segments = [f"ST*{set_id}*0001*{version}", *body]
    return (
        f"GS*{functional_id}*CLEARHOUSE*CLAIMFLOW*20261208*0215*7*X*{version}~"
        + "".join(f"{segment}~" for segment in segments)
        + f"SE*{len(segments) + 1}*0001~GE*1*7~"
    )


ACK_999 = group(
    "FA", "005010X231A1", "999", "AK1*HC*101*005010X222A1", "AK2*837*0001*005010X222A1", "IK5*A", "AK9*A*1*1*1"
)
CLAIM_ACK = group(
    "HN", "005010X214", "277", "BHT*0085*08*101*20261208*0215*TH", "HL*1**20*1", "TRN*2*CF0000000000000001", "STC*A2:20"
)
CLAIM_STATUS = group("HN", "005010X212", "277", "BHT*0010*08*4*20261208*0215*DG", "HL*1**20*1", "STC*F1:65")
REMITTANCE = group(
    "HP", "005010X221A1", "835", "BPR*I*80*C*ACH*CCP*01*1*DA*2*1**01*3*DA*4*20261208", "TRN*1*EFT42*1234567890"
)
ELIGIBILITY = group("HB", "005010X279A1", "271", "BHT*0022*11*5*20261208*0215", "HL*1**20*1", "EB*1*IND")
TA1_DUPLICATE = "TA1*000000101*261208*0215*R*025~"

HAND_WRITTEN = {
    "ta1": interchange(ta1=TA1_DUPLICATE),
    "999": interchange(ACK_999),
    "277ca": interchange(CLAIM_ACK),
    "277": interchange(CLAIM_STATUS),
    "835": interchange(REMITTANCE),
    "271": interchange(ELIGIBILITY),
}


@pytest.mark.parametrize(("kind", "content"), HAND_WRITTEN.items(), ids=HAND_WRITTEN.keys())
def test_each_answer_kind_is_told_by_its_content(kind: str, content: bytes) -> None:
    [document] = detect(content)
    assert (document.kind, document.sender_id, document.control_number) == (kind, "CLEARHOUSE", "000000777")
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.member is None
    assert document.reason is None


def test_a_ta1_alone_is_a_ta1_and_says_it_carries_one() -> None:
    [document] = detect(HAND_WRITTEN["ta1"])
    assert (document.kind, document.carries_ta1) == ("ta1", True)


def test_a_ta1_before_a_999_keeps_the_999_kind_and_flags_the_ta1() -> None:
    [document] = detect(interchange(ACK_999, ta1="TA1*000000101*261208*0215*A*000~"))
    assert (document.kind, document.carries_ta1) == ("999", True)


def test_the_same_bytes_give_the_same_sha256_and_other_bytes_another() -> None:
    first, again, other = (
        detect(HAND_WRITTEN["999"]),
        detect(HAND_WRITTEN["999"]),
        detect(interchange(ACK_999, control="000000778")),
    )
    assert first[0].sha256 == again[0].sha256 != other[0].sha256


def test_an_835_of_another_version_is_unrecognised_with_the_reason() -> None:
    old = interchange(group("HP", "004010X091A1", "835", "BPR*I*80*C*CHK************20261208"))
    [document] = detect(old)
    assert document.kind == "unrecognised"
    assert "835 004010X091A1" in (document.reason or "")


def test_an_interchange_mixing_kinds_is_unrecognised() -> None:
    [document] = detect(interchange(ACK_999, CLAIM_ACK))
    assert document.kind == "unrecognised"
    assert "mixes" in (document.reason or "")


def test_a_file_holding_two_interchanges_is_unrecognised() -> None:
    [document] = detect(HAND_WRITTEN["999"] + HAND_WRITTEN["277ca"])
    assert document.kind == "unrecognised"


def test_a_file_name_says_nothing_about_the_kind() -> None:
    archive = zip_of({"answer_999.x12": HAND_WRITTEN["835"]})
    [document] = detect(archive)
    assert document.kind == "835"


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zip_holding_two_answers_gives_each_member_its_kind() -> None:
    archive = zip_of({"OA_20261208_1.999": HAND_WRITTEN["999"], "OA_20261208_2.277": HAND_WRITTEN["277ca"]})
    documents = detect(archive)
    assert [(document.member, document.kind) for document in documents] == [
        ("OA_20261208_1.999", "999"),
        ("OA_20261208_2.277", "277ca"),
    ]
    assert [document.sha256 for document in documents] == [
        hashlib.sha256(HAND_WRITTEN["999"]).hexdigest(),
        hashlib.sha256(HAND_WRITTEN["277ca"]).hexdigest(),
    ]


def test_a_report_inside_a_zip_is_kept_for_a_person() -> None:
    [document] = detect(zip_of({"summary.txt": b"Batch summary: 12 claims received\r\n"}))
    assert (document.member, document.kind) == ("summary.txt", "report")


def test_a_damaged_zip_is_a_report() -> None:
    archive = zip_of({"a.999": HAND_WRITTEN["999"]})
    [document] = detect(archive[:30] + b"\x00" * 10 + archive[40:])
    assert document.kind == "report"
    assert document.sha256 == hashlib.sha256(archive[:30] + b"\x00" * 10 + archive[40:]).hexdigest()


@pytest.mark.parametrize(
    "content",
    [
        b"CLAIM ACKNOWLEDGEMENT REPORT\r\nSubmitter CLAIMFLOW  Batch 42  Accepted 12  Rejected 0\r\n",
        b"Paid by VISA card ending 4242: see the ISA reference below\n",
        b"",
        "Rapport d'erreur: fichier refus\u00e9\n".encode(),
        b"\xff\xfeI\x00S\x00A\x00",
    ],
    ids=["report", "mentions-isa", "empty", "accented", "utf16"],
)
def test_a_file_that_is_not_x12_is_a_report_kept_for_a_person(content: bytes) -> None:
    [document] = detect(content)
    assert document.kind == "report"
    assert document.reason
    assert (document.sender_id, document.control_number) == (None, None)


def sample_files() -> list[object]:
    folders = [SAMPLES / folder for folder in SAMPLE_KINDS]
    if not all(folder.is_dir() for folder in folders):
        return [
            pytest.param(None, marks=pytest.mark.skip(reason=f"samples absent: {SAMPLES} (set CLAIMFLOW_SAMPLES_DIR)"))
        ]
    return [
        pytest.param(path, id=path.name) for folder in folders for path in sorted(folder.iterdir()) if path.is_file()
    ]


@pytest.mark.parametrize("path", sample_files())
def test_every_real_world_answer_sample_is_told_by_its_content(path: Path) -> None:
    content = path.read_bytes()
    _, segments = tokenize(decode_interchange(content))
    isa = segments[0]
    versions = {segment.element(8).strip() for segment in segments if segment.tag == "GS"}
    expected = SAMPLE_KINDS[path.parent.name] if all(v.startswith("00501") for v in versions) else "unrecognised"
    document = detect_document(content)
    assert document.kind == expected, document.reason
    assert (document.sender_id, document.control_number) == (isa.element(6).strip(), isa.element(13).strip())
    assert document.sha256 == hashlib.sha256(content).hexdigest()
