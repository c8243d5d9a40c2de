"""Remittance HTTP endpoints of the denial work queue and its escalation settings."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import denial_work
from remittance.escalations import load_escalation_settings, save_escalation_settings
from remittance.models import denials, infra
from remittance.schemas import (
    AppealRequest,
    AssignRequest,
    CorrectionRequest,
    DenialDetailView,
    DenialSettingsUpdate,
    DenialSettingsView,
    DenialView,
    NoteRequest,
    ResolutionView,
    ResolveRequest,
)
from remittance.web import (
    CONFLICT,
    INVALID,
    NOT_FOUND,
    Admin,
    Reader,
    Writer,
    ensure_practice_access,
    respond_idempotently,
)
from shared.auth import Principal
from shared.db import unit_of_work
from shared.openapi import link, links
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Order, Page, visible_practices
from shared.replica import refuse_unknown_references

MAX_AMOUNT = 9_999_999_999.99  # the largest amount the ledger columns (numeric(12, 2)) hold
router = APIRouter(prefix="/v1", tags=["denials"])
# Oldest payment first, so the most urgent work is on top.
DENIAL_ORDER = Order(
    "denials", ((denials.c.payment_date, False), (denials.c.created_at, False), (denials.c.denial_id, False))
)
ACTION_RESPONSES = {**NOT_FOUND, **INVALID, **CONFLICT}


def _denial_links(id_expression: str) -> dict[str, dict[str, Any]]:
    """Links from an answer holding a denial id to reading it and to the actions a biller takes on it."""
    by_id = {"path.denial_id": id_expression}
    actions = ("assign", "notes", "appeal", "resolve", "correction")
    return {
        "GetDenial": link("GET", "/v1/denials/{denial_id}", description="Read the denial", parameters=by_id),
        **{
            f"{action.capitalize()}Denial": link(
                "POST",
                f"/v1/denials/{{denial_id}}/{action}",
                description=f"{action.capitalize()} the denial",
                parameters=by_id,
            )
            for action in actions
        },
    }


async def _add_note(session: AsyncSession, principal: Principal, denial_id: uuid.UUID, text: str) -> None:
    """Append a note to a denial, the calling key and its user recorded as the author."""
    await denial_work.add_note(
        session,
        organization_id=principal.organization_id,
        denial_id=denial_id,
        text=text,
        key_id=principal.key_id,
        user_id=principal.user_id,
    )


@router.get(
    "/denials",
    summary="The denial work queue, filtered by root cause, payer, practice, age and amount",
    responses=links(200, **_denial_links("$response.body#/items/0/denial_id")),
)
async def list_denials(
    request: Request,
    principal: Reader,
    root_cause: str | None = None,
    payer_id: uuid.UUID | None = None,
    practice_id: uuid.UUID | None = None,
    queue: Literal["appeals", "credentialing"] | None = None,
    assigned_to: uuid.UUID | None = None,
    status: Literal["open", "appealed", "resolved"] = "open",
    min_age_days: int | None = Query(default=None, ge=0, le=36500),
    max_age_days: int | None = Query(default=None, ge=0, le=36500),
    min_amount: Decimal | None = Query(default=None, ge=0, le=MAX_AMOUNT, decimal_places=2),
    max_amount: Decimal | None = Query(default=None, ge=0, le=MAX_AMOUNT, decimal_places=2),
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DenialView]:
    """Denials of the caller's organization, oldest payment first ('open' includes appealed ones)."""
    criteria = denial_work.DenialFilter(
        status=status,
        root_cause=root_cause,
        payer_id=payer_id,
        practice_id=practice_id,
        queue=queue,
        assigned_to=assigned_to,
        min_age_days=min_age_days,
        max_age_days=max_age_days,
        min_amount=min_amount,
        max_amount=max_amount,
    )
    query = denial_work.denial_query(criteria, request.app.state.clock.today())
    practices = visible_practices(denials.c.practice_id, principal)
    if practices is not None:
        query = query.where(practices)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await refuse_unknown_references(
            session, infra, principal.practice_ids, practice_id=("practice", practice_id), payer_id=("payer", payer_id)
        )
        rows = (await session.execute(DENIAL_ORDER.apply(query, cursor=cursor, limit=limit))).all()
    page, next_cursor = DENIAL_ORDER.page(rows, limit)
    return Page[DenialView](items=[DenialView.model_validate(r._mapping) for r in page], next_cursor=next_cursor)


async def _detail(session: AsyncSession, principal: Principal, denial_id: uuid.UUID) -> DenialDetailView:
    detail = await denial_work.denial_detail(session, denial_id)
    ensure_practice_access(principal, detail["practice_id"], f"denial {denial_id}")
    return DenialDetailView.model_validate(detail)


async def _guard(session: AsyncSession, principal: Principal, denial_id: uuid.UUID) -> None:
    """404 before acting on a denial of a practice the key may not see."""
    practice_id = await session.scalar(select(denials.c.practice_id).where(denials.c.denial_id == denial_id))
    ensure_practice_access(principal, practice_id, f"denial {denial_id}")


@router.get(
    "/denials/{denial_id}",
    summary="One denial with its notes and escalations",
    responses={**NOT_FOUND, **links(200, **_denial_links("$response.body#/denial_id"))},
)
async def get_denial(request: Request, denial_id: uuid.UUID, principal: Reader) -> DenialDetailView:
    """A denial of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        return await _detail(session, principal, denial_id)


@router.post(
    "/denials/{denial_id}/assign",
    summary="Assign the denial to a user",
    response_model=DenialDetailView,
    responses=ACTION_RESPONSES,
)
async def assign_denial(request: Request, denial_id: uuid.UUID, body: AssignRequest, principal: Writer) -> JSONResponse:
    """Give the denial to an active user of the organization."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await _guard(session, principal, denial_id)
        await denial_work.assign(session, denial_id=denial_id, user_id=body.user_id)
        return 200, await _detail(session, principal, denial_id)

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/denials/{denial_id}/notes",
    status_code=201,
    summary="Add a note to the denial",
    response_model=DenialDetailView,
    responses={**NOT_FOUND, **INVALID},
)
async def add_denial_note(request: Request, denial_id: uuid.UUID, body: NoteRequest, principal: Writer) -> JSONResponse:
    """Append a note (the key and its user are recorded as the author)."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await _guard(session, principal, denial_id)
        await _add_note(session, principal, denial_id, body.text)
        return 201, await _detail(session, principal, denial_id)

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/denials/{denial_id}/appeal",
    summary="Mark the denial appealed on a date (emits denial.appealed)",
    response_model=DenialDetailView,
    responses=ACTION_RESPONSES,
)
async def appeal_denial(request: Request, denial_id: uuid.UUID, body: AppealRequest, principal: Writer) -> JSONResponse:
    """Record the appeal date (not before the denial's payment date)."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await _guard(session, principal, denial_id)
        await denial_work.appeal(
            session,
            organization_id=principal.organization_id,
            denial_id=denial_id,
            appealed_date=body.appealed_date,
            causation_id=f"appeal:{denial_id}",
        )
        if body.note:
            await _add_note(session, principal, denial_id, body.note)
        return 200, await _detail(session, principal, denial_id)

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/denials/{denial_id}/resolve",
    summary="Resolve the denial: overturned, upheld, written off or corrected (emits denial.resolved)",
    response_model=ResolutionView,
    responses=ACTION_RESPONSES,
)
async def resolve_denial(
    request: Request, denial_id: uuid.UUID, body: ResolveRequest, principal: Writer
) -> JSONResponse:
    """Close the denial with its amounts; written off also emits balance.written-off."""
    resolved_date = body.resolved_date or request.app.state.clock.today()

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await _guard(session, principal, denial_id)
        result = await denial_work.resolve(
            session,
            organization_id=principal.organization_id,
            denial_id=denial_id,
            outcome=body.outcome,
            recovered_amount=body.recovered_amount,
            written_off_amount=body.written_off_amount,
            resolved_date=resolved_date,
            causation_id=f"resolve:{denial_id}",
            note=body.note,
        )
        if body.note:
            await _add_note(session, principal, denial_id, body.note)
        detail = await _detail(session, principal, denial_id)
        return 200, ResolutionView.model_validate({"denial": detail, "write_off": result["write_off"]})

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/denials/{denial_id}/correction",
    summary="Request a corrected claim from submission (emits correction.requested)",
    response_model=DenialDetailView,
    responses=ACTION_RESPONSES,
)
async def request_correction(
    request: Request, denial_id: uuid.UUID, body: CorrectionRequest, principal: Writer
) -> JSONResponse:
    """Ask for a corrected claim once per denial."""
    requested_date = body.requested_date or request.app.state.clock.today()

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await _guard(session, principal, denial_id)
        await denial_work.request_correction(
            session,
            organization_id=principal.organization_id,
            denial_id=denial_id,
            note=body.note,
            requested_date=requested_date,
            causation_id=f"correction:{denial_id}",
        )
        return 200, await _detail(session, principal, denial_id)

    return await respond_idempotently(request, principal, use_case)


@router.get("/denial-settings", summary="Escalation thresholds of the organization")
async def get_denial_settings(request: Request, principal: Reader) -> DenialSettingsView:
    """DOMAIN.md 5.4's defaults until the organization changes them."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        settings = await load_escalation_settings(session)
    return DenialSettingsView.model_validate(asdict(settings))


@router.put("/denial-settings", summary="Change escalation thresholds", responses=INVALID)
async def put_denial_settings(request: Request, body: DenialSettingsUpdate, principal: Admin) -> DenialSettingsView:
    """Change the given thresholds; the others keep their value."""
    changes = body.model_dump(exclude_none=True)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        settings = await save_escalation_settings(session, principal.organization_id, changes)
    return DenialSettingsView.model_validate(asdict(settings))
