"""Coding HTTP endpoints: read charges and holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from coding.models import charges
from coding.schemas import ChargeView
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["charges"])
Reader = Annotated[Principal, Depends(require_scope("read"))]


@router.get(
    "/charges/{charge_id}",
    summary="One charge with its lines and hold reasons",
    responses={404: {"description": "No such charge in this organization"}},
)
async def get_charge(request: Request, charge_id: str, principal: Reader) -> ChargeView:
    """A charge of the caller's organization."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        row = (await session.execute(select(charges).where(charges.c.charge_id == charge_id))).first()
    if row is None or not principal.may_access_practice(row.practice_id):
        raise Problem(404, "Not Found", f"charge {charge_id} not found")
    return ChargeView.model_validate(row._mapping, from_attributes=False)


@router.get("/holds", summary="Charges held for coding review")
async def list_holds(request: Request, principal: Reader, limit: int = 100) -> list[ChargeView]:
    """Held charges of the caller's organization, oldest first."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        rows = (
            await session.execute(
                select(charges)
                .where(charges.c.status == "held")
                .order_by(charges.c.date_of_service)
                .limit(min(limit, 500))
            )
        ).all()
    return [ChargeView.model_validate(row._mapping) for row in rows if principal.may_access_practice(row.practice_id)]
