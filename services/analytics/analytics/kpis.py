"""Pure KPI computations of DOMAIN.md section 6 over a Ledger, as of a business date D. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from analytics.domain import (
    AR_DENOMINATOR_DAYS,
    DAYS_PLACES,
    DEFAULT_WINDOW_DAYS,
    RATE_PLACES,
    ClaimHistory,
    KpiValue,
    Scope,
    Tally,
    accepted,
    claim_histories,
    group_by_charge,
    in_window,
    primary_claims,
    ratio,
    sliced,
    voided_charges,
    window,
)
from analytics.ledger import ZERO, Charge, Ledger

DEFINITIONS: dict[str, str] = {
    "clean_claim_rate/first_pass": (
        "Primary claims whose first attempt was submitted in [D-(window-1), D] and that have a first adjudication "
        "by D; clean when there was no scrubber hold, no manual touch before first submission, no 999/277CA "
        "rejection of the first attempt, and a first adjudication with no denial (DOMAIN.md 5.2). "
        "A claim paid $0 because everything went to the deductible is clean. A claim whose void (frequency 8) the "
        "payer accepted by D is left out."
    ),
    "clean_claim_rate/scrubber": (
        "Primary claims whose first attempt was scrubbed in [D-(window-1), D]; clean when it passed every "
        "error-level edit with no hold and no manual intervention."
    ),
    "clean_claim_rate/acceptance": (
        "Primary claims whose first attempt was submitted in [D-(window-1), D] with a 277CA A2/A5 or a rejection "
        "(999 R/M/W/X or 277CA A3/A4/A6/A7/A8) by D; accepted when no rejection and a 277CA A2/A5. A claim whose "
        "void (frequency 8) the payer accepted by D is left out."
    ),
    "initial_denial_rate": (
        "Primary claims whose first adjudication is dated in [D-(window-1), D]; numerator: those whose first "
        "adjudication has a denial. Amounts: denial-class adjustment dollars over the billed amount of the cohort."
    ),
    "initial_denial_rate/dollars": (
        "Primary claims whose first adjudication is dated in [D-(window-1), D]; value = denial-class adjustment "
        "dollars of those first adjudications over the billed amount of the cohort."
    ),
    "days_in_ar": (
        "A/R at D over average daily gross charges. A/R at D = sum over charges posted on or before D of billed - "
        "payer payments - contractual adjustments - patient payments - write-offs, each counted only if posted "
        "by D; denied amounts and patient responsibility stay in A/R. Average daily gross charges = billed of "
        "charges posted in [D-89, D] / 90. A charge voided by D, or whose every claim was voided by D (a void the "
        "payer accepted, or a claim withdrawn before the payer held it) with no other claim billing it, is left out."
    ),
    "ar_over_days/60": (
        "Share of A/R at D (dollars) on charges whose date of service is more than 60 days before D, over the total "
        "A/R at D of charges with A/R > 0."
    ),
    "ar_over_days/90": (
        "Share of A/R at D (dollars) on charges whose date of service is more than 90 days before D, over the total "
        "A/R at D of charges with A/R > 0."
    ),
}


def first_pass_clean_claim_rate(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> KpiValue:
    """Clean claim rate, first_pass (the headline rate the 92% alert uses)."""
    bounds = window(as_of, window_days)
    cohort, clean = Tally(), Tally()
    for claim in primary_claims(ledger, scope or Scope()):
        first = claim.first_attempt(as_of)
        if first is None or not in_window(first.submitted_date, bounds) or claim.void_accepted(as_of):
            continue
        adjudication = claim.first_adjudication(as_of)
        if adjudication is None:
            continue
        cohort = cohort.plus(claim.ref.billed)
        if not first_pass_failures(claim, as_of):
            clean = clean.plus(claim.ref.billed)
    return _rate("clean_claim_rate", "first_pass", clean, cohort, bounds)


def first_pass_failures(claim: ClaimHistory, as_of: date) -> tuple[str, ...]:
    """Why a claim is not clean on first pass (empty when clean), from the facts known by D."""
    first = claim.first_attempt(as_of)
    if first is None:
        return ("not_submitted",)
    reasons: list[str] = []
    if any(h.attempt_number <= first.attempt_number and h.held_date <= as_of for h in claim.holds):
        reasons.append("scrubber_hold")
    if not first.scrub_passed:
        reasons.append("scrubber_errors")
    if first.manually_touched or (claim.charge is not None and claim.charge.manually_touched):
        reasons.append("manual_touch")
    for ack in claim.acknowledgements:
        if ack.attempt_number == first.attempt_number and ack.acknowledged_date <= as_of and ack.rejects:
            reasons.append(f"rejected_{ack.kind}")
    adjudication = claim.first_adjudication(as_of)
    if adjudication is None:
        reasons.append("not_adjudicated")
    elif claim.first_adjudication_denied(adjudication):
        reasons.append("denied")
    return tuple(dict.fromkeys(reasons))


def scrubber_clean_claim_rate(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> KpiValue:
    """Clean claim rate, scrubber (HFMA CL-1 style)."""
    bounds = window(as_of, window_days)
    cohort, clean = Tally(), Tally()
    for claim in primary_claims(ledger, scope or Scope()):
        if not in_window(claim.first_scrub_date(as_of), bounds):
            continue
        cohort = cohort.plus(claim.ref.billed)
        first = claim.first_attempt(as_of)
        held = any(h.attempt_number <= (first.attempt_number if first else 1) for h in claim.holds)
        if first is not None and not held and first.scrub_passed and not first.manually_touched:
            clean = clean.plus(claim.ref.billed)
    return _rate("clean_claim_rate", "scrubber", clean, cohort, bounds)


def acceptance_clean_claim_rate(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> KpiValue:
    """Clean claim rate, acceptance: 999 A/E and 277CA A2/A5 among first attempts with a decisive answer."""
    bounds = window(as_of, window_days)
    cohort, accepted_claims = Tally(), Tally()
    for claim in primary_claims(ledger, scope or Scope()):
        first = claim.first_attempt(as_of)
        if first is None or not in_window(first.submitted_date, bounds) or claim.void_accepted(as_of):
            continue
        answers = claim.answers(first.attempt_number, as_of)
        if not any(a.decides for a in answers):
            continue
        cohort = cohort.plus(claim.ref.billed)
        if accepted(answers):
            accepted_claims = accepted_claims.plus(claim.ref.billed)
    return _rate("clean_claim_rate", "acceptance", accepted_claims, cohort, bounds)


def initial_denial_rate(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> KpiValue:
    """Initial denial rate: count of denied first adjudications; dollars are denial amounts over billed."""
    bounds = window(as_of, window_days)
    cohort, denied_count, denied_dollars = Tally(), 0, ZERO
    for claim in primary_claims(ledger, scope or Scope()):
        adjudication = claim.first_adjudication(as_of)
        if adjudication is None or not in_window(adjudication.payment_date, bounds):
            continue
        cohort = cohort.plus(claim.ref.billed)
        if claim.first_adjudication_denied(adjudication):
            denied_count += 1
            denied_dollars += adjudication.denial_amount
    return _rate("initial_denial_rate", None, Tally(denied_count, denied_dollars), cohort, bounds)


@dataclass(frozen=True)
class ChargeBalance:
    """One charge's A/R at D."""

    charge: Charge
    balance: Decimal


def effective_charges(ledger: Ledger, as_of: date, scope: Scope) -> list[Charge]:
    """Charges posted on or before D and not withdrawn by D (`voided_charges`); a charge still unknown is taken
    from its claim."""
    charges = {c.charge_id: c for c in ledger.charges}
    for claim in sorted(claim_histories(ledger).values(), key=lambda h: h.ref.payer_priority != "primary"):
        ref = claim.ref
        if ref.charge_id not in charges:
            charges[ref.charge_id] = Charge(
                charge_id=ref.charge_id,
                practice_id=ref.practice_id,
                provider_id=ref.provider_id,
                payer_id=ref.payer_id,
                program=ref.program,
                date_of_service=ref.date_of_service,
                posted_date=ref.charge_posted_date,
                billed=ref.billed,
            )
    voided = voided_charges(ledger, as_of)
    return [
        c
        for c in charges.values()
        if c.posted_date <= as_of
        and c.charge_id not in voided
        and scope.admits(practice_id=c.practice_id, provider_id=c.provider_id, payer_id=c.payer_id, program=c.program)
    ]


def charge_balances(ledger: Ledger, *, as_of: date, scope: Scope | None = None) -> list[ChargeBalance]:
    """A/R at D per charge of the slice: billed less payer payments, contractual, patient payments and write-offs
    by D (computed once per ledger and date, then sliced)."""
    return sliced(
        ledger,
        "charge balances",
        as_of,
        lambda: _all_charge_balances(ledger, as_of),
        lambda item: (item.charge.practice_id, item.charge.provider_id, item.charge.payer_id, item.charge.program),
        scope or Scope(),
    )


def _all_charge_balances(ledger: Ledger, as_of: date) -> list[ChargeBalance]:
    """A/R at D of every charge of the organization."""
    claim_charge = {h.ref.claim_id: h.ref.charge_id for h in claim_histories(ledger).values()}

    def charge_of(claim_id: str, charge_id: str | None) -> str | None:
        return charge_id or claim_charge.get(claim_id)

    reductions = group_by_charge(
        [
            (charge_of(a.claim_id, a.charge_id), a.effect(a.paid) + a.effect(a.contractual))
            for a in ledger.adjudications
            if a.payment_date <= as_of
        ]
        + [(charge_of(p.claim_id, p.charge_id), p.amount) for p in ledger.patient_payments if p.posted_date <= as_of]
        + [(charge_of(w.claim_id, w.charge_id), w.amount) for w in ledger.write_offs if w.written_off_date <= as_of]
    )
    return [
        ChargeBalance(charge, charge.billed - reductions.get(charge.charge_id, ZERO))
        for charge in effective_charges(ledger, as_of, Scope())
    ]


def days_in_ar(ledger: Ledger, *, as_of: date, scope: Scope | None = None) -> KpiValue:
    """Days in A/R: A/R at D over the average daily gross charges of [D-89, D]."""
    bounds = window(as_of, AR_DENOMINATOR_DAYS)
    receivable, gross = Tally(), Tally()
    for item in charge_balances(ledger, as_of=as_of, scope=scope):
        receivable = receivable.plus(item.balance)
        if in_window(item.charge.posted_date, bounds):
            gross = gross.plus(item.charge.billed)
    value = None
    if gross.amount > 0:
        value = (receivable.amount * AR_DENOMINATOR_DAYS / gross.amount).quantize(DAYS_PLACES, ROUND_HALF_UP)
    return KpiValue(
        name="days_in_ar",
        variant=None,
        value=value,
        unit="days",
        definition=DEFINITIONS["days_in_ar"],
        numerator=receivable,
        denominator=gross,
        period_start=bounds[0],
        period_end=as_of,
    )


def ar_share_over(ledger: Ledger, *, as_of: date, days: int, scope: Scope | None = None) -> KpiValue:
    """Dollar share of A/R at D older than `days` days from the date of service (A/R aging, DOMAIN.md 6)."""
    total, old = Tally(), Tally()
    for item in charge_balances(ledger, as_of=as_of, scope=scope):
        if item.balance <= ZERO:
            continue
        total = total.plus(item.balance)
        if (as_of - item.charge.date_of_service).days > days:
            old = old.plus(item.balance)
    value = (old.amount / total.amount).quantize(RATE_PLACES, ROUND_HALF_UP) if total.amount > 0 else None
    return KpiValue(
        name="ar_over_days",
        variant=str(days),
        value=value,
        unit="ratio",
        definition=DEFINITIONS[f"ar_over_days/{days}"],
        numerator=old,
        denominator=total,
        period_start=None,
        period_end=as_of,
    )


def initial_denial_rate_dollars(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> KpiValue:
    """Initial denial rate in dollars: denial-class adjustment dollars over the billed amount of the cohort."""
    by_count = initial_denial_rate(ledger, as_of=as_of, window_days=window_days, scope=scope)
    value = None
    if by_count.denominator.amount > 0:
        value = (by_count.numerator.amount / by_count.denominator.amount).quantize(RATE_PLACES, ROUND_HALF_UP)
    return KpiValue(
        name="initial_denial_rate",
        variant="dollars",
        value=value,
        unit="ratio",
        definition=DEFINITIONS["initial_denial_rate/dollars"],
        numerator=by_count.numerator,
        denominator=by_count.denominator,
        period_start=by_count.period_start,
        period_end=by_count.period_end,
    )


def _rate(name: str, variant: str | None, numerator: Tally, cohort: Tally, bounds: tuple[date, date]) -> KpiValue:
    """A ratio KPI with its definition."""
    key = f"{name}/{variant}" if variant else name
    return KpiValue(
        name=name,
        variant=variant,
        value=ratio(numerator, cohort),
        unit="ratio",
        definition=DEFINITIONS[key],
        numerator=numerator,
        denominator=cohort,
        period_start=bounds[0],
        period_end=bounds[1],
    )
