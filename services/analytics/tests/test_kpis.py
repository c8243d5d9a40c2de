"""Hand-computed KPI fixtures for DOMAIN.md section 6 (pure: no stack needed)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from analytics import kpis
from analytics.domain import Scope, Tally

D = date(2026, 10, 31)


def test_worked_example_first_pass_is_one_of_two_when_the_window_covers_september(worked):
    value = kpis.first_pass_clean_claim_rate(worked.ledger(), as_of=D, window_days=60)
    assert value.value == Decimal("0.5000")
    assert value.numerator == Tally(1, Decimal("150"))
    assert value.denominator == Tally(2, Decimal("300"))


def test_worked_example_ar_is_370_and_days_in_ar_is_66_6(worked):
    value = kpis.days_in_ar(worked.ledger(), as_of=D)
    assert value.numerator.amount == Decimal("370")
    assert value.denominator == Tally(3, Decimal("500"))
    assert value.value == Decimal("66.6")


def test_worked_example_default_window_has_only_the_unadjudicated_claim_so_no_rate(worked):
    value = kpis.first_pass_clean_claim_rate(worked.ledger(), as_of=D)
    assert value.denominator.count == 0
    assert value.value is None


def test_worked_example_is_the_same_whatever_order_the_events_arrive_in(worked):
    events = list(worked.events)
    random.Random(7).shuffle(events)
    ledger = worked.ledger(events)
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D, window_days=60).value == Decimal("0.5000")
    assert kpis.days_in_ar(ledger, as_of=D).value == Decimal("66.6")


def test_a_late_charge_event_is_taken_from_its_claim_so_ar_does_not_wait(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1), emit=False)
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), paid="120", adjustments=(("CO", "45", "30", "contractual"),))
    value = kpis.days_in_ar(lifecycle.ledger(), as_of=D)
    assert value.numerator.amount == Decimal("0")
    assert value.denominator == Tally(1, Decimal("150"))


def test_nothing_adjudicated_yet_gives_an_empty_cohort_and_full_ar(lifecycle):
    lifecycle.charge("C1", billed="100", posted=date(2026, 10, 10))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 11))
    ledger = lifecycle.ledger()
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).value is None
    assert kpis.initial_denial_rate(ledger, as_of=D).value is None
    ar = kpis.days_in_ar(ledger, as_of=D)
    assert ar.numerator.amount == Decimal("100")
    assert ar.value == Decimal("90.0")


def test_a_claim_paid_zero_because_everything_went_to_the_deductible_is_clean(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), adjustments=(("PR", "1", "150", "cost_share"),))
    ledger = lifecycle.ledger()
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).value == Decimal("1.0000")
    assert kpis.initial_denial_rate(ledger, as_of=D).value == Decimal("0.0000")
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("150")


def test_patient_responsibility_leaves_ar_only_when_the_patient_pays(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), adjustments=(("PR", "1", "150", "cost_share"),))
    lifecycle.patient_pays("C1", "C1", amount="100", on=date(2026, 10, 25))
    lifecycle.patient_pays("C1", "C1", amount="50", on=date(2026, 11, 5))
    ledger = lifecycle.ledger()
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("50")
    assert kpis.days_in_ar(ledger, as_of=date(2026, 11, 5)).numerator.amount == Decimal("0")


def test_a_denied_first_adjudication_is_not_clean_and_counts_as_an_initial_denial(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.charge("C2", billed="200", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.submit("C2", "C2", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), adjustments=(("CO", "197", "150", "denial"),), status="4")
    lifecycle.remit("C2", "C2", on=date(2026, 10, 20), paid="170", adjustments=(("CO", "45", "30", "contractual"),))
    ledger = lifecycle.ledger()
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).value == Decimal("0.5000")
    denial = kpis.initial_denial_rate(ledger, as_of=D)
    assert denial.value == Decimal("0.5000")
    assert denial.numerator == Tally(1, Decimal("150"))
    assert denial.denominator == Tally(2, Decimal("350"))
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("150")


def test_a_denied_amount_leaves_ar_only_when_written_off(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), adjustments=(("CO", "29", "150", "denial"),), status="4")
    lifecycle.write_off("C1", "C1", amount="150", on=date(2026, 11, 2))
    ledger = lifecycle.ledger()
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("150")
    assert kpis.days_in_ar(ledger, as_of=date(2026, 11, 2)).numerator.amount == Decimal("0")


def test_a_277ca_rejection_of_the_first_attempt_makes_a_later_paid_claim_not_clean(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.acknowledge("C1", kind="999", status_code="A", outcome="accepted", on=date(2026, 10, 2))
    lifecycle.acknowledge("C1", kind="277CA", status_code="A7", outcome="rejected", on=date(2026, 10, 3))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 5), attempt=2)
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), paid="150")
    ledger = lifecycle.ledger()
    first_pass = kpis.first_pass_clean_claim_rate(ledger, as_of=D)
    assert (first_pass.numerator.count, first_pass.denominator.count) == (0, 1)
    acceptance = kpis.acceptance_clean_claim_rate(ledger, as_of=D)
    assert (acceptance.numerator.count, acceptance.denominator.count) == (0, 1)


def test_acceptance_counts_277ca_a2_and_ignores_claims_only_received_a1(lifecycle):
    for claim in ("C1", "C2"):
        lifecycle.charge(claim, billed="100", posted=date(2026, 10, 1))
        lifecycle.submit(claim, claim, on=date(2026, 10, 2))
        lifecycle.acknowledge(claim, kind="999", status_code="A", outcome="accepted", on=date(2026, 10, 2))
        lifecycle.acknowledge(claim, kind="277CA", status_code="A1", outcome="received", on=date(2026, 10, 3))
    lifecycle.acknowledge("C1", kind="277CA", status_code="A2", outcome="accepted", on=date(2026, 10, 4))
    value = kpis.acceptance_clean_claim_rate(lifecycle.ledger(), as_of=D)
    assert (value.numerator.count, value.denominator.count) == (1, 1)


def test_a_scrubber_held_claim_is_not_clean_even_when_paid_in_full(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.charge("C2", billed="150", posted=date(2026, 10, 1))
    lifecycle.hold("C1", "C1", on=date(2026, 10, 2))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 4), manually_touched=True)
    lifecycle.submit("C2", "C2", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), paid="150")
    lifecycle.remit("C2", "C2", on=date(2026, 10, 20), paid="150")
    ledger = lifecycle.ledger()
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).value == Decimal("0.5000")
    assert kpis.scrubber_clean_claim_rate(ledger, as_of=D).value == Decimal("0.5000")


def test_a_manual_touch_before_first_submission_is_not_clean(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1), manually_touched=True)
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), paid="150")
    assert kpis.first_pass_clean_claim_rate(lifecycle.ledger(), as_of=D).value == Decimal("0.0000")


def test_a_charge_posted_before_the_90_day_window_counts_in_ar_not_in_the_denominator(lifecycle):
    lifecycle.charge("OLD", billed="300", posted=date(2026, 7, 15))
    lifecycle.charge("NEW", billed="900", posted=date(2026, 10, 1))
    value = kpis.days_in_ar(lifecycle.ledger(), as_of=D)
    assert value.numerator == Tally(2, Decimal("1200"))
    assert value.denominator == Tally(1, Decimal("900"))
    assert value.value == Decimal("120.0")


def test_facts_dated_after_d_are_ignored(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.charge("LATE", billed="500", posted=date(2026, 11, 3))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 11, 2), paid="150")
    ledger = lifecycle.ledger()
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).value is None
    assert kpis.days_in_ar(ledger, as_of=D).numerator == Tally(1, Decimal("150"))


def test_a_secondary_claim_is_not_in_the_clean_rate_and_its_payment_reduces_the_same_charge(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 15), paid="100", adjustments=(("PR", "2", "50", "cost_share"),))
    lifecycle.submit("C1S", "C1", on=date(2026, 10, 16), priority="secondary")
    lifecycle.remit("C1S", "C1", on=date(2026, 10, 25), paid="40", adjustments=(("PR", "2", "10", "cost_share"),))
    ledger = lifecycle.ledger()
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).denominator.count == 1
    ar = kpis.days_in_ar(ledger, as_of=D)
    assert ar.numerator == Tally(1, Decimal("10"))
    assert ar.denominator == Tally(1, Decimal("150"))


def test_a_voided_charge_leaves_ar_and_gross_charges(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.charge("C2", billed="90", posted=date(2026, 10, 1))
    lifecycle.void("C1", on=date(2026, 10, 3))
    value = kpis.days_in_ar(lifecycle.ledger(), as_of=D)
    assert value.numerator == Tally(1, Decimal("90"))
    assert value.value == Decimal("90.0")


def test_kpis_slice_by_practice(lifecycle):
    other = lifecycle.practice_id.__class__(int=lifecycle.practice_id.int ^ 1)
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.charge("C2", billed="300", posted=date(2026, 10, 1), practice_id=other)
    ledger = lifecycle.ledger()
    mine = kpis.days_in_ar(ledger, as_of=D, scope=Scope(practice_id=lifecycle.practice_id))
    assert mine.numerator == Tally(1, Decimal("150"))
    assert kpis.days_in_ar(ledger, as_of=D, scope=Scope(practice_id=other)).numerator == Tally(1, Decimal("300"))


def test_a_reversal_puts_the_payment_back_in_ar(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 15), paid="120", adjustments=(("CO", "45", "30", "contractual"),))
    reversal = lifecycle.events[-1].model_copy(
        update={
            "id": "reversal-1",
            "type": "remittance.reversed",
            "data": lifecycle.events[-1].data.model_copy(
                update={
                    "payment_date": date(2026, 10, 25),
                    "claim_status_code": "22",
                    "charge_amount": Decimal("-150"),
                    "paid_amount": Decimal("-120"),
                    "contractual_amount": Decimal("-30"),
                }
            ),
        }
    )
    ledger = lifecycle.ledger([*lifecycle.events, reversal])
    assert kpis.days_in_ar(ledger, as_of=date(2026, 10, 20)).numerator.amount == Decimal("0")
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("150")
    assert kpis.first_pass_clean_claim_rate(ledger, as_of=D).value == Decimal("1.0000")


def test_worked_example_ar_aging_shares_count_dollars_by_days_since_the_date_of_service(worked):
    # On 2026-10-31 the oldest visit (C1, 09-01) is exactly 60 days old: not "over 60".
    at_d = kpis.ar_share_over(worked.ledger(), as_of=D, days=60)
    assert at_d.value == Decimal("0.0000")
    assert at_d.denominator == Tally(3, Decimal("370"))
    # A month later: C1's copay (20) is 91 days old, C2 (150) 89 and C3 (200) 61; A/R is still 370.
    later = date(2026, 12, 1)
    over_90 = kpis.ar_share_over(worked.ledger(), as_of=later, days=90)
    assert over_90.numerator == Tally(1, Decimal("20"))
    assert over_90.value == Decimal("0.0541")
    assert kpis.ar_share_over(worked.ledger(), as_of=later, days=60).value == Decimal("1.0000")


def test_ar_aging_share_is_undefined_without_receivables(lifecycle):
    lifecycle.charge("C1", billed="100", posted=date(2026, 6, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 6, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 6, 20), paid="100")
    assert kpis.ar_share_over(lifecycle.ledger(), as_of=D, days=90).value is None


def test_balances_shared_across_kpis_follow_facts_appended_to_the_same_ledger(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), adjustments=(("PR", "1", "150", "cost_share"),))
    ledger = lifecycle.ledger()
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("150")
    lifecycle.patient_pays("C1", "C1", amount="100", on=date(2026, 10, 25))
    ledger.patient_payments.extend(lifecycle.ledger().patient_payments)
    assert kpis.days_in_ar(ledger, as_of=D).numerator.amount == Decimal("50")
    assert kpis.ar_share_over(ledger, as_of=D, days=90).denominator.amount == Decimal("50")
