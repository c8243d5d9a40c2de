"""The 835 reader and its balancing checks, on every real-world sample and on project-written files."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from remittance.balancing import check_remittance
from remittance.domain import assess_claim
from remittance.era import EraRefused, read_835

from shared.x12 import tokenize

SAMPLES = Path(
    os.environ.get("CLAIMFLOW_SAMPLES_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "samples")
)
SAMPLE_FILES = sorted((SAMPLES / "x12-835").glob("*")) if (SAMPLES / "x12-835").is_dir() else []

# What each sample must give: posted claim ids, unreadable claim ids, and the refusal fragment if refused.
EXPECTED: dict[str, dict[str, object]] = {
    "emedny_sample.835": {"claims": ["PATIENT ACCOUNT NUMBER"] * 3},
    "lfh_cob_contractual_adjustment.835": {"claims": ["0001000055"]},
    "lfh_managed_care.835": {"claims": ["5554555444", "8765432112"]},
    "lfh_medicare_part_a.835": {"claims": ["666123", "777777"]},
    "lfh_secondary_payment.835": {"claims": ["L0004828311", "0001000053"]},
    "lfh_tertiary_payment.835": {"claims": [], "unreadable": ["0001000054"]},
    "pyx12_835_mult_loops.835": {"claims": ["2005555A"]},
    "rubyx12_denial_and_paid.835": {"claims": ["EDI DENIAL", "EDI PAID"]},
    "tigershark_4010_pipe_newline_terminator.835": {"refused": "004010X091A1"},
    "uhc_legacy_sample.835": {"claims": ["001-18573-358", "001-18604-358"]},
}


def _sample_params() -> list[object]:
    if not SAMPLE_FILES:
        return [pytest.param(None, id="samples-absent")]
    return [pytest.param(path, id=path.name) for path in SAMPLE_FILES]


@pytest.mark.parametrize("path", _sample_params())
def test_every_sample_835_is_read_or_refused_clearly_and_no_claim_is_dropped(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"835 samples absent: {SAMPLES / 'x12-835'} (set CLAIMFLOW_SAMPLES_DIR)")
    text = path.read_text(encoding="latin-1")
    expected = EXPECTED.get(path.name, {})
    if "refused" in expected:
        with pytest.raises(EraRefused) as refusal:
            read_835(text)
        assert str(expected["refused"]) in refusal.value.reason
        assert "segment" in refusal.value.where
        return
    remittance = read_835(text)
    _, segments = tokenize(text)
    clp_count = sum(1 for s in segments if s.tag == "CLP")
    posted = [c.claim_id for t in remittance.transactions for c in t.claims]
    unreadable = [c.claim_id for t in remittance.transactions for c in t.unreadable_claims]
    assert len(posted) + len(unreadable) == clp_count
    if expected:
        assert posted == expected["claims"]
        assert unreadable == expected.get("unreadable", [])
    assert check_remittance(remittance) == []
    for transaction in remittance.transactions:
        for claim in transaction.claims:
            assessment = assess_claim(claim)
            assert assessment.is_denial == (assessment.root_cause is not None)


def test_the_4010_sample_is_refused_naming_the_version_and_the_gs_segment() -> None:
    path = SAMPLES / "x12-835" / "tigershark_4010_pipe_newline_terminator.835"
    if not path.is_file():
        pytest.skip(f"sample absent: {path}")
    with pytest.raises(EraRefused) as refusal:
        read_835(path.read_text())
    assert refusal.value.where == "segment 2 (GS)"
    assert "004010X091A1" in refusal.value.reason
    assert "005010X221" in refusal.value.reason


def test_a_component_separator_in_svc_other_than_isa16_is_read_and_reported() -> None:
    path = SAMPLES / "x12-835" / "lfh_secondary_payment.835"
    if not path.is_file():
        pytest.skip(f"sample absent: {path}")
    remittance = read_835(path.read_text())
    lines = remittance.transactions[0].claims[1].lines
    assert [(line.procedure_code, line.modifiers) for line in lines] == [("12345", ("26",)), ("66543", ("26",))]
    assert any("'>'" in warning and "ISA16" in warning for warning in remittance.warnings)


def test_an_svc_without_procedure_code_lists_its_claim_as_unreadable_with_the_reason() -> None:
    path = SAMPLES / "x12-835" / "lfh_tertiary_payment.835"
    if not path.is_file():
        pytest.skip(f"sample absent: {path}")
    unreadable = read_835(path.read_text()).transactions[0].unreadable_claims
    assert len(unreadable) == 1
    assert "no procedure code" in unreadable[0].reason
    assert "segment 20 (SVC)" in unreadable[0].reason
    assert unreadable[0].raw_segments[0].startswith("CLP*0001000054")


def test_a_negative_plb_adds_to_the_payment_and_the_file_balances() -> None:
    path = SAMPLES / "x12-835" / "lfh_medicare_part_a.835"
    if not path.is_file():
        pytest.skip(f"sample absent: {path}")
    transaction = read_835(path.read_text()).transactions[0]
    assert [(p.reason_code, p.reference, p.amount) for p in transaction.provider_adjustments] == [
        ("CV", "CP", Decimal("-1.27"))
    ]
    assert check_remittance(read_835(path.read_text())) == []


def test_project_fixture_reads_paid_denied_cost_share_and_reversal_claims(eras) -> None:
    text = eras.text(
        [
            eras.paid.format(claim="C-PAID"),
            eras.denied.format(claim="C-DENIED"),
            eras.cost_share.format(claim="C-DEDUCT"),
            eras.reversal.format(claim="C-PAID"),
        ],
        payment="0",
    )
    transaction = read_835(text).transactions[0]
    assert transaction.payment_date.isoformat() == "2026-10-15"
    assert transaction.trace_number == "EFT0001"
    assert transaction.payer_key == "1999999999"
    assert [(c.claim_id, c.status_code) for c in transaction.claims] == [
        ("C-PAID", "1"),
        ("C-DENIED", "4"),
        ("C-DEDUCT", "1"),
        ("C-PAID", "22"),
    ]
    denied = transaction.claims[1]
    assert denied.lines[0].modifiers == ("95",)
    assert denied.lines[0].remark_codes == ("N54",)
    assert denied.all_adjustments[0].line_number == 1
    assert transaction.claims[0].payer_claim_number == "PCN-PAID-1"


def test_project_fixture_balances_and_a_wrong_bpr_total_is_a_discrepancy_not_an_error(eras) -> None:
    claims = [eras.paid.format(claim="C1"), eras.denied.format(claim="C2")]
    assert check_remittance(read_835(eras.text(claims, payment="100"))) == []
    discrepancies = check_remittance(read_835(eras.text(claims, payment="90")))
    assert [(d.rule, d.expected, d.actual) for d in discrepancies] == [
        ("payment_balance", Decimal("100"), Decimal("90"))
    ]


def test_line_and_claim_imbalances_are_reported_with_where_they_happened(eras) -> None:
    broken = eras.paid.format(claim="C1").replace("CAS*CO*45*30", "CAS*CO*45*25")
    rules = {
        (d.rule, d.claim_id, d.line_number) for d in check_remittance(read_835(eras.text([broken], payment="100")))
    }
    assert rules == {("line_balance", "C1", 1), ("claim_balance", "C1", None)}


def test_plb_reduces_the_payment_when_positive(eras) -> None:
    text = eras.text([eras.paid.format(claim="C1")], payment="90", plb=["PLB*1234567893*20261231*WO:RECOUP1*10"])
    remittance = read_835(text)
    assert remittance.transactions[0].provider_adjustments[0].reference == "RECOUP1"
    assert check_remittance(remittance) == []


def test_several_st_transactions_in_one_file_are_each_read_with_their_own_trace(eras) -> None:
    remittance = read_835(eras.text([eras.paid.format(claim="C1")], payment="100", transactions=2))
    assert [t.trace_number for t in remittance.transactions] == ["EFT0001", "EFT00012"]


def test_crlf_around_terminators_is_tolerated(eras) -> None:
    text = eras.text([eras.paid.format(claim="C1")], payment="100").replace("~\n", "\r\n~")
    remittance = read_835(text)
    assert [c.claim_id for c in remittance.transactions[0].claims] == ["C1"]
    assert remittance.warnings == ()


def test_a_wrong_se_count_refuses_the_whole_file_naming_the_se(eras) -> None:
    text = eras.text([eras.paid.format(claim="C1")], payment="100").replace("SE*", "SE*9")
    with pytest.raises(EraRefused) as refusal:
        read_835(text)
    assert "SE01 says 9" in refusal.value.reason
    assert refusal.value.where.endswith("(SE)")


def test_two_payments_with_the_same_trace_in_one_file_are_refused(eras) -> None:
    text = eras.text([eras.paid.format(claim="C1")], payment="100", transactions=2).replace("EFT00012", "EFT0001")
    with pytest.raises(EraRefused, match="appears twice"):
        read_835(text)


def test_a_version_other_than_5010_is_refused(eras) -> None:
    with pytest.raises(EraRefused, match="004010X091A1"):
        read_835(eras.text([eras.paid.format(claim="C1")], payment="100", version="004010X091A1"))


def test_text_that_is_not_x12_is_refused_with_a_reason() -> None:
    with pytest.raises(EraRefused, match="no ISA"):
        read_835("hello, this is not an 835")


def test_an_unreadable_amount_lists_the_claim_and_keeps_the_others(eras) -> None:
    bad = eras.paid.format(claim="C-BAD").replace("CAS*PR*3*20", "CAS*PR*3*2O")
    transaction = read_835(eras.text([bad, eras.denied.format(claim="C-OK")], payment="0")).transactions[0]
    assert [c.claim_id for c in transaction.claims] == ["C-OK"]
    assert transaction.unreadable_claims[0].claim_id == "C-BAD"
    assert "'2O' is not a number" in transaction.unreadable_claims[0].reason


def test_a_claim_round_trips_through_json_for_the_unmatched_queue(eras) -> None:
    claim = read_835(eras.text([eras.denied.format(claim="C1")], payment="0")).transactions[0].claims[0]
    assert type(claim).model_validate(claim.model_dump(mode="json")) == claim


def test_the_tokenizer_reads_every_x12_sample_with_a_newline_before_the_terminator_too() -> None:
    files = sorted(SAMPLES.glob("x12-*/*")) if SAMPLES.is_dir() else []
    if not files:
        pytest.skip(f"X12 samples absent: {SAMPLES}")
    for path in files:
        separators, segments = tokenize(path.read_text(encoding="latin-1"))
        assert segments[0].tag == "ISA", path.name
        assert all(s.tag.isalnum() for s in segments), path.name
    tigershark = SAMPLES / "x12-835" / "tigershark_4010_pipe_newline_terminator.835"
    if tigershark.is_file():
        separators, segments = tokenize(tigershark.read_text())
        assert (separators.element, separators.component, separators.segment) == ("|", "^", "~")
        assert segments[1].tag == "GS"


@pytest.mark.parametrize("path", _sample_params())
def test_pyx12_agrees_on_the_claim_count_of_every_sample_it_can_read(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"835 samples absent: {SAMPLES / 'x12-835'} (set CLAIMFLOW_SAMPLES_DIR)")
    pyx12_file = pytest.importorskip("pyx12.x12file")
    text = path.read_text(encoding="latin-1")
    try:
        remittance = read_835(text)
    except EraRefused:
        pytest.skip(f"{path.name} is refused by design (not 005010X221)")
    try:
        with path.open(encoding="latin-1") as handle:
            theirs = sum(1 for segment in pyx12_file.X12Reader(handle) if segment.get_seg_id() == "CLP")
    except Exception as error:  # pyx12 raises its own error types for files it cannot tokenize
        pytest.skip(f"pyx12 cannot read {path.name}: {type(error).__name__}")
    ours = sum(len(t.claims) + len(t.unreadable_claims) for t in remittance.transactions)
    assert ours == theirs
