"""Remittance HTTP application."""

from fastapi import FastAPI

from remittance.accounts_api import router as accounts_router
from remittance.api import router
from remittance.config import RemittanceSettings
from remittance.files_api import router as files_router
from remittance.models import infra
from remittance.work_api import router as work_router
from shared.app import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    """The remittance API: ERA intake (clearinghouse and staff), postings, unmatched queue, denials."""
    return create_service_app(
        settings=load_settings(RemittanceSettings),
        infra=infra,
        routers=[router, files_router, work_router, accounts_router],
        title="Claimflow remittance",
        description="Posts 835 remittances, classifies adjustments, and queues denials with their root cause.",
    )
