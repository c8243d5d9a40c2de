"""Intake HTTP application."""

import asyncio

from fastapi import FastAPI

from intake import encounter_api, master_api
from intake.config import IntakeSettings
from intake.models import infra
from shared import icd10
from shared.app import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    """The intake API: the front door for EHR systems and billing companies."""
    settings = load_settings(IntakeSettings)

    async def warm(app: FastAPI) -> None:
        app.state.code_sets = await asyncio.to_thread(icd10.load_code_sets)

    app = create_service_app(
        settings=settings,
        infra=infra,
        routers=[master_api.router, encounter_api.router],
        title="Claimflow intake",
        description=(
            "Encounters, patients, coverages and master data in; validated events out. Authenticate with an "
            "organization's API key (`Authorization: Bearer cf_...`). Every POST honours `Idempotency-Key`; "
            "every 4xx is RFC 9457 problem+json naming the field."
        ),
        on_startup=warm,
    )
    return app
