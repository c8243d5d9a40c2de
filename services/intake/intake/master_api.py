"""Intake endpoints for organizations, API keys, master data and the business clock."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import common, master
from intake.web import INVALID, NOT_FOUND, Admin, Reader, respond_idempotently
from intake.models import business_clocks
from intake.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ClockIn,
    ClockOut,
    CoverageIn,
    Created,
    OrganizationCreated,
    OrganizationIn,
    PatientIn,
    PayerIn,
    PracticeIn,
    ProviderIn,
)
from shared.auth import Principal, require_operator, require_scope
from shared.db import unit_of_work
from shared.problems import Problem

router = APIRouter(prefix="/v1")


@router.post(
    "/organizations",
    status_code=201,
    tags=["organizations"],
    dependencies=[Depends(require_operator)],
    summary="Create an organization and its first admin key (platform operator)",
)
async def create_organization(request: Request, body: OrganizationIn) -> OrganizationCreated:
    """Create a tenant."""
    organization_id = uuid.uuid4()
    async with unit_of_work(request.app.state.sessions, organization_id) as session:
        admin_key = await master.create_organization(session, organization_id, body.name)
    return OrganizationCreated(organization_id=organization_id, name=body.name, admin_key=admin_key)


@router.post("/api-keys", status_code=201, tags=["organizations"], summary="Issue an API key", responses=INVALID)
async def create_api_key(request: Request, body: ApiKeyIn, principal: Admin) -> ApiKeyCreated:
    """Issue a key for the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        return await master.create_api_key(
            session,
            principal.organization_id,
            scopes=list(body.scopes),
            practice_ids=body.practice_ids,
            label=body.label,
        )


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    tags=["organizations"],
    summary="Revoke an API key",
    responses=NOT_FOUND,
)
async def revoke_api_key(request: Request, key_id: str, principal: Admin) -> None:
    """Revoke a key of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        if not await master.revoke_api_key(session, principal.organization_id, key_id):
            raise Problem(404, "Not Found", f"API key {key_id} not found")


def _master_routes(entity_type: str, plural: str, model: type[BaseModel], scope: str) -> None:
    """POST and GET endpoints of one kind of master data."""
    writer = Annotated[Principal, Depends(require_scope(scope))]

    async def create(request: Request, body: model, principal: writer) -> JSONResponse:  # type: ignore[valid-type]
        async def use_case(session: AsyncSession) -> tuple[int, Any]:
            entity_id = await common.create_master(session, principal, entity_type, body.model_dump(mode="json"))  # type: ignore[attr-defined]
            return 201, Created(id=entity_id, entity_type=entity_type)

        return await respond_idempotently(request, principal, use_case)

    async def read(request: Request, entity_id: uuid.UUID, principal: Reader) -> dict[str, Any]:
        async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
            record = await common.master_record(session, entity_type, entity_id)
            if record is not None and entity_type in {"patient", "coverage"}:
                await common.audit(session, principal, "read", entity_type, entity_id)
        if record is None:
            raise Problem(404, "Not Found", f"{entity_type} {entity_id} not found")
        return {"id": str(entity_id), **record}

    router.add_api_route(
        f"/{plural}",
        create,
        methods=["POST"],
        status_code=201,
        tags=[plural],
        summary=f"Create a {entity_type}",
        responses={201: {"model": Created}, **INVALID},
    )
    router.add_api_route(
        f"/{plural}/{{entity_id}}",
        read,
        methods=["GET"],
        tags=[plural],
        summary=f"Read a {entity_type}",
        responses=NOT_FOUND,
    )


_master_routes("practice", "practices", PracticeIn, "admin")
_master_routes("provider", "providers", ProviderIn, "admin")
_master_routes("payer", "payers", PayerIn, "admin")
_master_routes("patient", "patients", PatientIn, "encounters:write")
_master_routes("coverage", "coverages", CoverageIn, "encounters:write")


@router.get("/clock", tags=["clock"], summary="The organization's business date")
async def get_clock(request: Request, principal: Reader) -> ClockOut:
    """Business date used to stamp events of this organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        today = await common.business_today(session, principal.organization_id)
        pinned = await session.scalar(select(business_clocks.c.business_date))
    return ClockOut(business_date=today, pinned=pinned is not None)


@router.put("/clock", tags=["clock"], summary="Pin the organization's business date (demo and test deployments)")
async def set_clock(request: Request, body: ClockIn, principal: Admin) -> ClockOut:
    """Set the business date; refused where the clock is the wall clock."""
    if not request.app.state.clock.settable:
        raise Problem(409, "Clock not settable", "the business clock is the wall clock in this deployment")
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await common.pin_business_date(session, principal.organization_id, body.business_date)
    return ClockOut(business_date=body.business_date, pinned=True)
