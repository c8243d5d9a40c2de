"""The demo's 90-day history through the real stack, then two checks of analytics against it:
an independent calculation of the first_pass clean claim rate and days in A/R from the raw topics matches the API
(to the cent and 0.1%), and a replay of the read model from the beginning of the topics gives identical KPIs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from analytics.config import AnalyticsSettings
from analytics.rebuild import rebuild

from deploy.client import ClaimflowClient, Tenant, seed_payers, seed_practice
from deploy.demo import stream_history, wait_for_pipeline
from services.analytics.tests.test_pipeline import (
    independent_days_in_ar,
    independent_first_pass,
    kpi,
    raw_events,
)

pytestmark = pytest.mark.stack
DAYS, ENCOUNTERS = 90, 240


@pytest.fixture(scope="module")
async def demo(stack_env: dict[str, str]) -> tuple[Tenant, dict[str, Any]]:
    """An organization with the demo's history (two practices, 240 visits over 90 days), settled."""
    client = ClaimflowClient(stack_env)
    today = datetime.now(UTC).date()
    tenant = await client.create_tenant(f"demo-history-{uuid.uuid4().hex[:6]}")
    await tenant.set_business_date(today - timedelta(days=DAYS - 1))
    payer_ids = await seed_payers(tenant)
    for index, name in enumerate(("Lakeside Counseling", "Riverbend Psychiatry")):
        await seed_practice(
            tenant, name=name, seed=70 + index, payer_ids=payer_ids, coverage_start=today - timedelta(days=400)
        )
    posted = await stream_history(tenant, days=DAYS, encounters=ENCOUNTERS, seed=7, today=today)
    assert posted == ENCOUNTERS
    return tenant, await wait_for_pipeline(tenant)


async def test_an_independent_calculation_from_the_raw_topics_matches_the_api(demo) -> None:
    tenant, report = demo
    d = date.fromisoformat(report["as_of"])
    events = await raw_events(tenant.organization_id)

    clean, cohort = independent_first_pass(events, d)
    receivable, gross, days = independent_days_in_ar(events, d)

    first_pass = kpi(report, "clean_claim_rate", "first_pass")
    assert cohort > 20
    assert (first_pass["numerator"]["count"], first_pass["denominator"]["count"]) == (clean, cohort)
    assert abs(Decimal(first_pass["value"]) - Decimal(clean) / Decimal(cohort)) <= Decimal("0.001")
    days_in_ar = kpi(report, "days_in_ar")
    assert Decimal(days_in_ar["numerator"]["amount"]) == receivable
    assert Decimal(days_in_ar["denominator"]["amount"]) == gross
    assert abs(Decimal(days_in_ar["value"]) - days) <= days * Decimal("0.001")


async def test_replay_after_the_demo_history_gives_identical_kpis(demo) -> None:
    tenant, _ = demo
    windows = [{}, {"window_days": 90}]
    before = [(await tenant.request("GET", "analytics", "/v1/kpis", params=w)).json() for w in windows]

    result = await rebuild(AnalyticsSettings(), swap=True)

    after = [(await tenant.request("GET", "analytics", "/v1/kpis", params=w)).json() for w in windows]
    assert result.swapped
    assert after == before
