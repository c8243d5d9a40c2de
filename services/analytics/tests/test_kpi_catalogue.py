"""Hand-computed fixtures for every KPI of DOMAIN.md section 6 (pure: no stack needed).

Each expected number is worked out in the comment above its assertion from the events of the fixture.
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from decimal import Decimal

from analytics import continuity, kpis, lags, receivables, report
from analytics.claims import summarize
from analytics.domain import KpiValue, Scope, Tally
from analytics.facts import StoredFact, fact_of
from analytics.ledger import AuthorizationPolicy

D = date(2026, 10, 31)


def pick(values: list[KpiValue], name: str, variant: str | None = None) -> KpiValue:
    """One KPI of a list by name and variant."""
    return next(v for v in values if v.name == name and v.variant == variant)


def everything(lifecycle, *, as_of: date = D, window_days: int = 30, scope: Scope | None = None) -> list[KpiValue]:
    """The whole report for the fixture's events."""
    return report.all_kpis(lifecycle.ledger(), as_of=as_of, window_days=window_days, scope=scope)


# --- DOMAIN.md's worked example, every KPI (window widened to 60 days to cover September) ---------------------


def test_worked_example_every_kpi_with_the_window_covering_september(worked):
    values = everything(worked, window_days=60)
    # C1 and C2 adjudicated, C1 clean, C2 denied CO-197.
    assert pick(values, "clean_claim_rate", "first_pass").value == Decimal("0.5000")
    # First attempts submitted 09-02, 09-04, 10-02 (all in [09-01, 10-31]) passed the scrubber untouched.
    scrubber = pick(values, "clean_claim_rate", "scrubber")
    assert (scrubber.numerator.count, scrubber.denominator.count) == (3, 3)
    # No 999/277CA came back: the acceptance cohort is empty.
    assert pick(values, "clean_claim_rate", "acceptance").value is None
    # First adjudications 09-20 (C1) and 09-25 (C2, denied 150): 1 of 2 claims, 150 of 300 dollars.
    by_count = pick(values, "initial_denial_rate")
    assert (by_count.value, by_count.numerator, by_count.denominator) == (
        Decimal("0.5000"),
        Tally(1, Decimal("150")),
        Tally(2, Decimal("300")),
    )
    assert pick(values, "initial_denial_rate", "dollars").value == Decimal("0.5000")
    auth_missing = pick(values, "denials_by_root_cause", "authorization_missing")
    assert (auth_missing.numerator, auth_missing.denominator) == (Tally(1, Decimal("150")), Tally(1, Decimal("150")))
    assert pick(values, "denials_by_root_cause", "coding").numerator == Tally(0, Decimal("0"))
    # A/R 370 over (500 / 90) = 66.6 days.
    assert pick(values, "days_in_ar").value == Decimal("66.6")
    # Net collection: payments 100 over billed 500 less contractual 30 = 100 / 470 = 0.2128.
    net = pick(values, "net_collection_rate")
    assert (net.numerator.amount, net.denominator.amount, net.value) == (
        Decimal("100"),
        Decimal("470"),
        Decimal("0.2128"),
    )


def test_worked_example_aging_splits_the_copay_into_patient_ar(worked):
    values = receivables.ar_aging(worked.ledger(), as_of=D)
    # C1 (DOS 09-01, 60 days): copay 20 is patient A/R; C2 (DOS 09-03, 58 days) 150 payer; C3 (30 days) 200 payer.
    assert pick(values, "ar_aging", "patient/31-60").numerator == Tally(1, Decimal("20"))
    assert pick(values, "ar_aging", "payer/31-60").numerator == Tally(1, Decimal("150"))
    assert pick(values, "ar_aging", "payer/0-30").numerator == Tally(1, Decimal("200"))
    assert pick(values, "ar_aging", "total/31-60").numerator == Tally(2, Decimal("170"))
    # Shares of the 370 total: 150 / 370 = 0.4054, 20 / 370 = 0.0541, 200 / 370 = 0.5405.
    assert pick(values, "ar_aging", "payer/31-60").value == Decimal("0.4054")
    assert pick(values, "ar_aging", "patient/31-60").value == Decimal("0.0541")
    assert pick(values, "ar_aging", "payer/0-30").value == Decimal("0.5405")
    assert pick(values, "ar_aging", "total/over_120").numerator == Tally(0, Decimal("0"))
    assert all(v.denominator == Tally(3, Decimal("370")) for v in values)


def test_worked_example_lags(worked):
    values = lags.lags(worked.ledger(), as_of=D, window_days=60)
    # Charges are posted on their date of service: charge lag 0 for all three.
    assert pick(values, "charge_lag", "median").value == Decimal("0.0")
    # Each claim went out the day after its charge was posted.
    assert pick(values, "send_lag", "median").value == Decimal("1.0")
    assert pick(values, "send_lag", "median").denominator == Tally(3, Decimal("500"))
    # Payer lags 18 (09-02 → 09-20) and 21 (09-04 → 09-25): median 19.5, p90 (nearest rank 2 of 2) 21.
    assert pick(values, "payer_lag", "median").value == Decimal("19.5")
    assert pick(values, "payer_lag", "p90").value == Decimal("21.0")
    assert pick(values, "payer_lag", "p90").numerator == Tally(2, Decimal("39"))


# --- Edge cases DOMAIN.md calls out ------------------------------------------------------------------------------


def test_nothing_adjudicated_yet_leaves_rates_empty_and_everything_in_payer_ar(lifecycle):
    lifecycle.charge("C1", billed="100", posted=date(2026, 10, 10))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 11))
    values = everything(lifecycle)
    assert pick(values, "clean_claim_rate", "first_pass").value is None
    assert pick(values, "initial_denial_rate").value is None
    assert pick(values, "payer_lag", "median").value is None
    # DOS 10-10 is 21 days before D: 100 of payer A/R in 0-30.
    assert pick(values, "ar_aging", "payer/0-30").value == Decimal("1.0000")
    assert pick(values, "ar_aging", "patient/0-30").numerator == Tally(0, Decimal("0"))
    # Nothing collected of 100 collectible.
    assert pick(values, "net_collection_rate").value == Decimal("0.0000")


def test_a_reversal_cancels_payment_and_contractual_but_not_the_first_adjudication(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 15), paid="120", adjustments=(("CO", "45", "30", "contractual"),))
    lifecycle.reverse("C1", "C1", on=date(2026, 10, 25), paid="120", contractual="30")
    values = everything(lifecycle)
    # Before the reversal: A/R 0 and 120 / (150 - 30) = 1.0 collected.
    before = everything(lifecycle, as_of=date(2026, 10, 20))
    assert pick(before, "days_in_ar").numerator.amount == Decimal("0")
    assert pick(before, "net_collection_rate").value == Decimal("1.0000")
    # After: 150 back in payer A/R, payments 120 - 120 = 0 over 150 - 0.
    assert pick(values, "days_in_ar").numerator.amount == Decimal("150")
    assert pick(values, "ar_aging", "payer/0-30").numerator == Tally(1, Decimal("150"))
    assert pick(values, "net_collection_rate").value == Decimal("0.0000")
    # The first adjudication (10-15, paid) stays the first one: clean, not a denial.
    assert pick(values, "clean_claim_rate", "first_pass").value == Decimal("1.0000")
    assert pick(values, "initial_denial_rate").value == Decimal("0.0000")


def test_a_corrected_claim_is_not_clean_even_when_the_replacement_is_paid(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 10), status="4", adjustments=(("CO", "16", "150", "denial"),))
    lifecycle.deny("C1", "C1", on=date(2026, 10, 10), amount="150", root_cause="coding", code="CO-16")
    lifecycle.request_correction("C1", on=date(2026, 10, 11))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 12), attempt=2)
    lifecycle.remit("C1", "C1", on=date(2026, 10, 25), paid="150")
    values = everything(lifecycle)
    first_pass = pick(values, "clean_claim_rate", "first_pass")
    assert (first_pass.numerator.count, first_pass.denominator.count) == (0, 1)
    assert pick(values, "initial_denial_rate").numerator == Tally(1, Decimal("150"))
    assert pick(values, "denials_by_root_cause", "coding").numerator == Tally(1, Decimal("150"))
    # The replacement's payment clears A/R; it is one claim, so one charge of 150 in the denominator.
    assert pick(values, "days_in_ar").numerator == Tally(1, Decimal("0"))
    # Payer lag runs from the first submission (10-02) to the first adjudication (10-10): 8 days.
    assert pick(values, "payer_lag", "median").value == Decimal("8.0")


def test_cost_share_only_is_not_a_denial_and_is_patient_ar(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit(
        "C1",
        "C1",
        on=date(2026, 10, 20),
        paid="100",
        adjustments=(("PR", "2", "30", "cost_share"), ("PR", "3", "20", "cost_share")),
    )
    values = everything(lifecycle)
    assert pick(values, "clean_claim_rate", "first_pass").value == Decimal("1.0000")
    assert pick(values, "initial_denial_rate").numerator == Tally(0, Decimal("0"))
    assert pick(values, "denials_by_root_cause", "unclassified").denominator.count == 0
    # 150 - 100 paid = 50, all of it the patient's (coinsurance 30 + copay 20); DOS 10-01 is 30 days before D.
    assert pick(values, "ar_aging", "patient/0-30").numerator == Tally(1, Decimal("50"))
    assert pick(values, "ar_aging", "payer/0-30").numerator == Tally(0, Decimal("0"))


def test_a_pr_denial_counts_as_a_denial_and_moves_to_patient_ar(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), adjustments=(("PR", "96", "150", "denial_patient"),))
    lifecycle.deny("C1", "C1", on=date(2026, 10, 20), amount="150", root_cause="not_covered", code="PR-96")
    values = everything(lifecycle)
    assert pick(values, "clean_claim_rate", "first_pass").value == Decimal("0.0000")
    assert pick(values, "initial_denial_rate").value == Decimal("1.0000")
    assert pick(values, "initial_denial_rate", "dollars").value == Decimal("1.0000")
    assert pick(values, "denials_by_root_cause", "not_covered").numerator == Tally(1, Decimal("150"))
    # Still in A/R (nobody paid), but the patient's now.
    assert pick(values, "ar_aging", "patient/0-30").numerator == Tally(1, Decimal("150"))
    assert pick(values, "ar_aging", "payer/0-30").numerator == Tally(0, Decimal("0"))


def test_co_253_sequestration_is_contractual_not_a_denial(lifecycle):
    lifecycle.charge("C1", billed="100", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 20), paid="98", adjustments=(("CO", "253", "2", "contractual"),))
    values = everything(lifecycle)
    assert pick(values, "clean_claim_rate", "first_pass").value == Decimal("1.0000")
    assert pick(values, "initial_denial_rate").value == Decimal("0.0000")
    assert pick(values, "days_in_ar").numerator.amount == Decimal("0")
    # 98 collected of 100 - 2 collectible.
    net = pick(values, "net_collection_rate")
    assert (net.numerator.amount, net.denominator.amount, net.value) == (Decimal("98"), Decimal("98"), Decimal("1"))


def test_a_void_is_an_attempt_not_a_new_claim_and_its_charge_leaves_ar(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.charge("C2", billed="90", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.submit("C2", "C2", on=date(2026, 10, 2))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 5), attempt=2, frequency="8")
    lifecycle.void_claim("C1", "C1", on=date(2026, 10, 5))
    lifecycle.void("C1", on=date(2026, 10, 5))
    values = everything(lifecycle)
    # Two claims scrubbed (the void is attempt 2 of C1, not a third claim).
    assert pick(values, "clean_claim_rate", "scrubber").denominator.count == 2
    # Only C2 (90) stays in A/R and in gross charges: 90 / (90 / 90) = 90 days.
    days = pick(values, "days_in_ar")
    assert (days.numerator, days.denominator, days.value) == (
        Tally(1, Decimal("90")),
        Tally(1, Decimal("90")),
        Decimal("90.0"),
    )
    assert pick(values, "net_collection_rate").denominator == Tally(1, Decimal("90"))


def test_a_secondary_claim_never_counts_the_same_dollars_twice(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 15), paid="100", adjustments=(("PR", "2", "50", "cost_share"),))
    lifecycle.submit("C1S", "C1", on=date(2026, 10, 16), priority="secondary")
    lifecycle.remit("C1S", "C1", on=date(2026, 10, 25), paid="40", adjustments=(("PR", "2", "10", "cost_share"),))
    values = everything(lifecycle)
    # Rates use the primary claim only: one claim of 150.
    assert pick(values, "initial_denial_rate").denominator == Tally(1, Decimal("150"))
    assert pick(values, "clean_claim_rate", "scrubber").denominator.count == 1
    # Net collection: (100 + 40) / 150 = 0.9333; the charge's 150 is billed once.
    net = pick(values, "net_collection_rate")
    assert (net.numerator.amount, net.denominator, net.value) == (
        Decimal("140"),
        Tally(1, Decimal("150")),
        Decimal("0.9333"),
    )
    # The secondary payer's patient responsibility (10) is what the patient owes; no payer A/R is left.
    assert pick(values, "ar_aging", "patient/0-30").numerator == Tally(1, Decimal("10"))
    assert pick(values, "ar_aging", "payer/0-30").numerator == Tally(0, Decimal("0"))
    # Lags follow the primary claim: first submitted 10-02, first adjudicated 10-15.
    assert pick(values, "payer_lag", "median").value == Decimal("13.0")


def test_claims_across_the_90_day_boundary(lifecycle):
    # D - 89 = 08-03 is inside the 90 days of gross charges; D - 90 = 08-02 is not.
    lifecycle.charge("IN", billed="100", posted=date(2026, 8, 3))
    lifecycle.charge("OUT", billed="200", posted=date(2026, 8, 2))
    # Date of service 08-01 is 91 days before D (over 90); posted 08-05, inside the 90 days.
    lifecycle.charge("OLD", billed="50", posted=date(2026, 8, 5), date_of_service=date(2026, 8, 1))
    values = everything(lifecycle)
    days = pick(values, "days_in_ar")
    # A/R 350 over (150 / 90) = 210 days.
    assert (days.numerator.amount, days.denominator, days.value) == (
        Decimal("350"),
        Tally(2, Decimal("150")),
        Decimal("210.0"),
    )
    # 89 and 90 days old are in 61-90; 91 days is in 91-120.
    assert pick(values, "ar_aging", "payer/61-90").numerator == Tally(2, Decimal("300"))
    assert pick(values, "ar_aging", "payer/91-120").numerator == Tally(1, Decimal("50"))
    # Over 90: 50 / 350 = 0.1429; over 60: everything.
    assert pick(values, "ar_over_days", "90").value == Decimal("0.1429")
    assert pick(values, "ar_over_days", "60").value == Decimal("1.0000")


def test_aging_buckets_have_inclusive_edges():
    assert [receivables.bucket_of(days) for days in (0, 30, 31, 60, 61, 90, 91, 120, 121, 400)] == [
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "91-120",
        "91-120",
        "over_120",
        "over_120",
    ]


# --- Lags, root causes, authorization continuity -----------------------------------------------------------------


def test_charge_lag_median_and_nearest_rank_p90(lifecycle):
    lifecycle.charge("C1", billed="100", posted=date(2026, 10, 3), date_of_service=date(2026, 10, 1))
    lifecycle.charge("C2", billed="100", posted=date(2026, 10, 6), date_of_service=date(2026, 10, 5))
    lifecycle.charge("C3", billed="100", posted=date(2026, 10, 20), date_of_service=date(2026, 10, 10))
    lifecycle.charge("EARLY", billed="100", posted=date(2026, 9, 20), date_of_service=date(2026, 9, 1))
    values = lags.lags(lifecycle.ledger(), as_of=D)
    # Posted in [10-02, 10-31]: lags 2, 1, 10 (EARLY was posted before the window).
    assert pick(values, "charge_lag", "median").value == Decimal("2.0")
    assert pick(values, "charge_lag", "p90").value == Decimal("10.0")
    assert pick(values, "charge_lag", "median").numerator == Tally(3, Decimal("13"))


def test_percentiles_of_an_even_count():
    assert lags.median([1, 2, 3, 10]) == Decimal("2.5")
    assert lags.percentile(list(range(1, 11)), Decimal("0.9")) == Decimal("9.0")
    assert lags.median([]) is None


def test_denials_by_root_cause_count_and_dollars_in_the_window(lifecycle):
    for claim, amount, cause, day in (
        ("A", "100", "eligibility", date(2026, 10, 10)),
        ("B", "50", "eligibility", date(2026, 10, 12)),
        ("C", "200", "timely_filing", date(2026, 10, 20)),
        ("OLD", "999", "eligibility", date(2026, 9, 1)),
        ("NEW", "5", "some_new_cause", date(2026, 10, 21)),
    ):
        lifecycle.charge(claim, billed=amount, posted=date(2026, 8, 1))
        lifecycle.submit(claim, claim, on=date(2026, 8, 2))
        lifecycle.deny(claim, claim, on=day, amount=amount, root_cause=cause, code="CO-1")
    values = continuity.denials_by_root_cause(lifecycle.ledger(), as_of=D)
    # Window [10-02, 10-31]: 4 denials, 355 dollars; OLD is outside.
    eligibility = pick(values, "denials_by_root_cause", "eligibility")
    assert (eligibility.numerator, eligibility.denominator) == (Tally(2, Decimal("150")), Tally(4, Decimal("355")))
    assert eligibility.value == Decimal("0.5000")
    assert pick(values, "denials_by_root_cause", "timely_filing").numerator == Tally(1, Decimal("200"))
    # A root cause outside DOMAIN 5.3 is reported as unclassified, not dropped.
    assert pick(values, "denials_by_root_cause", "unclassified").numerator == Tally(1, Decimal("5"))


def test_authorization_continuity_counts_visits_inside_an_active_authorization_with_a_unit_left(lifecycle):
    other_payer = uuid.uuid4()
    visits = {name: uuid.uuid4() for name in ("ok", "exhausted", "none", "expired", "no_policy", "cancelled")}
    active = (date(2026, 10, 1), date(2026, 12, 31))
    lifecycle.encounter(visits["ok"], date_of_service=date(2026, 10, 5), authorization=(10, 3, *active))
    lifecycle.encounter(visits["exhausted"], date_of_service=date(2026, 10, 6), authorization=(5, 5, *active))
    lifecycle.encounter(visits["none"], date_of_service=date(2026, 10, 7))
    lifecycle.encounter(
        visits["expired"],
        date_of_service=date(2026, 10, 8),
        authorization=(10, 1, date(2026, 1, 1), date(2026, 9, 30)),
    )
    lifecycle.encounter(visits["no_policy"], date_of_service=date(2026, 10, 9), payer_id=other_payer)
    lifecycle.encounter(visits["cancelled"], date_of_service=date(2026, 10, 9), authorization=(10, 3, *active))
    lifecycle.cancel_encounter(visits["cancelled"], on=date(2026, 10, 9))
    ledger = lifecycle.ledger()
    ledger.authorization_policies = {
        lifecycle.payer_id: [
            AuthorizationPolicy(effective_from=date(2020, 1, 1), mode="none"),
            AuthorizationPolicy(effective_from=date(2026, 1, 1), mode="all"),
        ],
        other_payer: [AuthorizationPolicy(effective_from=date(2020, 1, 1), mode="none")],
    }
    value = continuity.authorization_continuity(ledger, as_of=D)
    # Cohort: ok, exhausted, none, expired (no_policy needs none, cancelled is gone); only ok is covered.
    assert (value.numerator.count, value.denominator.count, value.value) == (1, 4, Decimal("0.2500"))


def test_authorization_needed_only_after_the_unmanaged_visits_of_the_year(lifecycle):
    for day in (date(2026, 10, 3), date(2026, 10, 10), date(2026, 10, 17)):
        lifecycle.encounter(uuid.uuid4(), date_of_service=day)
    ledger = lifecycle.ledger()
    ledger.authorization_policies = {
        lifecycle.payer_id: [AuthorizationPolicy(date(2020, 1, 1), "after_visits", unmanaged_visits=2)]
    }
    value = continuity.authorization_continuity(ledger, as_of=D)
    # Visits 1 and 2 of the year are unmanaged; the third needs an authorization and has none.
    assert (value.numerator.count, value.denominator.count, value.value) == (0, 1, Decimal("0.0000"))


def test_listed_codes_need_authorization_only_for_those_codes(lifecycle):
    therapy, testing = uuid.uuid4(), uuid.uuid4()
    lifecycle.encounter(therapy, date_of_service=date(2026, 10, 3))
    lifecycle.encounter(testing, date_of_service=date(2026, 10, 4))
    lifecycle.charge(str(therapy), billed="100", posted=date(2026, 10, 3), procedure_code="90834")
    lifecycle.charge(str(testing), billed="300", posted=date(2026, 10, 4), procedure_code="96130")
    ledger = lifecycle.ledger()
    ledger.authorization_policies = {
        lifecycle.payer_id: [AuthorizationPolicy(date(2020, 1, 1), "listed_codes", codes=("96130",))]
    }
    value = continuity.authorization_continuity(ledger, as_of=D)
    assert (value.numerator, value.denominator) == (Tally(0, Decimal("0")), Tally(1, Decimal("300")))


# --- Slicing ----------------------------------------------------------------------------------------------------


def test_kpis_slice_by_provider_payer_and_program(lifecycle):
    provider, payer = uuid.uuid4(), uuid.uuid4()
    lifecycle.charge("MINE", billed="100", posted=date(2026, 10, 1))
    lifecycle.charge(
        "THEIRS", billed="300", posted=date(2026, 10, 1), provider_id=provider, payer_id=payer, program="psychiatry"
    )
    for claim in ("MINE", "THEIRS"):
        lifecycle.submit(claim, claim, on=date(2026, 10, 2))
    lifecycle.remit("MINE", "MINE", on=date(2026, 10, 20), paid="100")
    ledger = lifecycle.ledger()
    by_provider = kpis.days_in_ar(ledger, as_of=D, scope=Scope(provider_id=provider))
    by_payer = kpis.scrubber_clean_claim_rate(ledger, as_of=D, scope=Scope(payer_id=payer))
    by_program = kpis.days_in_ar(ledger, as_of=D, scope=Scope(program="outpatient_therapy"))
    assert by_provider.numerator == Tally(1, Decimal("300"))
    assert by_payer.denominator == Tally(1, Decimal("300"))
    assert by_program.numerator == Tally(1, Decimal("0"))


# --- Report shape and CSV -----------------------------------------------------------------------------------------


def test_every_kpi_of_the_report_has_a_definition_and_the_csv_has_one_row_each(worked):
    values = everything(worked, window_days=60)
    names = {v.name for v in values}
    assert names == {
        "clean_claim_rate",
        "initial_denial_rate",
        "denials_by_root_cause",
        "days_in_ar",
        "ar_over_days",
        "ar_aging",
        "net_collection_rate",
        "charge_lag",
        "send_lag",
        "payer_lag",
        "authorization_continuity",
    }
    assert all(v.definition for v in values)
    text = report.to_csv(D, values, slice_columns={"practice_id": "p1"})
    lines = text.strip().split("\n")
    assert lines[0].startswith("practice_id,as_of,name,variant,value,unit,numerator_count")
    assert len(lines) == 1 + len(values)
    assert "p1,2026-10-31,days_in_ar,,66.6,days,3,370,3,500," in text


def test_targets_classify_values():
    first_pass = report.TARGETS[("clean_claim_rate", "first_pass")]
    assert [first_pass.status(Decimal(v)) for v in ("0.96", "0.93", "0.91")] == ["good", "warning", "alert"]
    assert report.TARGETS[("days_in_ar", None)].status(Decimal("39.9")) == "good"
    assert first_pass.status(None) == "unknown"


# --- Claim status for search ----------------------------------------------------------------------------------


def _stored(lifecycle, events=None) -> list[StoredFact]:
    rows = [fact_of(event) for event in (lifecycle.events if events is None else events)]
    return [StoredFact(r.event_type, r.fact_date, r.claim_id, r.charge_id, r.practice_id, r.attributes) for r in rows]


def test_a_claim_status_follows_its_latest_business_event_whatever_the_arrival_order(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 10, 2))
    lifecycle.acknowledge("C1", kind="277CA", status_code="A2", outcome="accepted", on=date(2026, 10, 3))
    lifecycle.remit("C1", "C1", on=date(2026, 10, 10), status="4", adjustments=(("CO", "197", "150", "denial"),))
    lifecycle.appeal("C1", on=date(2026, 10, 12))
    events = list(lifecycle.events)
    random.Random(3).shuffle(events)
    summary = summarize(f for f in _stored(lifecycle, events) if f.claim_id == "C1")
    assert summary is not None
    assert (summary.status, summary.status_date) == ("appealed", date(2026, 10, 12))
    assert (summary.first_submitted_date, summary.billed, summary.patient_id) == (
        date(2026, 10, 2),
        Decimal("150"),
        lifecycle.patient_id,
    )


def test_a_charge_without_a_claim_has_no_claim_summary(lifecycle):
    lifecycle.charge("C1", billed="150", posted=date(2026, 10, 1))
    assert summarize(_stored(lifecycle)) is None
