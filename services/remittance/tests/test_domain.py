"""Posting rules: money split by adjustment class, denial verdict and root cause of a read CLP."""

from __future__ import annotations

from decimal import Decimal

from remittance.domain import assess_claim
from remittance.era import ClaimPayment, read_835


def claim_of(eras, template: str, claim_id: str = "C1") -> ClaimPayment:
    """The first CLP of a one-claim project file."""
    return read_835(eras.text([template.format(claim=claim_id)], payment="0")).transactions[0].claims[0]


def test_a_paid_claim_splits_contractual_and_copay_and_is_not_a_denial(eras) -> None:
    assessment = assess_claim(claim_of(eras, eras.paid))
    assert (assessment.paid_amount, assessment.contractual_amount, assessment.patient_responsibility) == (
        Decimal("100"),
        Decimal("30"),
        Decimal("20"),
    )
    assert assessment.denied_amount == 0
    assert not assessment.is_denial
    assert assessment.root_cause is None


def test_a_denied_claim_with_co_197_and_n54_is_an_authorization_denial_of_the_whole_charge(eras) -> None:
    assessment = assess_claim(claim_of(eras, eras.denied))
    assert assessment.is_denial
    assert assessment.denied_amount == Decimal("150")
    assert assessment.root_cause is not None
    assert assessment.root_cause.name == "authorization_missing"
    assert assessment.reason_codes == ("CO-197",)
    assert assessment.remark_codes == ("N54",)


def test_a_claim_paid_zero_because_of_the_deductible_is_not_a_denial(eras) -> None:
    assessment = assess_claim(claim_of(eras, eras.cost_share))
    assert not assessment.is_denial
    assert assessment.patient_responsibility == Decimal("150")
    assert assessment.paid_amount == 0


def test_a_reversal_posts_negated_amounts_and_is_never_a_denial(eras) -> None:
    assessment = assess_claim(claim_of(eras, eras.reversal))
    assert assessment.is_reversal
    assert not assessment.sign_corrected
    assert (assessment.paid_amount, assessment.contractual_amount) == (Decimal("-100"), Decimal("-30"))
    assert not assessment.is_denial


def test_a_reversal_sent_with_positive_amounts_is_negated_and_flagged(eras) -> None:
    positive = eras.paid.replace("*1*150*100*20*", "*22*150*100*20*")
    assessment = assess_claim(claim_of(eras, positive))
    assert assessment.sign_corrected
    assert assessment.paid_amount == Decimal("-100")
    assert assessment.patient_responsibility == Decimal("-20")


def test_an_unknown_carc_is_a_denial_with_root_cause_unclassified_and_is_reported(eras) -> None:
    unknown = eras.denied.replace("CAS*CO*197*150", "CAS*CO*251*150").replace("LQ*HE*N54\n", "")
    assessment = assess_claim(claim_of(eras, unknown))
    assert assessment.is_denial
    assert assessment.root_cause is not None
    assert assessment.root_cause.name == "unclassified"
    assert assessment.unclassified_codes == ("CO-251",)


def test_clp02_4_without_a_denial_adjustment_denies_what_was_not_paid_or_moved(eras) -> None:
    bare = "CLP*{claim}*4*150*0**12*PCN9\n"
    assessment = assess_claim(claim_of(eras, bare))
    assert assessment.is_denial
    assert assessment.denied_amount == Decimal("150")
    assert assessment.root_cause is not None
    assert assessment.root_cause.name == "unclassified"


def test_co_4_on_a_telehealth_line_is_a_telehealth_denial_and_otherwise_coding(eras) -> None:
    telehealth = eras.denied.replace("CAS*CO*197*150", "CAS*CO*4*150").replace("LQ*HE*N54\n", "")
    office = telehealth.replace("HC:90837:95", "HC:90837")
    assert assess_claim(claim_of(eras, telehealth)).root_cause.name == "telehealth"  # type: ignore[union-attr]
    assert assess_claim(claim_of(eras, office)).root_cause.name == "coding"  # type: ignore[union-attr]


def test_the_root_cause_of_a_mixed_denial_is_the_one_with_the_most_dollars(eras) -> None:
    mixed = """
CLP*{claim}*4*200*0**12*PCN5
SVC*HC:90834*150*0**1
CAS*CO*29*150
SVC*HC:90785*50*0**1
CAS*CO*97*50
"""
    assessment = assess_claim(claim_of(eras, mixed))
    assert assessment.root_cause.name == "timely_filing"  # type: ignore[union-attr]
    assert assessment.reason_codes == ("CO-29", "CO-97")
    assert assessment.denied_amount == Decimal("200")


def test_a_patient_billable_denial_goes_to_the_patient_share(eras) -> None:
    visit_limit = eras.cost_share.replace("CAS*PR*1*150", "CAS*PR*119*150")
    assessment = assess_claim(claim_of(eras, visit_limit))
    assert assessment.is_denial
    assert assessment.patient_billable
    assert assessment.patient_denied_amount == Decimal("150")
    assert assessment.root_cause.name == "visit_limit"  # type: ignore[union-attr]
