"""The demo's 90-day history through the real stack and its billing office's work (patient payments, denials worked),
then checks of analytics against it: the office's money shows in net collection and A/R to the cent, an independent
calculation of the first_pass clean claim rate and days in A/R from the raw topics matches the API (to the cent and
0.1%), and a replay of the read model from the beginning of the topics gives identical KPIs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from analytics.config import AnalyticsSettings
from analytics.rebuild import rebuild

from deploy.client import ClaimflowClient, Tenant, seed_payers, seed_practice
from deploy.demo import OfficeWork, stream_history, wait_for_pipeline, work_the_accounts
from services.analytics.tests.test_pipeline import (
    independent_days_in_ar,
    independent_first_pass,
    kpi,
    raw_events,
)

pytestmark = pytest.mark.stack
DAYS, ENCOUNTERS = 90, 240


@pytest.fixture(scope="module")
async def demo(stack_env: dict[str, str]) -> tuple[Tenant, dict[str, Any], dict[str, Any], OfficeWork]:
    """An organization with the demo's history (two practices, 240 visits over 90 days), settled; its KPIs before
    and after the billing office's work, and that work."""
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
    assert len(posted) == ENCOUNTERS
    before = await wait_for_pipeline(tenant)
    work = await work_the_accounts(tenant, encounter_ids=posted, seed=7, today=today)
    return tenant, before, await wait_for_pipeline(tenant, interval=1.0), work


async def test_the_billing_office_collects_most_patient_shares_and_works_denials_as_a_practice_does(demo) -> None:
    tenant, before, after, work = demo
    events = await raw_events(tenant.organization_id)
    counted = {kind: sum(1 for e in events if e["type"] == kind) for kind in (
        "patient-payment.posted", "denial.appealed", "correction.requested", "balance.written-off", "claim.denied"
    )}  # fmt: skip
    payments = [e for e in events if e["type"] == "patient-payment.posted"]
    written_off = [e for e in events if e["type"] == "balance.written-off"]

    # Most patient shares are paid (85% by the seed, less the statements not paid by today), through remittance.
    assert work.patient_shares > 20
    assert work.patient_payments >= work.patient_shares * 0.6
    assert counted["patient-payment.posted"] == work.patient_payments
    assert sum(Decimal(e["data"]["amount"]) for e in payments) == work.patient_dollars
    # Every denial was worked or waits for a person (too fresh, or its cause needs one); the work went out as events.
    worked = {e["data"]["claim_id"] for e in events if e["type"] in ("correction.requested", "denial.appealed")}
    worked |= {e["data"]["claim_id"] for e in written_off}
    assert len(worked) + work.left_open == counted["claim.denied"] > 0
    assert counted["correction.requested"] == work.corrected
    assert counted["denial.appealed"] == work.appealed
    assert counted["balance.written-off"] == work.written_off
    # The patients' money is in net collection and out of A/R to the cent; the write-offs are out of A/R too.
    net_before, net_after = kpi(before, "net_collection_rate"), kpi(after, "net_collection_rate")
    collected = Decimal(net_after["numerator"]["amount"]) - Decimal(net_before["numerator"]["amount"])
    assert collected == work.patient_dollars
    assert Decimal(net_after["value"]) > Decimal(net_before["value"])
    ar_before, ar_after = kpi(before, "days_in_ar"), kpi(after, "days_in_ar")
    written = sum(Decimal(e["data"]["amount"]) for e in written_off)
    assert Decimal(ar_before["numerator"]["amount"]) - Decimal(ar_after["numerator"]["amount"]) == collected + written


async def test_an_independent_calculation_from_the_raw_topics_matches_the_api(demo) -> None:
    tenant, _, report, _ = demo
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
    tenant, *_ = demo
    windows = [{}, {"window_days": 90}]
    before = [(await tenant.request("GET", "analytics", "/v1/kpis", params=w)).json() for w in windows]

    result = await rebuild(AnalyticsSettings(), swap=True)

    after = [(await tenant.request("GET", "analytics", "/v1/kpis", params=w)).json() for w in windows]
    assert result.swapped
    assert after == before
