"""Prometheus business gauges, refreshed by the worker as of each organization's latest business date."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date

import structlog
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics import kpis, repository
from analytics.domain import DEFAULT_WINDOW_DAYS, Scope, claim_histories, in_window, window
from analytics.ledger import Ledger
from analytics.service import ledger_as_of
from shared.db import unit_of_work

log = structlog.get_logger()

ALL_PRACTICES = "all"

CLEAN_CLAIM_RATE = Gauge(
    "claimflow_clean_claim_rate",
    "Clean claim rate (0..1) as of the organization's latest business date; practice 'all' is the whole organization",
    ["organization", "practice", "variant"],
)
DAYS_IN_AR = Gauge(
    "claimflow_days_in_ar",
    "Days in A/R as of the organization's latest business date; practice 'all' is the whole organization",
    ["organization", "practice"],
)

INITIAL_DENIAL_RATE = Gauge(
    "claimflow_initial_denial_rate",
    "Initial denial rate (0..1, claims) over the last 30 days as of the organization's latest business date",
    ["organization", "practice"],
)
AR_OVER_90_SHARE = Gauge(
    "claimflow_ar_over_90_share",
    "Share of A/R dollars more than 90 days past the date of service, as of the latest business date",
    ["organization", "practice"],
)
DENIALS_BY_ROOT_CAUSE = Gauge(
    "claimflow_denials_30d",
    "Denials posted in the last 30 days by root cause (DOMAIN.md 5.3), whole organization",
    ["organization", "root_cause"],
)
GAUGE_REFRESH_SECONDS = Gauge(
    "claimflow_business_gauge_refresh_seconds", "How long the last pass over the business gauges took"
)
GAUGE_ORGANIZATIONS = Gauge(
    "claimflow_business_gauge_organizations",
    "Organizations with facts: those the business gauges cover (the most recently active) and those left out",
    ["coverage"],
)
GAUGES = {
    "clean_claim_rate": CLEAN_CLAIM_RATE,
    "days_in_ar": DAYS_IN_AR,
    "initial_denial_rate": INITIAL_DENIAL_RATE,
    "ar_over_90_share": AR_OVER_90_SHARE,
    "denials_30d": DENIALS_BY_ROOT_CAUSE,
}

Labels = tuple[str, ...]


def practices_of(ledger: Ledger) -> set[uuid.UUID]:
    """Practices that have charges or claims in the ledger (a bounded set per organization)."""
    found = {c.practice_id for c in ledger.charges if c.practice_id is not None}
    found |= {h.practice_id for h in claim_histories(ledger).values() if h.practice_id is not None}
    return found


def gauge_values(ledger: Ledger, as_of: date) -> dict[tuple[str, Labels], float]:
    """(gauge, practice labels) → value for one organization; empty cohorts give no series."""
    values: dict[tuple[str, Labels], float] = {}
    scopes: list[tuple[str, Scope]] = [(ALL_PRACTICES, Scope())]
    scopes += [(str(p), Scope(practice_id=p)) for p in sorted(practices_of(ledger), key=str)]
    for label, scope in scopes:
        rate = kpis.first_pass_clean_claim_rate(ledger, as_of=as_of, scope=scope).value
        if rate is not None:
            values[("clean_claim_rate", (label, "first_pass"))] = float(rate)
        days = kpis.days_in_ar(ledger, as_of=as_of, scope=scope).value
        if days is not None:
            values[("days_in_ar", (label,))] = float(days)
        denial_rate = kpis.initial_denial_rate(ledger, as_of=as_of, scope=scope).value
        if denial_rate is not None:
            values[("initial_denial_rate", (label,))] = float(denial_rate)
        old_share = kpis.ar_share_over(ledger, as_of=as_of, days=90, scope=scope).value
        if old_share is not None:
            values[("ar_over_90_share", (label,))] = float(old_share)
    bounds = window(as_of, DEFAULT_WINDOW_DAYS)
    for denial in ledger.denials:
        if in_window(denial.payment_date, bounds):
            key = ("denials_30d", (denial.root_cause,))
            values[key] = values.get(key, 0.0) + 1
    return values


def release_memory() -> None:
    """Hand the memory of a pass's ledgers back to the operating system.

    A pass holds an organization's whole ledger for a moment; without this the process keeps the largest one it
    ever built resident (the allocator holds freed pages), and its resident size only ever grows.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class GaugeRefresher:
    """Recomputes the gauges of organizations whose facts changed since the last pass.

    The gauges cover the `max_organizations` organizations whose facts changed most recently; one that falls out of
    them has its series removed (and is recomputed should it come back).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_organizations: int = 100) -> None:
        self.sessions = sessions
        self.max_organizations = max_organizations
        self.versions: dict[uuid.UUID, int] = {}
        self.published: dict[uuid.UUID, set[tuple[str, Labels]]] = {}

    async def refresh(self) -> int:
        """One pass; returns how many organizations were recomputed."""
        async with unit_of_work(self.sessions, None) as session:
            activity = await repository.organization_versions(session, self.max_organizations)
            with_facts = await repository.organizations_with_facts(session)
        GAUGE_ORGANIZATIONS.labels("published").set(len(activity))
        GAUGE_ORGANIZATIONS.labels("left_out").set(max(with_facts - len(activity), 0))
        for organization_id in [o for o in self.versions.keys() | self.published.keys() if o not in activity]:
            self.publish(organization_id, {})
            self.published.pop(organization_id, None)
            self.versions.pop(organization_id, None)
        changed = 0
        for organization_id, (version, latest) in activity.items():
            if self.versions.get(organization_id) == version:
                continue
            # Building a large organization's ledger and grouping it take a while: both in a worker thread, so the
            # consumers sharing this process keep going.
            async with unit_of_work(self.sessions, organization_id) as session:
                ledger = await ledger_as_of(session, latest, off_loop=True)
            values = await asyncio.to_thread(gauge_values, ledger, latest)
            del ledger
            self.publish(organization_id, values)
            self.versions[organization_id] = version
            changed += 1
        if changed:
            release_memory()
        return changed

    def publish(self, organization_id: uuid.UUID, values: dict[tuple[str, Labels], float]) -> None:
        """Set an organization's series and drop the ones that no longer have a value."""
        organization = str(organization_id)
        for (gauge_name, labels), value in values.items():
            GAUGES[gauge_name].labels(organization, *labels).set(value)
        for gauge_name, labels in self.published.get(organization_id, set()) - set(values):
            with contextlib.suppress(KeyError):
                GAUGES[gauge_name].remove(organization, *labels)
        self.published[organization_id] = set(values)


def business_gauge_task(
    interval_seconds: float, budget: float = 0.05, max_organizations: int = 100
) -> Callable[[async_sessionmaker[AsyncSession], asyncio.Event], Awaitable[None]]:
    """The worker background task refreshing the business gauges every few seconds, within a share of its time."""

    async def refresh_business_gauges(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        refresher = GaugeRefresher(sessions, max_organizations)
        while not stop.is_set():
            started = time.monotonic()
            try:
                await refresher.refresh()
            except Exception as error:
                log.warning("business gauge refresh failed; retrying", error_type=type(error).__name__)
            # A pass rebuilds each changed organization's ledger; pausing in proportion to how long the pass took
            # keeps the refresher within its budget of the worker's time however large the organizations grow.
            took = time.monotonic() - started
            pause = max(interval_seconds, took * (1 / max(budget, 0.001) - 1))
            GAUGE_REFRESH_SECONDS.set(took)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)

    return refresh_business_gauges
