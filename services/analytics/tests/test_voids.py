"""Voids in the KPIs (DOMAIN.md section 6), hand-computed from lifecycle events (pure: no stack needed).

A void (frequency 8) the payer accepted takes its claim out of the acceptance and first-pass cohorts from its
business date; a charge voided with no replacement leaves A/R and the 90-day gross charges as of that date; a replaced
claim stays one claim. Each expected number is worked out in the comment above its assertion.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from analytics import report
from analytics.claims import summarize
from analytics.domain import KpiValue, Tally
from analytics.facts import StoredFact, fact_of

D = date(2026, 10, 31)
BEFORE_THE_VOID = date(2026, 10, 19)


def pick(values: list[KpiValue], name: str, variant: str | None = None) -> KpiValue:
    """One KPI of a list by name and variant."""
    return next(v for v in values if v.name == name and v.variant == variant)


def kpis_of(lifecycle, *, as_of: date = D, events=None) -> list[KpiValue]:
    """Every KPI of the fixture's events as of a date."""
    return report.all_kpis(lifecycle.ledger(events), as_of=as_of, window_days=30)


def accept(lifecycle, claim_id: str, *, on: date, attempt: int = 1) -> None:
    """The clearinghouse's 999 A and the payer's 277CA A2 for an attempt."""
    lifecycle.acknowledge(claim_id, kind="999", status_code="A", outcome="accepted", on=on, attempt=attempt)
    lifecycle.acknowledge(claim_id, kind="277CA", status_code="A2", outcome="accepted", on=on, attempt=attempt)


def paid_claim(lifecycle, claim_id: str, *, billed: str = "150") -> None:
    """A charge posted 10-01, its claim sent and accepted 10-02 and paid 10-15: 120 paid, 30 contractual (CO-45),
    so nothing is left in A/R."""
    lifecycle.charge(claim_id, billed=billed, posted=date(2026, 10, 1))
    lifecycle.submit(claim_id, claim_id, on=date(2026, 10, 2))
    accept(lifecycle, claim_id, on=date(2026, 10, 2))
    contractual = str(Decimal(billed) - Decimal("120"))
    lifecycle.remit(
        claim_id, claim_id, on=date(2026, 10, 15), paid="120", adjustments=(("CO", "45", contractual, "contractual"),)
    )


def void_accepted(lifecycle, claim_id: str, *, on: date = date(2026, 10, 20), attempt: int = 2) -> None:
    """A void requested and sent (frequency 8) on a date and accepted by the payer that day; the payer then takes
    its payment back (CLP02 22)."""
    lifecycle.void_claim(claim_id, claim_id, on=on)
    lifecycle.submit(claim_id, claim_id, on=on, attempt=attempt, frequency="8")
    accept(lifecycle, claim_id, on=on, attempt=attempt)
    lifecycle.reverse(claim_id, claim_id, on=date(2026, 10, 27), paid="120", contractual="30")


def test_an_accepted_void_takes_its_claim_out_of_the_acceptance_and_first_pass_cohorts_from_its_date(lifecycle):
    paid_claim(lifecycle, "C1")
    paid_claim(lifecycle, "C2")
    void_accepted(lifecycle, "C1")
    # Before 10-20 both claims were accepted and paid clean: 2 of 2 in each cohort.
    before = kpis_of(lifecycle, as_of=BEFORE_THE_VOID)
    assert pick(before, "clean_claim_rate", "acceptance").denominator == Tally(2, Decimal("300"))
    assert pick(before, "clean_claim_rate", "first_pass").denominator == Tally(2, Decimal("300"))
    # From 10-20 only C2 is in them: 1 of 1.
    after = kpis_of(lifecycle)
    acceptance, first_pass = (
        pick(after, "clean_claim_rate", "acceptance"),
        pick(after, "clean_claim_rate", "first_pass"),
    )
    assert (acceptance.numerator, acceptance.denominator) == (Tally(1, Decimal("150")), Tally(1, Decimal("150")))
    assert (first_pass.numerator, first_pass.denominator) == (Tally(1, Decimal("150")), Tally(1, Decimal("150")))


def test_a_void_with_no_replacement_takes_the_charge_out_of_ar_and_gross_charges_as_of_that_date(lifecycle):
    paid_claim(lifecycle, "C1")
    lifecycle.charge("C2", billed="90", posted=date(2026, 10, 1))
    lifecycle.submit("C2", "C2", on=date(2026, 10, 2))
    void_accepted(lifecycle, "C1")
    # 10-19: C1 paid in full (0 left) and C2 unpaid (90): A/R 90 over gross 150 + 90 = 240; 90 x 90 / 240 = 33.8.
    before = pick(kpis_of(lifecycle, as_of=BEFORE_THE_VOID), "days_in_ar")
    assert (before.numerator, before.denominator, before.value) == (
        Tally(2, Decimal("90")),
        Tally(2, Decimal("240")),
        Decimal("33.8"),
    )
    # 10-31: C1 is voided (the payer's reversal of 10-27 does not bring it back): A/R 90 over gross 90 = 90 days.
    values = kpis_of(lifecycle)
    after = pick(values, "days_in_ar")
    assert (after.numerator, after.denominator, after.value) == (
        Tally(1, Decimal("90")),
        Tally(1, Decimal("90")),
        Decimal("90.0"),
    )
    # Aging and net collection leave it out too: 90 of payer A/R, nothing collected of C2's 90.
    assert pick(values, "ar_aging", "total/0-30").denominator == Tally(1, Decimal("90"))
    assert pick(values, "net_collection_rate").denominator == Tally(1, Decimal("90"))


def test_a_void_the_payer_rejects_or_has_not_answered_keeps_the_claim_in_the_cohorts_and_in_ar(lifecycle):
    paid_claim(lifecycle, "C1")
    paid_claim(lifecycle, "C2")
    lifecycle.void_claim("C1", "C1", on=date(2026, 10, 20))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 20), attempt=2, frequency="8")
    lifecycle.acknowledge("C1", kind="999", status_code="A", outcome="accepted", on=date(2026, 10, 20), attempt=2)
    lifecycle.acknowledge("C1", kind="277CA", status_code="A7", outcome="rejected", on=date(2026, 10, 21), attempt=2)
    lifecycle.void_claim("C2", "C2", on=date(2026, 10, 22))
    lifecycle.submit("C2", "C2", on=date(2026, 10, 22), attempt=2, frequency="8")
    lifecycle.acknowledge("C2", kind="999", status_code="A", outcome="accepted", on=date(2026, 10, 22), attempt=2)
    values = kpis_of(lifecycle)
    # C1's void was rejected, C2's has only a 999: both stay in both cohorts, accepted and clean.
    assert pick(values, "clean_claim_rate", "acceptance").numerator == Tally(2, Decimal("300"))
    assert pick(values, "clean_claim_rate", "first_pass").numerator == Tally(2, Decimal("300"))
    # Both charges stay in gross charges (300) with nothing left in A/R.
    days = pick(values, "days_in_ar")
    assert (days.numerator, days.denominator) == (Tally(2, Decimal("0")), Tally(2, Decimal("300")))


def test_a_void_sent_before_the_window_still_keeps_its_claim_out_once_accepted(lifecycle):
    paid_claim(lifecycle, "C1")
    void_accepted(lifecycle, "C1", on=date(2026, 10, 3))
    # Accepted on 10-03; as of 10-31 with a 30-day window (10-02..10-31) the claim is out of both cohorts.
    values = kpis_of(lifecycle)
    assert pick(values, "clean_claim_rate", "acceptance").denominator == Tally()
    assert pick(values, "clean_claim_rate", "first_pass").value is None


def test_a_claim_withdrawn_before_the_payer_held_it_leaves_ar_and_gross_charges(lifecycle):
    # C1 held by the scrubber, C2 rejected by the payer's 277CA: both withdrawn on 10-05 (no void goes out).
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.hold("C1", "C1", on=date(2026, 10, 2))
    lifecycle.charge("C2", billed="200", posted=date(2026, 10, 1))
    lifecycle.submit("C2", "C2", on=date(2026, 10, 2))
    lifecycle.acknowledge("C2", kind="277CA", status_code="A7", outcome="rejected", on=date(2026, 10, 2))
    lifecycle.charge("C3", billed="90", posted=date(2026, 10, 1))
    lifecycle.submit("C3", "C3", on=date(2026, 10, 2))
    for claim_id in ("C1", "C2"):
        lifecycle.void_claim(claim_id, claim_id, on=date(2026, 10, 5))
    # 10-04: all three charges are billed: A/R 150 + 200 + 90 = 440 over the same gross.
    before = pick(kpis_of(lifecycle, as_of=date(2026, 10, 4)), "days_in_ar")
    assert (before.numerator, before.denominator) == (Tally(3, Decimal("440")), Tally(3, Decimal("440")))
    values = kpis_of(lifecycle)
    # 10-31: only C3 (90) is left.
    after = pick(values, "days_in_ar")
    assert (after.numerator, after.denominator) == (Tally(1, Decimal("90")), Tally(1, Decimal("90")))
    # The rejection was a real answer: C2 stays in the acceptance cohort (2 claims: C2 rejected, C3 unanswered is
    # not in it), so 0 of 1 accepted.
    acceptance = pick(values, "clean_claim_rate", "acceptance")
    assert (acceptance.numerator.count, acceptance.denominator.count) == (0, 1)


def test_a_withdrawal_of_a_claim_the_payer_holds_waits_for_its_void_to_be_accepted(lifecycle):
    paid_claim(lifecycle, "C1")
    # The void is requested on 10-20 but goes out only on 10-23 and is accepted on 10-24.
    lifecycle.void_claim("C1", "C1", on=date(2026, 10, 20))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 23), attempt=2, frequency="8")
    accept(lifecycle, "C1", on=date(2026, 10, 24), attempt=2)
    # 10-22: the payer still holds C1 (paid, nothing left): in gross charges and in the cohorts.
    waiting = kpis_of(lifecycle, as_of=date(2026, 10, 22))
    assert pick(waiting, "days_in_ar").denominator == Tally(1, Decimal("150"))
    assert pick(waiting, "clean_claim_rate", "first_pass").denominator.count == 1
    # 10-23: sent, not answered yet: still in.
    assert pick(kpis_of(lifecycle, as_of=date(2026, 10, 23)), "days_in_ar").denominator.count == 1
    # 10-24: accepted, out of everything.
    accepted = kpis_of(lifecycle, as_of=date(2026, 10, 24))
    assert pick(accepted, "days_in_ar").denominator == Tally()
    assert pick(accepted, "clean_claim_rate", "first_pass").denominator == Tally()


def test_a_charge_whose_voided_claim_is_billed_again_by_another_claim_stays_in_ar_once(lifecycle):
    paid_claim(lifecycle, "C1")
    void_accepted(lifecycle, "C1")
    # The charge is billed again under a new claim on 10-21 (not paid yet).
    lifecycle.submit("C1B", "C1", on=date(2026, 10, 21))
    values = kpis_of(lifecycle)
    # One charge of 150: its payment of 120 was reversed (10-27), so 150 is back in A/R; gross 150 once.
    days = pick(values, "days_in_ar")
    assert (days.numerator, days.denominator) == (Tally(1, Decimal("150")), Tally(1, Decimal("150")))
    # The voided claim is out of the cohorts; the new claim is unanswered and unpaid, so in neither.
    assert pick(values, "clean_claim_rate", "acceptance").denominator == Tally()
    assert pick(values, "clean_claim_rate", "first_pass").denominator == Tally()


def test_a_replaced_claim_stays_one_claim_in_the_cohorts_and_one_charge_in_ar(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    accept(lifecycle, "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 10), status="4", adjustments=(("CO", "16", "150", "denial"),))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 12), attempt=2, frequency="7", manually_touched=True)
    accept(lifecycle, "C1", on=date(2026, 10, 12), attempt=2)
    lifecycle.remit("C1", "C1", on=date(2026, 10, 25), paid="120", adjustments=(("CO", "45", "30", "contractual"),))
    values = kpis_of(lifecycle)
    # One claim in each cohort: accepted on its first attempt, not clean (denied first).
    acceptance, first_pass = (
        pick(values, "clean_claim_rate", "acceptance"),
        pick(values, "clean_claim_rate", "first_pass"),
    )
    assert (acceptance.numerator.count, acceptance.denominator.count) == (1, 1)
    assert (first_pass.numerator.count, first_pass.denominator.count) == (0, 1)
    # One charge: 150 - 120 - 30 = 0 left, 150 of gross charges.
    days = pick(values, "days_in_ar")
    assert (days.numerator, days.denominator) == (Tally(1, Decimal("0")), Tally(1, Decimal("150")))


def test_voids_give_the_same_kpis_whatever_order_the_events_arrive_in(lifecycle):
    paid_claim(lifecycle, "C1")
    paid_claim(lifecycle, "C2")
    lifecycle.charge("C3", billed="90", posted=date(2026, 10, 1))
    lifecycle.hold("C3", "C3", on=date(2026, 10, 2))
    void_accepted(lifecycle, "C1")
    lifecycle.void_claim("C3", "C3", on=date(2026, 10, 5))
    in_order = kpis_of(lifecycle)
    for seed in range(5):
        shuffled = list(lifecycle.events)
        random.Random(seed).shuffle(shuffled)
        assert kpis_of(lifecycle, events=shuffled) == in_order
    # Only C2 is left: 0 of A/R over 150 of gross charges.
    assert pick(in_order, "days_in_ar").denominator == Tally(1, Decimal("150"))


def summary_of(lifecycle, claim_id: str):
    """The claim's searchable summary from its facts."""
    facts = []
    for event in lifecycle.events:
        row = fact_of(event)
        if row.claim_id == claim_id:
            facts.append(
                StoredFact(row.event_type, row.fact_date, row.claim_id, row.charge_id, row.practice_id, row.attributes)
            )
    return summarize(facts)


def test_a_claim_whose_void_the_payer_accepted_is_found_as_voided_not_accepted_or_reversed(lifecycle):
    paid_claim(lifecycle, "C1")
    void_accepted(lifecycle, "C1")
    # The void's 277CA A2 (10-20) and the payer's reversal (10-27) come after the void went out: voided since 10-20.
    summary = summary_of(lifecycle, "C1")
    assert (summary.status, summary.status_date) == ("voided", date(2026, 10, 20))


def test_a_claim_whose_void_the_payer_rejected_is_found_as_rejected(lifecycle):
    paid_claim(lifecycle, "C1")
    lifecycle.submit("C1", "C1", on=date(2026, 10, 20), attempt=2, frequency="8")
    lifecycle.acknowledge("C1", kind="277CA", status_code="A7", outcome="rejected", on=date(2026, 10, 21), attempt=2)
    assert summary_of(lifecycle, "C1").status == "rejected"
