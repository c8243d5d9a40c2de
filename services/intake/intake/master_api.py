"""Intake endpoints for organizations, API keys, master data and the business clock."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import common, master
from intake.master_kinds import KINDS, MasterKind
from intake.models import business_clocks
from intake.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyQuery,
    ClockIn,
    ClockOut,
    Created,
    OrganizationCreated,
    OrganizationIn,
    Page,
    example_of,
)
from intake.web import Admin, Reader, problems, respond_idempotently
from shared.auth import Principal, require_operator, require_scope
from shared.db import unit_of_work
from shared.openapi import link, links
from shared.problems import Problem

router = APIRouter(prefix="/v1")
# Create operations whose body takes the id of a master record (`<entity type>_id`): the targets of the links
# from a record's creation, e.g. a new practice leads to creating a provider of that practice.
_CREATES: tuple[tuple[str, str, type[Any]], ...] = (
    *((f"/v1/{kind.plural}", kind.entity_type, kind.request) for kind in KINDS.values()),
    ("/v1/api-keys", "api_key", ApiKeyIn),
)


def _title(entity_type: str) -> str:
    """An entity type as a link-name word: fee_schedule_entry -> FeeScheduleEntry."""
    return "".join(word.capitalize() for word in entity_type.split("_"))


def _record_links(kind: MasterKind, id_expression: str) -> dict[str, dict[str, Any]]:
    """Links from an answer holding a record's id to reading, replacing and deleting that record."""
    item = f"/v1/{kind.plural}/{{entity_id}}"
    by_id = {"path.entity_id": id_expression}
    noun = kind.entity_type.replace("_", " ")
    name = _title(kind.entity_type)
    return {
        f"Get{name}": link("GET", item, description=f"Read the {noun}", parameters=by_id),
        f"Replace{name}": link("PUT", item, description=f"Replace the {noun}", parameters=by_id),
        f"Delete{name}": link("DELETE", item, description=f"Delete the {noun}", parameters=by_id),
    }


def _referencing_links(kind: MasterKind) -> dict[str, dict[str, Any]]:
    """Links from a new record to creating the records that point at it (its id as their `<type>_id`)."""
    field = f"{kind.entity_type}_id"
    noun = kind.entity_type.replace("_", " ")
    return {
        f"Create{_title(target_type)}Of{_title(kind.entity_type)}": link(
            "POST",
            path,
            description=f"Create a {target_type.replace('_', ' ')} of this {noun}",
            request_body={field: "$response.body#/id"},
        )
        for path, target_type, request in _CREATES
        if field in request.model_fields
    }


@router.post(
    "/organizations",
    status_code=201,
    tags=["organizations"],
    dependencies=[Depends(require_operator)],
    summary="Create an organization and its first admin key (platform operator)",
    responses=problems(400, 401, 422),
)
async def create_organization(request: Request, body: OrganizationIn) -> OrganizationCreated:
    """Create a tenant."""
    organization_id = uuid.uuid4()
    async with unit_of_work(request.app.state.sessions, organization_id) as session:
        admin_key = await master.create_organization(session, organization_id, body.name)
    return OrganizationCreated(organization_id=organization_id, name=body.name, admin_key=admin_key)


@router.post(
    "/api-keys",
    status_code=201,
    tags=["api-keys"],
    summary="Issue an API key",
    response_model=ApiKeyCreated,
    responses={
        **problems(400, 401, 403, 422),
        **links(
            201,
            RevokeApiKey=link(
                "DELETE",
                "/v1/api-keys/{key_id}",
                description="Revoke the key",
                parameters={"path.key_id": "$response.body#/key_id"},
            ),
        ),
    },
)
async def create_api_key(request: Request, body: ApiKeyIn, principal: Admin) -> JSONResponse:
    """Issue a key for the caller's organization; the secret is in this answer only.

    An Idempotency-Key replay answers with the same key id but without the secret, which is never stored.
    """
    issued: list[ApiKeyCreated] = []

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        created = await master.create_api_key(
            session,
            principal.organization_id,
            scopes=list(body.scopes),
            practice_ids=body.practice_ids,
            label=body.label,
            user_id=body.user_id,
            issuer_practice_ids=principal.practice_ids,
        )
        issued.append(created)
        return 201, created.model_copy(update={"api_key": None})

    replayable = await respond_idempotently(request, principal, use_case)
    if issued:
        return JSONResponse(jsonable_encoder(issued[0]), status_code=201)
    return replayable


@router.get(
    "/api-keys",
    tags=["api-keys"],
    summary="List API keys (never their secrets)",
    responses=problems(401, 403, 422),
)
async def list_api_keys(request: Request, query: Annotated[ApiKeyQuery, Query()], principal: Admin) -> Page[ApiKeyOut]:
    """The organization's keys, paginated by key id."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        return await master.list_api_keys(session, principal, query)


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    tags=["api-keys"],
    summary="Revoke an API key",
    responses=problems(401, 403, 404, 422),
)
async def revoke_api_key(
    request: Request, key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$")], principal: Admin
) -> None:
    """Revoke a key of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        if not await master.revoke_api_key(session, principal.organization_id, key_id, principal.practice_ids):
            raise Problem(404, "Not Found", f"API key {key_id} not found")


def _master_routes(kind: MasterKind) -> None:
    """Create, list, read, replace and delete endpoints of one kind of master data."""
    writer = Annotated[Principal, Depends(require_scope(kind.write_scope))]
    # A kind an EHR writes (patients, coverages, authorizations) it may read back; admin-only kinds stay `read`.
    reader = Annotated[
        Principal, Depends(require_scope("read", *([kind.write_scope] if kind.write_scope != "admin" else [])))
    ]
    noun = kind.entity_type.replace("_", " ")
    a_noun = f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
    nouns = kind.plural.replace("-", " ")
    examples = {"example": {"summary": a_noun.capitalize(), "value": example_of(kind.request)}}
    request_model: Any = Annotated[kind.request, Body(openapi_examples=examples)]  # type: ignore[arg-type]
    query_model: Any = Annotated[kind.query, Query()]
    page_model: Any = Page[kind.response]  # type: ignore[name-defined]

    async def create(request: Request, body: request_model, principal: writer) -> JSONResponse:
        async def use_case(session: AsyncSession) -> tuple[int, Any]:
            entity_id = await common.store_new_master(session, principal, kind, body)
            return 201, Created(id=entity_id, entity_type=kind.entity_type)

        return await respond_idempotently(request, principal, use_case)

    async def list_(request: Request, query: query_model, principal: reader) -> Any:
        async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
            return await master.list_records(session, principal, kind, query)

    async def read(request: Request, entity_id: uuid.UUID, principal: reader) -> Any:
        async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
            return await master.read_record(session, principal, kind, entity_id)

    async def replace(request: Request, entity_id: uuid.UUID, body: request_model, principal: writer) -> Any:
        async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
            return await master.update_record(session, principal, kind, entity_id, body)

    async def delete(request: Request, entity_id: uuid.UUID, principal: writer) -> Response:
        async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
            await master.delete_record(session, principal, kind, entity_id)
        return Response(status_code=204)

    path = f"/{kind.plural}"
    item = f"/{kind.plural}/{{entity_id}}"
    read_link = f"Get{_title(kind.entity_type)}"
    first_item = {read_link: _record_links(kind, "$response.body#/items/0/id")[read_link]}
    tags: list[str | Any] = [kind.plural]
    router.add_api_route(
        path,
        create,
        methods=["POST"],
        status_code=201,
        tags=tags,
        summary=f"Create {a_noun}",
        description=f"Honours Idempotency-Key: a retry with the same key and body answers the same {noun} id.",
        response_model=Created,
        responses={
            **problems(400, 401, 403, 409, 422),
            **links(201, **_record_links(kind, "$response.body#/id"), **_referencing_links(kind)),
        },
    )
    router.add_api_route(
        path,
        list_,
        methods=["GET"],
        tags=tags,
        summary=f"List {nouns} (paginated, filterable)",
        response_model=page_model,
        responses={**problems(401, 403, 422), **links(200, **first_item)},
    )
    router.add_api_route(
        item,
        read,
        methods=["GET"],
        tags=tags,
        summary=f"Read {a_noun}",
        response_model=kind.response,
        responses=problems(401, 403, 404, 422),
    )
    router.add_api_route(
        item,
        replace,
        methods=["PUT"],
        tags=tags,
        summary=f"Replace {a_noun} (the whole record is validated again)",
        response_model=kind.response,
        responses={**problems(400, 401, 403, 404, 409, 422), **links(200, **_record_links(kind, "$response.body#/id"))},
    )
    router.add_api_route(
        item,
        delete,
        methods=["DELETE"],
        status_code=204,
        tags=tags,
        summary=f"Delete {a_noun}",
        response_class=Response,
        responses=problems(401, 403, 404, 409, 422),
    )


for _kind in KINDS.values():
    _master_routes(_kind)


@router.get("/clock", tags=["clock"], summary="The organization's business date", responses=problems(401, 403))
async def get_clock(request: Request, principal: Reader) -> ClockOut:
    """Business date used to stamp events of this organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        today = await common.business_today(session, principal.organization_id)
        pinned = await session.scalar(select(business_clocks.c.business_date))
    return ClockOut(business_date=today, pinned=pinned is not None)


@router.put(
    "/clock",
    tags=["clock"],
    summary="Pin the organization's business date (demo and test deployments)",
    responses=problems(400, 401, 403, 409, 422),
)
async def set_clock(request: Request, body: ClockIn, principal: Admin) -> ClockOut:
    """Set the business date; refused where the clock is the wall clock."""
    if not request.app.state.clock.settable:
        raise Problem(409, "Clock not settable", "the business clock is the wall clock in this deployment")
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await common.pin_business_date(session, principal.organization_id, body.business_date)
    return ClockOut(business_date=body.business_date, pinned=True)


@router.delete(
    "/clock",
    tags=["clock"],
    summary="Unpin the organization's business date: it follows the wall clock again",
    responses=problems(401, 403, 409),
)
async def unpin_clock(request: Request, principal: Admin) -> ClockOut:
    """Return to the wall clock; unpinning a clock that is not pinned changes nothing.

    A date pinned after the wall clock's is not unpinned: business dates already stamped would then lie after the
    ones that follow them.
    """
    if not request.app.state.clock.settable:
        raise Problem(409, "Clock not settable", "the business clock is the wall clock in this deployment")
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        pinned = await session.scalar(select(business_clocks.c.business_date))
        wall = common.business_date_of(None)
        if pinned is not None and pinned > wall:
            raise Problem(
                409,
                "Business date ahead of the wall clock",
                f"the pinned business date {pinned} is after today ({wall}); unpinning would move it back. "
                "Wait until then, or keep it pinned",
            )
        await common.unpin_business_date(session, principal.organization_id)
        today = await common.business_today(session, principal.organization_id)
    return ClockOut(business_date=today, pinned=False)
