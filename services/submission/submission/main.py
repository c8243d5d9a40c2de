"""Submission HTTP application."""

import asyncio

from fastapi import FastAPI

from shared.app import create_service_app
from shared.icd10 import configured_code_sets
from shared.settings import load_settings
from submission import api, x12_api
from submission.config import SubmissionSettings
from submission.models import infra


def create_app() -> FastAPI:
    """The submission API: claims, work queues, health and metrics."""

    async def warm(app: FastAPI) -> None:
        # Corrections are checked and scrubbed against the ICD-10-CM code sets: read them before the first request.
        await asyncio.to_thread(configured_code_sets)

    return create_service_app(
        settings=load_settings(SubmissionSettings),
        infra=infra,
        routers=[api.router, x12_api.router],
        title="Claimflow submission",
        description="Builds claims from charges, scrubs them, sends 837P batches and records 999/277CA outcomes.",
        on_startup=warm,
    )
