"""837P batches pass pyx12's 005010X222A1 map with zero errors in every shape submission sends: subscriber is the
patient, dependent patient (2000C), telehealth, prior authorization, secondary diagnosis pointers, replacement (7 with
REF*F8) and void (8 with REF*F8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from submission.x837 import BatchClaim, Envelope837, build_837p, control_numbers

from shared.x12 import tokenize

ENVELOPE = Envelope837(
    control_number=42,
    business_date=date(2026, 9, 15),
    time_hhmm="1200",
    sender_id="CLAIMFLOW",
    receiver_id="SANDBOXCH",
    submitter_name="Claimflow",
    receiver_name="Sandbox Clearinghouse",
)


def _batch(
    *charges: Any, frequency: str = "1", payer_claim_number: str | None = None, filing_indicator: str = "CI"
) -> str:
    return build_837p(
        ENVELOPE,
        [
            BatchClaim(f"CF{n:016d}", frequency, charge, filing_indicator, payer_claim_number)
            for n, charge in enumerate(charges, 1)
        ],
    )


def _secondary_pointers(c: Any) -> list[Any]:
    """Two lines: psychotherapy for the principal and a secondary diagnosis, interactive complexity for the third."""
    first = c.make().lines[0].model_copy(update={"diagnosis_pointers": [1, 2]})
    add_on = first.model_copy(
        update={"line_number": 2, "procedure_code": "90785", "diagnosis_pointers": [3, 2], "amount": Decimal("30")}
    )
    return [c.make(diagnoses=["F32.1", "F41.1", "Z63.0"], lines=[first, add_on], total_amount=Decimal("180"))]


SHAPES = {
    "subscriber is the patient": lambda c: [c.make()],
    "patient is a dependent": lambda c: [c.make(coverage=c.dependent_coverage())],
    "telehealth line with modifier 95 and POS 10": lambda c: [c.make(lines=[c.telehealth_line()])],
    "prior authorization in REF*G1": lambda c: [c.make(authorization=c.authorization())],
    "secondary diagnosis pointers": _secondary_pointers,
    "several claims and practices in one batch": lambda c: [
        c.make(),
        c.make(coverage=c.dependent_coverage(), lines=[c.telehealth_line()], authorization=c.authorization()),
        c.make(practice=c.make().practice.model_copy(update={"practice_id": c.make().patient.patient_id})),
    ],
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_generated_837p_validates_with_zero_pyx12_errors(charges: Any, tmp_path: Path, shape: str) -> None:
    text = _batch(*SHAPES[shape](charges))
    ok, output = charges.pyx12_verdict(text, tmp_path, "batch.837")
    assert ok, output
    assert "ERROR" not in output


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_replacement_and_void_carry_their_frequency_and_ref_f8_and_validate(
    charges: Any, tmp_path: Path, frequency: str
) -> None:
    text = _batch(charges.make(authorization=charges.authorization()), frequency=frequency, payer_claim_number="PCN-1")
    ok, output = charges.pyx12_verdict(text, tmp_path, f"rework-{frequency}.837")
    assert ok, output
    assert "ERROR" not in output
    _, segments = tokenize(text)
    clm = next(s for s in segments if s.tag == "CLM")
    assert clm.element(5) == f"11:B:{frequency}"
    refs = [(s.element(1), s.element(2)) for s in segments if s.tag == "REF" and s.element(1) in ("F8", "G1")]
    assert refs == [("G1", "AUTH-12345"), ("F8", "PCN-1")]  # the TR3's 2300 order: G1 before F8


@pytest.mark.parametrize("indicator", ["MB", "MC", "BL", "HM", "CI", "ZZ"])
def test_sbr09_is_the_claim_filing_indicator_of_the_payer_and_validates(
    charges: Any, tmp_path: Path, indicator: str
) -> None:
    text = _batch(charges.make(), charges.make(coverage=charges.dependent_coverage()), filing_indicator=indicator)
    _, segments = tokenize(text)
    assert [s.element(9) for s in segments if s.tag == "SBR"] == [indicator, indicator]
    ok, output = charges.pyx12_verdict(text, tmp_path, f"sbr09-{indicator}.837")
    assert ok, output
    assert "ERROR" not in output


def test_an_original_never_carries_ref_f8(charges: Any) -> None:
    _, segments = tokenize(_batch(charges.make(), payer_claim_number="PCN-1"))
    assert not [s for s in segments if s.tag == "REF" and s.element(1) == "F8"]


def test_secondary_diagnosis_pointers_point_into_the_hi_list(charges: Any) -> None:
    _, segments = tokenize(_batch(*_secondary_pointers(charges)))
    hi = next(s for s in segments if s.tag == "HI")
    assert hi.elements == ["ABK:F321", "ABF:F411", "ABF:Z630"]
    assert [(s.element(1), s.element(7)) for s in segments if s.tag == "SV1"] == [
        ("HC:90834", "1:2"),
        ("HC:90785", "3:2"),
    ]


def test_dependent_patient_gets_a_2000c_loop_and_the_subscriber_is_the_insured(charges: Any) -> None:
    _, segments = tokenize(_batch(charges.make(coverage=charges.dependent_coverage())))
    tags = [(s.tag, s.element(1)) for s in segments]
    assert ("PAT", "19") in tags
    insured = next(s for s in segments if s.tag == "NM1" and s.element(1) == "IL")
    patient = next(s for s in segments if s.tag == "NM1" and s.element(1) == "QC")
    assert (insured.element(3), insured.element(4)) == ("DOE", "JOHN")
    assert (patient.element(3), patient.element(4)) == ("DOE", "JANE")


def test_telehealth_claim_carries_pos_10_frequency_1_and_modifier_95(charges: Any) -> None:
    _, segments = tokenize(_batch(charges.make(lines=[charges.telehealth_line()])))
    clm = next(s for s in segments if s.tag == "CLM")
    sv1 = next(s for s in segments if s.tag == "SV1")
    assert clm.element(5) == "10:B:1"
    assert sv1.element(1) == "HC:90837:95"
    assert sv1.element(5) == "10"


def test_authorization_number_goes_in_ref_g1_and_diagnoses_lose_their_dots(charges: Any) -> None:
    _, segments = tokenize(_batch(charges.make(authorization=charges.authorization())))
    assert any(s.tag == "REF" and s.element(1) == "G1" and s.element(2) == "AUTH-12345" for s in segments)
    hi = next(s for s in segments if s.tag == "HI")
    assert hi.elements == ["ABK:F321", "ABF:F411"]


def test_control_numbers_and_bht04_come_from_the_batch(charges: Any) -> None:
    _, segments = tokenize(_batch(charges.make()))
    by_tag = {s.tag: s for s in segments}
    assert control_numbers(42) == ("000000042", "42", "0042")
    assert by_tag["ISA"].element(13) == by_tag["IEA"].element(2) == "000000042"
    assert by_tag["GS"].element(6) == by_tag["GE"].element(2) == "42"
    assert by_tag["ST"].element(2) == by_tag["SE"].element(2) == "0042"
    assert by_tag["BHT"].element(4) == "20260915"
    st_index = next(i for i, s in enumerate(segments) if s.tag == "ST")
    se_index = next(i for i, s in enumerate(segments) if s.tag == "SE")
    assert int(by_tag["SE"].element(1)) == se_index - st_index + 1


@pytest.mark.parametrize(
    ("first_name", "last_name", "written"),
    [
        ("Zoë", "Núñez", ("NUNEZ", "ZOE")),
        ("Ǆenan", "Łoś-Müller", ("OS-MULLER", "DZENAN")),
        ("Ana\u00a0María", "O’Neil", ("ONEIL", "ANA MARIA")),
    ],
)
def test_names_outside_ascii_are_written_in_the_x12_character_sets_and_the_batch_reads(
    charges: Any, first_name: str, last_name: str, written: tuple[str, str]
) -> None:
    from shared.x12 import decode_interchange

    patient = charges.make().patient.model_copy(update={"first_name": first_name, "last_name": last_name})
    batch = _batch(charges.make(patient=patient))
    assert decode_interchange(batch.encode()) == batch  # the clearinghouse's byte check passes
    _, segments = tokenize(batch)
    subscriber = next(s for s in segments if s.tag == "NM1" and s.element(1) == "IL")
    assert (subscriber.element(3), subscriber.element(4)) == written
