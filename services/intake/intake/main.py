"""Intake HTTP application."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.responses import Response

from intake import domain, encounter_api, master_api
from intake.config import IntakeSettings
from intake.models import infra
from shared.app import create_service_app
from shared.problems import problem_response
from shared.settings import load_settings


def create_app() -> FastAPI:
    """The intake API: the front door for EHR systems and billing companies."""
    settings = load_settings(IntakeSettings)

    async def warm(_: FastAPI) -> None:
        await asyncio.to_thread(domain.warm_up)

    app = create_service_app(
        settings=settings,
        infra=infra,
        routers=[master_api.router, encounter_api.router],
        title="Claimflow intake",
        description="Encounters, patients, coverages and master data in; validated events out.",
        on_startup=warm,
    )

    @app.middleware("http")
    async def limit_size(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_request_bytes:
            return problem_response(
                413,
                "Request too large",
                f"request body is {length} bytes; the limit is {settings.max_request_bytes}",
            )
        return await call_next(request)

    return app
