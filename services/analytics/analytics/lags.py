"""Charge, send and payer lags (median and p90, in days) of DOMAIN.md section 6. Pure: no I/O here."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from analytics.domain import (
    DAYS_PLACES,
    DEFAULT_WINDOW_DAYS,
    ClaimHistory,
    KpiValue,
    Scope,
    Tally,
    in_window,
    primary_claims,
    window,
)
from analytics.kpis import effective_charges
from analytics.ledger import ZERO, Charge, Ledger

_TALLIES = " Numerator: the charges and their total lag days; denominator: the charges and their billed dollars."
LAG_DEFINITIONS = {
    "charge_lag": (
        "Charges posted in [D-(window-1), D]: days from the date of service to the charge posted date. "
        "Median (the middle value, the mean of the two middle values for an even count) and p90 (nearest rank)."
        + _TALLIES
    ),
    "send_lag": (
        "Charges whose primary claim was first submitted in [D-(window-1), D]: days from the charge posted date "
        "to that first submission. Median and p90 (nearest rank)." + _TALLIES
    ),
    "payer_lag": (
        "Charges whose primary claim had its first adjudication (835 payment date) in [D-(window-1), D]: days "
        "from the first submission to that payment date. Median and p90 (nearest rank)." + _TALLIES
    ),
}


def median(values: list[int]) -> Decimal | None:
    """The median of whole days, one decimal; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle]).quantize(DAYS_PLACES)
    return (Decimal(ordered[middle - 1] + ordered[middle]) / 2).quantize(DAYS_PLACES, ROUND_HALF_UP)


def percentile(values: list[int], share: Decimal) -> Decimal | None:
    """The nearest-rank percentile (the smallest value with at least `share` of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return Decimal(ordered[rank - 1]).quantize(DAYS_PLACES)


LagOf = Callable[[Charge, ClaimHistory | None], tuple[date, int] | None]


def _charge_lag(charge: Charge, _claim: ClaimHistory | None) -> tuple[date, int] | None:
    return charge.posted_date, (charge.posted_date - charge.date_of_service).days


def _send_lag(as_of: date) -> LagOf:
    def lag(charge: Charge, claim: ClaimHistory | None) -> tuple[date, int] | None:
        first = claim.first_attempt(as_of) if claim else None
        if first is None:
            return None
        return first.submitted_date, (first.submitted_date - charge.posted_date).days

    return lag


def _payer_lag(as_of: date) -> LagOf:
    def lag(charge: Charge, claim: ClaimHistory | None) -> tuple[date, int] | None:
        first = claim.first_attempt(as_of) if claim else None
        adjudication = claim.first_adjudication(as_of) if claim else None
        if first is None or adjudication is None:
            return None
        return adjudication.payment_date, (adjudication.payment_date - first.submitted_date).days

    return lag


def lags(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> list[KpiValue]:
    """Median and p90 of the charge, send and payer lags of the charges whose later event is in the window."""
    bounds = window(as_of, window_days)
    scope = scope or Scope()
    primary = {c.ref.charge_id: c for c in primary_claims(ledger, Scope())}
    charges = effective_charges(ledger, as_of, scope)
    measures: list[tuple[str, LagOf]] = [
        ("charge_lag", _charge_lag),
        ("send_lag", _send_lag(as_of)),
        ("payer_lag", _payer_lag(as_of)),
    ]
    values: list[KpiValue] = []
    for name, lag_of in measures:
        days: list[int] = []
        cohort = Tally()
        for charge in charges:
            found = lag_of(charge, primary.get(charge.charge_id))
            if found is not None and in_window(found[0], bounds):
                days.append(found[1])
                cohort = cohort.plus(charge.billed)
        for variant, value in (("median", median(days)), ("p90", percentile(days, Decimal("0.9")))):
            values.append(
                KpiValue(
                    name=name,
                    variant=variant,
                    value=value,
                    unit="days",
                    definition=LAG_DEFINITIONS[name],
                    numerator=Tally(cohort.count, Decimal(sum(days)) if days else ZERO),
                    denominator=cohort,
                    period_start=bounds[0],
                    period_end=bounds[1],
                )
            )
    return values
