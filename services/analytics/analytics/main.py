"""Analytics HTTP application."""

from fastapi import FastAPI

from analytics.api import router
from analytics.config import AnalyticsSettings
from analytics.models import infra
from shared.app import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    """The analytics API: KPIs, claim timelines, health and metrics."""
    return create_service_app(
        settings=load_settings(AnalyticsSettings),
        infra=infra,
        routers=[router],
        title="Claimflow analytics",
        description="Turns the claims lifecycle stream into clean-claim-rate, denial and days-in-A/R KPIs.",
    )
