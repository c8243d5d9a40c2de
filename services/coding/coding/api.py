"""Coding HTTP endpoints: charges, the coding-review queue, care-management months."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from coding import holds, lists, monthly, months, repository
from coding.charges import EventContext
from coding.models import charges, idempotency_keys
from coding.schemas import ChargeView, MonthOutcomeView, ResolveHoldIn
from shared import idempotency
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.idempotency import UseCase
from shared.openapi import link, links
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Page
from shared.problems import Problem

router = APIRouter(prefix="/v1")
Reader = Annotated[Principal, Depends(require_scope("read"))]
# Overriding coded lines and closing care-management months are billing actions, like corrections and denial work.
Biller = Annotated[Principal, Depends(require_scope("claims:write"))]
MonthPath = Annotated[str, Path(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", examples=["2026-09"], description="yyyy-mm")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such charge in this organization"}}


def view(row: Any) -> ChargeView:
    """The API view of a charge row."""
    return ChargeView.model_validate(row._mapping, from_attributes=False)


async def today(request: Request, session: AsyncSession) -> date:
    """The organization's business date as coding last saw it in events (the wall clock before any event)."""
    return await repository.business_date(session) or request.app.state.clock.today()


@router.get(
    "/charges/{charge_id}", tags=["charges"], summary="One charge with its lines and holds", responses=NOT_FOUND
)
async def get_charge(request: Request, charge_id: str, principal: Reader) -> ChargeView:
    """A charge of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        row = await repository.charge(session, charge_id)
    if row is None or not principal.may_access_practice(row.practice_id):
        raise Problem(404, "Not Found", f"charge {charge_id} not found")
    return view(row)


@router.get(
    "/charges",
    tags=["charges"],
    summary="Charges, filtered, oldest date of service first, a page at a time",
    responses=links(
        200,
        GetCharge=link(
            "GET",
            "/v1/charges/{charge_id}",
            description="Read the first charge of the page",
            parameters={"path.charge_id": "$response.body#/items/0/charge_id"},
        ),
    ),
)
async def list_charges(
    request: Request,
    principal: Reader,
    filters: Annotated[lists.ChargeFilters, Depends()],
    status: Annotated[lists.ChargeStatus | None, Query(description="Only charges in this status")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ChargeView]:
    """Charges of the caller's organization (and practices) matching every filter given; by date of service, then
    charge id. Pass next_cursor back as `cursor` for the next page."""
    conditions = filters.conditions(principal)
    if status is not None:
        conditions.append(charges.c.status == status)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await filters.refuse_unknown(session, principal)
        rows, next_cursor = await lists.charge_page(session, lists.CHARGES, conditions, cursor=cursor, limit=limit)
    return Page(items=[view(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/holds",
    tags=["holds"],
    summary="Charges held for coding review, with reasons, oldest date of service first, a page at a time",
    responses=links(
        200,
        GetCharge=link(
            "GET",
            "/v1/charges/{charge_id}",
            description="Read the oldest held charge",
            parameters={"path.charge_id": "$response.body#/items/0/charge_id"},
        ),
        ResolveHold=link(
            "POST",
            "/v1/holds/{charge_id}/resolve",
            description="Resolve the oldest held charge",
            parameters={"path.charge_id": "$response.body#/items/0/charge_id"},
        ),
    ),
)
async def list_holds(
    request: Request,
    principal: Reader,
    filters: Annotated[lists.ChargeFilters, Depends()],
    reason: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$",
            examples=["REVIEW-NEW-CLINICIAN"],
            description="Only charges held for this rule id (REVIEW-NEW-CLINICIAN: the review samples)",
        ),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ChargeView]:
    """Held charges of the caller's organization (and practices) matching every filter given."""
    conditions = [charges.c.status == "held", *filters.conditions(principal)]
    if reason is not None:
        conditions.append(charges.c.hold_reasons.contains([{"rule_id": reason}]))
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await filters.refuse_unknown(session, principal)
        rows, next_cursor = await lists.charge_page(session, lists.HOLDS, conditions, cursor=cursor, limit=limit)
    return Page(items=[view(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/holds/{charge_id}/resolve",
    tags=["holds"],
    summary="Release, override or reject a held charge",
    responses={**NOT_FOUND, 409: {"description": "The charge is not held"}, 422: {"description": "Invalid lines"}},
)
async def resolve_hold(request: Request, charge_id: str, body: ResolveHoldIn, principal: Biller) -> JSONResponse:
    """Bill a held charge as coded or with a coder's lines (marked manually touched), or reject it."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        row = await holds.resolve_hold(session, principal, charge_id, body, await today(request, session))
        return 200, view(row)

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/care-management/months/{month}/close",
    tags=["care management"],
    summary="Close a care-management month on the business clock",
    responses={409: {"description": "The month is not over on the business clock"}},
)
async def close_month(request: Request, month: MonthPath, principal: Biller) -> JSONResponse:
    """Close every open patient-month of a month that is over: charge, hold, or record no charge."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        first = date.fromisoformat(f"{month}-01")
        business_date = await repository.business_date(session)
        if business_date is None:
            raise Problem(409, "Month not over", "no encounter has reached coding yet: the business date is unknown")
        if not monthly.month_closed_by(first, business_date):
            raise Problem(
                409,
                "Month not over",
                f"{month} is not over on the business clock (business date {business_date.isoformat()})",
            )
        context = EventContext(principal.organization_id, business_date, f"month-close-{month}")
        closed = await months.close_month(session, context, first)
        return 200, [_month_view(values) for values in closed]

    return await respond_idempotently(request, principal, use_case)


@router.get(
    "/care-management/months/{month}",
    tags=["care management"],
    summary="Outcomes of a month, by patient, a page at a time",
    responses=links(
        200,
        CloseMonth=link(
            "POST",
            "/v1/care-management/months/{month}/close",
            description="Close the month",
            parameters={"path.month": "$request.path.month"},
        ),
    ),
)
async def month_outcomes(
    request: Request,
    month: MonthPath,
    principal: Reader,
    filters: Annotated[lists.MonthFilters, Depends()],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MonthOutcomeView]:
    """Closed patient-months (charged, held, no charge with the reason) and open ones with their minutes so far,
    by patient, a page at a time."""
    first = date.fromisoformat(f"{month}-01")
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        await filters.refuse_unknown(session, principal)
        rows, next_cursor = await lists.month_page(session, first, filters, principal, cursor=cursor, limit=limit)
    return Page(items=[_month_view({**row._mapping, "month": first}) for row in rows], next_cursor=next_cursor)


def _month_view(values: dict[str, Any]) -> MonthOutcomeView:
    """The API view of a month record."""
    return MonthOutcomeView(
        patient_id=values["patient_id"],
        month=monthly.month_label(values["month"]),
        status=values["status"],
        charge_id=values.get("charge_id"),
        reason=values.get("reason"),
        collaborative_minutes=values.get("collaborative_minutes") or 0,
        bhi_minutes=values.get("bhi_minutes") or 0,
        closed_date=values.get("closed_date"),
    )


async def respond_idempotently(request: Request, principal: Principal, use_case: UseCase) -> JSONResponse:
    """Run a POST once per Idempotency-Key: the same key and body replay the stored answer."""
    return await idempotency.respond_idempotently(request, principal.organization_id, use_case, idempotency_keys)
