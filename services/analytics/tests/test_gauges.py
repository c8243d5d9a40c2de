"""Business gauges: values per organization and practice, and series dropped when a cohort empties."""

from __future__ import annotations

import uuid
from datetime import date

from analytics.gauges import GaugeRefresher, gauge_values
from prometheus_client import REGISTRY

D = date(2026, 10, 31)


def sample(name: str, **labels: str) -> float | None:
    """The current value of one series in the default registry."""
    return REGISTRY.get_sample_value(name, labels)


def test_gauges_carry_days_in_ar_per_practice_and_for_the_whole_organization(worked):
    values = gauge_values(worked.ledger(), D)
    assert values[("days_in_ar", ("all",))] == 66.6
    assert values[("days_in_ar", (str(worked.practice_id),))] == 66.6
    assert ("clean_claim_rate", ("all", "first_pass")) not in values


def test_first_pass_gauge_is_published_and_removed_when_its_cohort_is_empty(worked):
    refresher = GaugeRefresher(sessions=None)  # type: ignore[arg-type]
    organization = uuid.uuid4()
    refresher.publish(organization, gauge_values(worked.ledger(), date(2026, 10, 2)))
    labels = {"organization": str(organization), "practice": "all", "variant": "first_pass"}
    assert sample("claimflow_clean_claim_rate", **labels) == 0.0
    refresher.publish(organization, {})
    assert sample("claimflow_clean_claim_rate", **labels) is None
    assert sample("claimflow_days_in_ar", organization=str(organization), practice="all") is None
