"""Intake endpoints for encounters."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from intake import common, encounters
from intake.encounter_schemas import EncounterAccepted, EncounterIn
from intake.web import INVALID, NOT_FOUND, Reader, Writer, respond_idempotently
from shared.db import unit_of_work
from shared.problems import Problem

router = APIRouter(prefix="/v1")


@router.post(
    "/encounters",
    status_code=202,
    tags=["encounters"],
    summary="Submit an encounter",
    responses={
        200: {"model": EncounterAccepted, "description": "Already received (same EHR encounter id)"},
        202: {"model": EncounterAccepted},
        **INVALID,
    },
)
async def post_encounter(request: Request, body: EncounterIn, principal: Writer) -> JSONResponse:
    """Accept a visit; business problems send it to a work queue instead of refusing it."""
    correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        accepted, created = await encounters.receive_encounter(session, principal, body, correlation_id)
        return (202 if created else 200), accepted

    return await respond_idempotently(request, principal, use_case)


@router.get(
    "/encounters/{encounter_id}",
    tags=["encounters"],
    summary="Read an encounter's status",
    responses=NOT_FOUND,
)
async def get_encounter(request: Request, encounter_id: uuid.UUID, principal: Reader) -> EncounterAccepted:
    """An encounter of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        found = await encounters.encounter_by_id(session, encounter_id)
        if found is not None:
            await common.audit(session, principal, "read", "encounter", encounter_id)
    if found is None:
        raise Problem(404, "Not Found", f"encounter {encounter_id} not found")
    return found
