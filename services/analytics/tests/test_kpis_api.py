"""Integration: lifecycle events through the handlers into Postgres, KPIs read back through the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from analytics.config import AnalyticsSettings
from analytics.gauges import GaugeRefresher
from analytics.handlers import HANDLERS, REFERENCE_HANDLERS
from analytics.main import create_app
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import generate_api_key
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalogue import build_event
from shared.events.envelope import Envelope
from shared.events.reference import ApiKeyRef, ReferenceUpserted
from shared.settings import load_settings

pytestmark = pytest.mark.stack


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the analytics runtime role."""
    engine = create_engine(load_settings(AnalyticsSettings), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The analytics API in process, with its lifespan running."""
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://analytics") as http,
    ):
        yield http


async def feed(sessions: async_sessionmaker[AsyncSession], events: list[Envelope]) -> None:
    """Apply each event's handler in its own unit of work, as the consumer does."""
    for event in events:
        async with unit_of_work(sessions, event.organizationid) as session:
            await HANDLERS[event.type](session, event)


async def api_key_for(sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID) -> str:
    """A read key of the organization, replicated the way the reference topic delivers it."""
    key_id, secret, key_hash = generate_api_key()
    _, event = build_event(
        "reference.upserted",
        ReferenceUpserted(entity_id=key_id, entity=ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=["read"])),
        source="test",
        subject=key_id,
        organization_id=organization_id,
        business_date=date(2026, 10, 31),
        correlation_id=key_id,
    )
    async with unit_of_work(sessions, organization_id) as session:
        await REFERENCE_HANDLERS["reference.upserted"](session, event)
    return secret


def kpi(report: dict, name: str, variant: str | None = None) -> dict:
    """One KPI of a report by name and variant."""
    return next(k for k in report["kpis"] if k["name"] == name and k["variant"] == variant)


async def test_worked_example_reads_back_through_the_api_even_when_events_arrive_twice_and_out_of_order(
    sessions, client, worked
):
    await feed(sessions, list(reversed(worked.events)) + worked.events)
    key = await api_key_for(sessions, worked.organization_id)

    response = await client.get(
        "/v1/kpis", params={"as_of": "2026-10-31", "window_days": 60}, headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    first_pass = kpi(report, "clean_claim_rate", "first_pass")
    assert Decimal(first_pass["value"]) == Decimal("0.5")
    assert (first_pass["numerator"]["count"], first_pass["denominator"]["count"]) == (1, 2)
    assert "first adjudication" in first_pass["definition"]
    days = kpi(report, "days_in_ar")
    assert Decimal(days["value"]) == Decimal("66.6")
    assert Decimal(days["numerator"]["amount"]) == Decimal("370")
    assert Decimal(days["denominator"]["amount"]) == Decimal("500")


async def test_as_of_defaults_to_the_latest_business_date_and_practice_slices(sessions, client, worked):
    await feed(sessions, worked.events)
    key = await api_key_for(sessions, worked.organization_id)
    headers = {"Authorization": f"Bearer {key}"}

    report = (await client.get("/v1/kpis", headers=headers)).json()
    other = (await client.get("/v1/kpis", params={"practice_id": str(uuid.uuid4())}, headers=headers)).json()

    assert report["as_of"] == "2026-10-02"
    assert Decimal(kpi(report, "days_in_ar")["numerator"]["amount"]) == Decimal("370")
    assert kpi(other, "days_in_ar")["numerator"]["count"] == 0


async def test_claim_timeline_lists_events_in_business_date_order_and_hides_other_organizations(
    sessions, client, worked
):
    await feed(sessions, list(reversed(worked.events)))
    key = await api_key_for(sessions, worked.organization_id)
    stranger = await api_key_for(sessions, uuid.uuid4())

    mine = await client.get("/v1/claims/C2/timeline", headers={"Authorization": f"Bearer {key}"})
    theirs = await client.get("/v1/claims/C2/timeline", headers={"Authorization": f"Bearer {stranger}"})

    assert mine.status_code == 200, mine.text
    types = [e["event_type"] for e in mine.json()["events"]]
    assert types[:2] == ["charge.created", "claim.submitted"]
    assert set(types[2:]) == {"remittance.posted", "claim.denied"}
    assert theirs.status_code == 404


async def test_an_organization_without_events_and_without_as_of_gets_404(sessions, client):
    key = await api_key_for(sessions, uuid.uuid4())

    response = await client.get("/v1/kpis", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_gauge_refresher_publishes_days_in_ar_as_of_the_latest_business_date(sessions, worked):
    await feed(sessions, worked.events)
    refresher = GaugeRefresher(sessions)

    await refresher.refresh()

    labels = {"organization": str(worked.organization_id), "practice": "all"}
    # As of 2026-10-02 the 90 days hold all three charges: A/R 370 over 500 / 90.
    assert REGISTRY.get_sample_value("claimflow_days_in_ar", labels) == 66.6
    assert worked.organization_id in refresher.versions
