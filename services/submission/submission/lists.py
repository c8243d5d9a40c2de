"""Submission's collections: claims and work-queue items, each with its filters and its stable order, paged by
cursor (`shared.paging`): `limit` (default 50, at most 200), `cursor` = the previous page's `next_cursor`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.dates import CalendarDate
from shared.paging import Order, practices_of, within
from shared.replica import refuse_unknown_references
from submission.models import claims, infra, work_items

DateOfService = Annotated[
    CalendarDate | None, Query(description="Dates of service from (or to) this day, inclusive (YYYY-MM-DD)")
]
Opened = Annotated[
    CalendarDate | None, Query(description="Items opened from (or to) this business day, inclusive (YYYY-MM-DD)")
]

# Oldest first: the order a biller works a queue in; the last column is unique, so pages never overlap.
CLAIMS = Order("claims", ((claims.c.created_date, False), (claims.c.claim_id, False)))
WORK_ITEMS = Order("work_items", ((work_items.c.opened_date, False), (work_items.c.id, False)))


@dataclass
class ClaimFilters:
    """What a list of claims (or of work items, by their claim) can be narrowed to: every filter given must hold."""

    practice_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    charge_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None
    date_of_service_from: DateOfService = None
    date_of_service_to: DateOfService = None

    async def refuse_unknown(self, session: AsyncSession, principal: Principal) -> None:
        """422 for a practice, payer or provider id that is not one of the caller's organization (as intake says)."""
        await refuse_unknown_references(
            session,
            infra,
            principal.practice_ids,
            practice_id=("practice", self.practice_id),
            payer_id=("payer", self.payer_id),
            provider_id=("provider", self.provider_id),
        )

    def conditions(self, principal: Principal) -> list[ColumnElement[bool]]:
        """The WHERE conditions of these filters on the claims table, the caller's practices included; 422 for an
        empty date range."""
        equal = {
            claims.c.practice_id: self.practice_id,
            claims.c.payer_id: self.payer_id,
            claims.c.provider_id: self.provider_id,
            claims.c.patient_id: self.patient_id,
            claims.c.charge_id: self.charge_id,
        }
        conditions = [column == value for column, value in equal.items() if value is not None]
        dates = within(
            claims.c.date_of_service,
            self.date_of_service_from,
            self.date_of_service_to,
            fields=("date_of_service_from", "date_of_service_to"),
        )
        return conditions + dates + practices_of(claims.c.practice_id, principal)


@dataclass
class OpenedFilters:
    """The business days a work item was opened on."""

    opened_from: Opened = None
    opened_to: Opened = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions on the work items; 422 for an empty range."""
        return within(work_items.c.opened_date, self.opened_from, self.opened_to, fields=("opened_from", "opened_to"))
