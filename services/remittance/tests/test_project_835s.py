"""Project-written 835s read and assessed end to end: every CLP02 status of DOMAIN.md 5.1, every root cause of 5.3,
a reversal followed by a repayment, and a PLB that balances the file."""

from __future__ import annotations

from decimal import Decimal

import pytest
from remittance.balancing import check_remittance
from remittance.domain import assess_claim
from remittance.era import read_835

PROCESSED = """
CLP*C1*{status}*150*100*20*12*PCN1
SVC*HC:90834*150*100**1
DTM*472*20260920
CAS*CO*45*30
CAS*PR*3*20
"""


def read_one(eras, clp: str, payment: str = "0", plb: list[str] | None = None):
    """The only transaction of a one-file project 835."""
    return read_835(eras.text([clp], payment=payment, plb=plb)).transactions[0]


# status, is_denial, paid, denied: worked out from DOMAIN.md 5.1 and 5.2 by hand.
@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        ("1", "processed as primary"),
        ("2", "processed as secondary"),
        ("3", "processed as tertiary"),
        ("19", "processed as primary, forwarded"),
        ("20", "processed as secondary, forwarded"),
        ("21", "processed as tertiary, forwarded"),
    ],
)
def test_processed_statuses_post_payment_contractual_and_copay_without_a_denial(eras, status, meaning) -> None:
    transaction = read_one(eras, PROCESSED.format(status=status), payment="100")
    assessment = assess_claim(transaction.claims[0])
    assert assessment.status_code == status, meaning
    assert (assessment.paid_amount, assessment.contractual_amount, assessment.patient_responsibility) == (
        Decimal("100.00"),
        Decimal("30.00"),
        Decimal("20.00"),
    )
    assert not assessment.is_denial
    assert assessment.denied_amount == 0
    assert check_remittance(read_835(eras.text([PROCESSED.format(status=status)], payment="100"))) == []


def test_status_4_without_a_denial_adjustment_denies_what_was_neither_paid_nor_moved(eras) -> None:
    clp = "CLP*C1*4*150*0*20*12*PCN1\nSVC*HC:90834*150*0**1\nCAS*PR*3*20\nCAS*OA*23*130"
    assessment = assess_claim(read_one(eras, clp).claims[0])
    # OA-23 is informational, so 150 - 0 paid - 20 copay = 130 stays denied in payer A/R.
    assert assessment.is_denial
    assert assessment.denied_amount == Decimal("130.00")
    assert assessment.root_cause is not None
    assert assessment.root_cause.name == "unclassified"


def test_status_22_is_a_reversal_with_negated_amounts_and_never_a_denial(eras) -> None:
    assessment = assess_claim(read_one(eras, eras.reversal.format(claim="C1"), payment="-100").claims[0])
    assert assessment.is_reversal
    assert not assessment.is_denial
    assert (assessment.paid_amount, assessment.contractual_amount, assessment.patient_responsibility) == (
        Decimal("-100.00"),
        Decimal("-30.00"),
        Decimal("-20.00"),
    )


def test_status_23_not_our_claim_pays_nothing_and_leaves_the_charge_open_without_a_denial(eras) -> None:
    assessment = assess_claim(read_one(eras, "CLP*C1*23*150*0*0*12*PCN1").claims[0])
    assert assessment.status_code == "23"
    assert (assessment.paid_amount, assessment.denied_amount, assessment.is_denial) == (Decimal("0.00"), 0, False)


def test_a_reversal_followed_by_a_repayment_nets_to_the_repayment(eras) -> None:
    repayment = "CLP*C1*1*150*110*20*12*PCN1\nSVC*HC:90834*150*110**1\nCAS*CO*45*20\nCAS*PR*3*20"
    transaction = read_835(eras.text([eras.reversal.format(claim="C1"), repayment], payment="10")).transactions[0]
    original = assess_claim(read_one(eras, eras.paid.format(claim="C1"), payment="100").claims[0])
    reversal, repaid = (assess_claim(c) for c in transaction.claims)
    net_paid = original.paid_amount + reversal.paid_amount + repaid.paid_amount
    net_contractual = original.contractual_amount + reversal.contractual_amount + repaid.contractual_amount
    assert (net_paid, net_contractual) == (Decimal("110.00"), Decimal("20.00"))
    assert check_remittance(read_835(eras.text([eras.reversal.format(claim="C1"), repayment], payment="10"))) == []


def test_a_plb_recoupment_reduces_the_payment_and_the_file_balances(eras) -> None:
    plb = ["PLB*1234567893*20261231*WO:RECOUP1*30*L6:INTEREST1*-5"]
    transaction = read_one(eras, eras.paid.format(claim="C1"), payment="75", plb=plb)
    assert [(p.reason_code, p.reference, p.amount) for p in transaction.provider_adjustments] == [
        ("WO", "RECOUP1", Decimal("30")),
        ("L6", "INTEREST1", Decimal("-5")),
    ]
    # BPR02 = 100 paid - (30 - 5) = 75.
    assert check_remittance(read_835(eras.text([eras.paid.format(claim="C1")], payment="75", plb=plb))) == []
    unbalanced = check_remittance(read_835(eras.text([eras.paid.format(claim="C1")], payment="100", plb=plb)))
    assert [(d.rule, d.expected, d.actual) for d in unbalanced] == [("payment_balance", Decimal("75"), Decimal("100"))]


# group, CARC, remark, telehealth modifier, expected root cause, patient billable: one row per 5.3 code.
ROOT_CAUSES = [
    ("CO", "197", None, False, "authorization_missing", False),
    ("CO", "15", None, False, "authorization_missing", False),
    ("CO", "284", None, False, "authorization_missing", False),
    ("CO", "296", None, False, "authorization_missing", False),
    ("CO", "16", "M62", False, "authorization_missing", False),
    ("CO", "16", "N54", False, "authorization_missing", False),
    ("CO", "39", None, False, "authorization_denied", False),
    ("CO", "198", None, False, "authorization_exhausted", False),
    ("CO", "302", None, False, "authorization_exhausted", False),
    ("CO", "16", "N362", False, "authorization_exhausted", False),
    ("CO", "301", None, False, "not_covered", False),
    ("CO", "109", None, False, "not_covered", False),
    ("CO", "300", None, False, "not_covered", False),
    ("CO", "96", None, False, "not_covered", False),
    ("CO", "204", None, False, "not_covered", False),
    ("CO", "119", None, False, "visit_limit", False),
    ("PR", "119", None, False, "visit_limit", True),
    ("CO", "151", None, False, "visit_limit", False),
    ("CO", "273", None, False, "visit_limit", False),
    ("CO", "5", None, True, "telehealth", False),
    ("CO", "58", None, True, "telehealth", False),
    ("CO", "4", None, True, "telehealth", False),
    ("CO", "B7", None, False, "provider_not_credentialed", False),
    ("CO", "170", None, False, "provider_not_credentialed", False),
    ("CO", "185", None, False, "provider_not_credentialed", False),
    ("CO", "242", None, False, "provider_not_credentialed", False),
    ("CO", "206", None, False, "provider_not_credentialed", False),
    ("CO", "207", None, False, "provider_not_credentialed", False),
    ("CO", "208", None, False, "provider_not_credentialed", False),
    ("CO", "27", None, False, "eligibility", False),
    ("PR", "27", None, False, "eligibility", True),
    ("PR", "26", None, False, "eligibility", True),
    ("CO", "31", None, False, "eligibility", False),
    ("CO", "22", None, False, "eligibility", False),
    ("CO", "4", None, False, "coding", False),
    ("CO", "11", None, False, "coding", False),
    ("CO", "16", None, False, "coding", False),
    ("CO", "97", None, False, "coding", False),
    ("CO", "231", None, False, "coding", False),
    ("CO", "236", None, False, "coding", False),
    ("CO", "A1", "M15", False, "coding", False),
    ("CO", "A1", "M51", False, "coding", False),
    ("CO", "A1", "M76", False, "coding", False),
    ("CO", "29", None, False, "timely_filing", False),
    ("OA", "18", None, False, "duplicate", False),
    ("CO", "B13", None, False, "duplicate", False),
    ("CO", "50", None, False, "medical_necessity", False),
    ("CO", "167", None, False, "medical_necessity", False),
    ("CO", "252", None, False, "medical_necessity", False),
    ("CO", "226", None, False, "medical_necessity", False),
    ("CO", "A1", None, False, "unclassified", False),
    ("PI", "999", None, False, "unclassified", False),
]


@pytest.mark.parametrize(("group", "carc", "remark", "telehealth", "root_cause", "patient_billable"), ROOT_CAUSES)
def test_a_denied_835_line_gets_the_root_cause_of_domain_5_3(
    eras, group, carc, remark, telehealth, root_cause, patient_billable
) -> None:
    procedure = "HC:90834:95" if telehealth else "HC:90834"
    clp = f"CLP*C1*4*150*0*{'150' if group == 'PR' else ''}*12*PCN1\nSVC*{procedure}*150*0**1\nCAS*{group}*{carc}*150"
    if remark:
        clp += f"\nLQ*HE*{remark}"
    transaction = read_one(eras, clp)
    assert check_remittance(read_835(eras.text([clp], payment="0"))) == []
    assessment = assess_claim(transaction.claims[0])
    assert assessment.is_denial
    assert assessment.root_cause is not None
    assert assessment.root_cause.name == root_cause
    assert assessment.reason_codes == (f"{group}-{carc}",)
    assert assessment.patient_billable is patient_billable
    assert (assessment.denied_amount + assessment.patient_denied_amount) == Decimal("150.00")
    assert (f"{group}-{carc}" in assessment.unclassified_codes) is (root_cause == "unclassified")


def test_every_root_cause_of_domain_5_3_is_covered_by_a_project_835() -> None:
    from remittance import tables

    named = {rule.root_cause.name for rule in tables.ROOT_CAUSE_RULES} | {"unclassified"}
    assert {row[4] for row in ROOT_CAUSES} == named
