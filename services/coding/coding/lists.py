"""Coding's collections: charges, holds (review samples among them) and a month's care-management outcomes, each
with its filters, its stable order and its pages (`shared.paging`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query
from sqlalchemy import ColumnElement, and_, func, literal, null, select, true, union_all
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from coding.models import care_management_minutes, care_management_months, charges, infra
from shared.auth import Principal
from shared.dates import CalendarDate
from shared.paging import Order, practices_of, within
from shared.replica import refuse_unknown_references

DateOfService = Annotated[
    CalendarDate | None, Query(description="Dates of service from (or to) this day, inclusive (YYYY-MM-DD)")
]
ChargeStatus = Literal["created", "held", "released", "rejected", "voided"]
MonthStatus = Literal["open", "charged", "held", "no_charge"]

CHARGES = Order("charges", ((charges.c.date_of_service, False), (charges.c.charge_id, False)))
HOLDS = Order("holds", ((charges.c.date_of_service, False), (charges.c.charge_id, False)))


@dataclass
class ChargeFilters:
    """What a list of charges can be narrowed to (every filter given must hold)."""

    practice_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    encounter_id: uuid.UUID | None = None
    program: Annotated[str | None, Query(max_length=40, examples=["collaborative_care"])] = None
    review_sampled: Annotated[
        bool | None, Query(description="true: only charges sampled for review of a new clinician")
    ] = None
    date_of_service_from: DateOfService = None
    date_of_service_to: DateOfService = None

    async def refuse_unknown(self, session: AsyncSession, principal: Principal) -> None:
        """422 for a practice or provider id that is not one of the caller's organization (as intake says)."""
        await refuse_unknown_references(
            session,
            infra,
            principal.practice_ids,
            practice_id=("practice", self.practice_id),
            provider_id=("provider", self.provider_id),
        )

    def conditions(self, principal: Principal) -> list[ColumnElement[bool]]:
        """The WHERE conditions of these filters, the caller's practices included; 422 for an empty date range."""
        equal = {
            charges.c.practice_id: self.practice_id,
            charges.c.patient_id: self.patient_id,
            charges.c.provider_id: self.provider_id,
            charges.c.encounter_id: self.encounter_id,
            charges.c.program: self.program,
            charges.c.review_sampled: self.review_sampled,
        }
        conditions = [column == value for column, value in equal.items() if value is not None]
        dates = within(
            charges.c.date_of_service,
            self.date_of_service_from,
            self.date_of_service_to,
            fields=("date_of_service_from", "date_of_service_to"),
        )
        return conditions + dates + practices_of(charges.c.practice_id, principal)


async def charge_page(
    session: AsyncSession,
    order: Order,
    conditions: list[ColumnElement[bool]],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Any], str | None]:
    """One page of charges matching the conditions, in the collection's order."""
    query = order.apply(select(charges).where(and_(true(), *conditions)), cursor=cursor, limit=limit)
    return order.page((await session.execute(query)).all(), limit)


def month_outcomes(month: date) -> Any:
    """Every patient of a month as one row: the closed record, or (still open) the minutes counted so far."""
    closed = care_management_months
    minutes = care_management_minutes
    recorded = select(
        closed.c.patient_id,
        closed.c.practice_id,
        closed.c.status,
        closed.c.charge_id,
        closed.c.reason,
        closed.c.collaborative_minutes,
        closed.c.bhi_minutes,
        closed.c.closed_date,
    ).where(closed.c.month == month)
    counted = (
        select(
            minutes.c.patient_id,
            # The practice of the month's latest visit, as the close takes it.
            func.array_agg(aggregate_order_by(minutes.c.practice_id, minutes.c.date_of_service.desc()))[1].label(
                "practice_id"
            ),
            literal("open").label("status"),
            null().label("charge_id"),
            null().label("reason"),
            func.sum(minutes.c.minutes).filter(minutes.c.model == "collaborative_care").label("collaborative_minutes"),
            func.sum(minutes.c.minutes).filter(minutes.c.model == "general_bhi").label("bhi_minutes"),
            null().label("closed_date"),
        )
        .where(
            minutes.c.month == month,
            minutes.c.cancelled.is_(False),
            ~select(closed.c.patient_id)
            .where(closed.c.patient_id == minutes.c.patient_id, closed.c.month == month)
            .exists(),
        )
        .group_by(minutes.c.patient_id)
    )
    return union_all(recorded, counted).subquery("outcomes")


@dataclass
class MonthFilters:
    """What a month's outcomes can be narrowed to."""

    status: MonthStatus | None = None
    practice_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None

    async def refuse_unknown(self, session: AsyncSession, principal: Principal) -> None:
        """422 for a practice id that is not one of the caller's organization (as intake says)."""
        await refuse_unknown_references(
            session, infra, principal.practice_ids, practice_id=("practice", self.practice_id)
        )


async def month_page(
    session: AsyncSession,
    month: date,
    filters: MonthFilters,
    principal: Principal,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Any], str | None]:
    """One page of a month's outcomes, by patient."""
    outcomes = month_outcomes(month)
    order = Order("care-management-month", ((outcomes.c.patient_id, False),))
    equal = {outcomes.c.status: filters.status, outcomes.c.practice_id: filters.practice_id}
    equal[outcomes.c.patient_id] = filters.patient_id
    conditions = [column == value for column, value in equal.items() if value is not None]
    query = select(outcomes).where(and_(true(), *conditions, *practices_of(outcomes.c.practice_id, principal)))
    rows = (await session.execute(order.apply(query, cursor=cursor, limit=limit))).all()
    return order.page(rows, limit)
