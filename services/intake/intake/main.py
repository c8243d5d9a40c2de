"""Intake HTTP application."""

import asyncio
from typing import Any

from fastapi import FastAPI

from intake import codeset, encounter_api, master_api
from intake.config import IntakeSettings
from intake.models import infra
from intake.web import ProblemDetails, RequestSizeLimit, problem_response_doc
from shared.app import create_service_app
from shared.problems import PROBLEM_JSON
from shared.settings import load_settings

# Operator-only and unauthenticated operations; every other operation takes an organization's API key.
_NOT_API_KEY = ("/v1/organizations", "/healthz", "/readyz", "/admin/", "/metrics")


def create_app() -> FastAPI:
    """The intake API: the front door for EHR systems and billing companies."""
    settings = load_settings(IntakeSettings)

    async def warm(app: FastAPI) -> None:
        app.state.code_sets = await asyncio.to_thread(codeset.load_code_sets)

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
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with problem+json error responses and the API-key security scheme declared."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    problem_schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, nested in problem_schema.pop("$defs", {}).items():
        components.setdefault("schemas", {}).setdefault(name, nested)
    components.setdefault("schemas", {})["ProblemDetails"] = problem_schema
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    components["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer", "description": "cf_<id>.<secret>"}}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items() if path.startswith(("/v1/", "/admin/")) else ():
                if status.isdigit() and int(status) >= 400:
                    content = response.get("content") or {}
                    if PROBLEM_JSON not in content:
                        responses[status] = {**problem_response_doc(int(status)), **_description(response)}
            if path.startswith("/v1/") and not path.startswith(_NOT_API_KEY):
                operation["security"] = [{"apiKey": []}]
                for status in (401, 403):
                    responses.setdefault(str(status), problem_response_doc(status))
            if operation.get("requestBody") or operation.get("parameters"):
                responses.setdefault("422", problem_response_doc(422))
            if operation.get("requestBody"):
                responses.setdefault("413", problem_response_doc(413))
    app.openapi_schema = schema
    return schema


def _description(response: dict[str, Any]) -> dict[str, Any]:
    """A response's own description, kept when its content is replaced."""
    return {"description": response["description"]} if response.get("description") else {}
