"""Every KPI of DOMAIN.md section 6 in one report, its targets, and its CSV rendering. Pure: no I/O here."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from analytics import continuity, kpis, lags, receivables
from analytics.domain import DEFAULT_WINDOW_DAYS, KpiValue, Scope
from analytics.ledger import Ledger


def all_kpis(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> list[KpiValue]:
    """Every KPI this service computes, headline first; windowed KPIs use the caller's window."""
    return [
        kpis.first_pass_clean_claim_rate(ledger, as_of=as_of, window_days=window_days, scope=scope),
        kpis.scrubber_clean_claim_rate(ledger, as_of=as_of, window_days=window_days, scope=scope),
        kpis.acceptance_clean_claim_rate(ledger, as_of=as_of, window_days=window_days, scope=scope),
        kpis.initial_denial_rate(ledger, as_of=as_of, window_days=window_days, scope=scope),
        kpis.initial_denial_rate_dollars(ledger, as_of=as_of, window_days=window_days, scope=scope),
        *continuity.denials_by_root_cause(ledger, as_of=as_of, window_days=window_days, scope=scope),
        kpis.days_in_ar(ledger, as_of=as_of, scope=scope),
        kpis.ar_share_over(ledger, as_of=as_of, days=60, scope=scope),
        kpis.ar_share_over(ledger, as_of=as_of, days=90, scope=scope),
        *receivables.ar_aging(ledger, as_of=as_of, scope=scope),
        receivables.net_collection_rate(ledger, as_of=as_of, scope=scope),
        *lags.lags(ledger, as_of=as_of, window_days=window_days, scope=scope),
        continuity.authorization_continuity(ledger, as_of=as_of, window_days=window_days, scope=scope),
    ]


@dataclass(frozen=True)
class Target:
    """What practices aim for (DOMAIN.md section 6): a good side, and an alert line where one exists."""

    label: str
    goal: Decimal
    higher_is_better: bool
    alert: Decimal | None = None

    def status(self, value: Decimal | None) -> str:
        """good, warning (misses the goal) or alert (past the alert line); unknown without a value."""
        if value is None:
            return "unknown"
        meets = value >= self.goal if self.higher_is_better else value < self.goal
        if meets:
            return "good"
        if self.alert is not None and (value < self.alert if self.higher_is_better else value > self.alert):
            return "alert"
        return "warning"


# Keyed by (name, variant) as the report names them.
TARGETS: dict[tuple[str, str | None], Target] = {
    ("clean_claim_rate", "first_pass"): Target("Clean claim rate (first pass)", Decimal("0.95"), True, Decimal("0.92")),
    ("initial_denial_rate", None): Target("Initial denial rate", Decimal("0.05"), False),
    ("days_in_ar", None): Target("Days in A/R", Decimal("40"), False),
    ("ar_over_days", "90"): Target("A/R over 90 days", Decimal("0.15"), False, Decimal("0.15")),
    ("net_collection_rate", None): Target("Net collection rate", Decimal("0.95"), True),
    ("charge_lag", "median"): Target("Charge lag (median)", Decimal("2"), False),
}

Headline = Callable[[Ledger, date, int, Scope], KpiValue]

# How to compute each KPI that has a target, alone (the dashboard's trend charts compute them for many dates).
HEADLINES: dict[tuple[str, str | None], Headline] = {
    ("clean_claim_rate", "first_pass"): lambda ledger, d, w, s: kpis.first_pass_clean_claim_rate(
        ledger, as_of=d, window_days=w, scope=s
    ),
    ("initial_denial_rate", None): lambda ledger, d, w, s: kpis.initial_denial_rate(
        ledger, as_of=d, window_days=w, scope=s
    ),
    ("days_in_ar", None): lambda ledger, d, w, s: kpis.days_in_ar(ledger, as_of=d, scope=s),
    ("ar_over_days", "90"): lambda ledger, d, w, s: kpis.ar_share_over(ledger, as_of=d, days=90, scope=s),
    ("net_collection_rate", None): lambda ledger, d, w, s: receivables.net_collection_rate(ledger, as_of=d, scope=s),
    ("charge_lag", "median"): lambda ledger, d, w, s: lags.lags(ledger, as_of=d, window_days=w, scope=s)[0],
}

CSV_COLUMNS = (
    "as_of",
    "name",
    "variant",
    "value",
    "unit",
    "numerator_count",
    "numerator_amount",
    "denominator_count",
    "denominator_amount",
    "period_start",
    "period_end",
    "definition",
)


def to_csv(as_of: date, values: Iterable[KpiValue], *, slice_columns: dict[str, str] | None = None) -> str:
    """The KPIs as CSV, one row per KPI and variant, with the slice the caller asked for in leading columns."""
    extra = slice_columns or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*extra, *CSV_COLUMNS])
    for value in values:
        writer.writerow(
            [
                *extra.values(),
                as_of.isoformat(),
                value.name,
                value.variant or "",
                "" if value.value is None else str(value.value),
                value.unit,
                value.numerator.count,
                str(value.numerator.amount),
                value.denominator.count,
                str(value.denominator.amount),
                value.period_start.isoformat() if value.period_start else "",
                value.period_end.isoformat(),
                value.definition,
            ]
        )
    return buffer.getvalue()
