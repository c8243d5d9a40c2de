"""Every query of the coding service (the session is already scoped to one organization)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from coding.models import (
    business_clocks,
    care_management_minutes,
    care_management_months,
    charges,
    infra,
)
from coding.rulebook import FeeEntry
from shared.db import bound, bound_insert_for_each, prefixed
from shared.events.envelope import Envelope
from shared.outbox import OUTBOX_COLUMNS, outbox_row
from shared.replica import remembered

ACTIVE = ("created", "released", "held")


async def charges_of_encounter(session: AsyncSession, encounter_id: uuid.UUID) -> Sequence[Row[Any]]:
    """Every charge (revision) of an encounter, oldest first."""
    return (
        await session.execute(
            select(charges).where(charges.c.encounter_id == encounter_id).order_by(charges.c.revision)
        )
    ).all()


async def coded_before(session: AsyncSession, encounter_id: uuid.UUID) -> tuple[list[Row[Any]], bool]:
    """In one query: an encounter's charges (oldest first, as `charges_of_encounter`) and whether it counted
    care-management minutes."""
    rows = (await session.execute(_coded_before(), {"encounter_id": encounter_id})).all()
    return [row for row in rows if row.charge_id is not None], bool(rows[0].minutes_counted)


@functools.cache
def _coded_before() -> Select[Any]:
    """`coded_before`'s query, built once (every encounter asks)."""
    encounter_id = bound(charges, "", ("encounter_id",))["encounter_id"]
    counted = (
        select(care_management_minutes.c.encounter_id)
        .where(care_management_minutes.c.encounter_id == encounter_id)
        .exists()
        .label("minutes_counted")
    )
    flag = select(counted).subquery("flag")
    return (
        select(flag.c.minutes_counted, charges)
        .select_from(flag.outerjoin(charges, charges.c.encounter_id == encounter_id))
        .order_by(charges.c.revision)
    )


async def charge(session: AsyncSession, charge_id: str, *, for_update: bool = False) -> Row[Any] | None:
    """One charge of the organization."""
    query = select(charges).where(charges.c.charge_id == charge_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def patient_history(
    session: AsyncSession, patient_id: uuid.UUID, *, since: date, exclude_encounter: uuid.UUID | None
) -> Sequence[Row[Any]]:
    """Active charges of a patient with a date of service from `since` (for pairs, units and the 3-year rule)."""
    values: dict[str, Any] = {"patient_id": patient_id, "date_of_service": since}
    if exclude_encounter is not None:
        values["encounter_id"] = exclude_encounter
    query = _patient_history(exclude_encounter is not None)
    rows: Sequence[Row[Any]] = (await session.execute(query, prefixed("history_", values))).all()
    return rows


@functools.cache
def _patient_history(excluding_encounter: bool) -> Select[tuple[Any, ...]]:
    """`patient_history`'s query, built once per shape (every encounter asks)."""
    given = bound(charges, "history_", ("patient_id", "date_of_service", "encounter_id"))
    query = select(charges).where(
        charges.c.patient_id == given["patient_id"],
        charges.c.status.in_(ACTIVE),
        charges.c.date_of_service >= given["date_of_service"],
    )
    if excluding_encounter:
        query = query.where(charges.c.encounter_id.is_distinct_from(given["encounter_id"]))
    return query


async def insert_charge(session: AsyncSession, values: dict[str, Any], announced: tuple[str, Envelope]) -> bool:
    """Insert a charge once, and queue its event in the same statement; False (and no event) when the charge id
    already exists."""
    topic, event = announced
    parameters = prefixed("charge_", values) | prefixed("event_", outbox_row(topic, event))
    return await session.scalar(_insert_charge(tuple(values)), parameters) is not None


@functools.cache
def _insert_charge(columns: tuple[str, ...]) -> Select[tuple[str]]:
    """The charge and its event in one statement, built once for the columns a charge is stored with (every coded
    visit sends it): the event is written only with the charge."""
    stored = (
        pg_insert(charges)
        .values(bound(charges, "charge_", columns))
        .on_conflict_do_nothing()
        .returning(charges.c.charge_id)
        .cte("stored")
    )
    queued = bound_insert_for_each(infra.outbox, stored, "event_", OUTBOX_COLUMNS).cte("queued_event")
    return select(stored.c.charge_id).add_cte(queued)


async def update_charge(session: AsyncSession, charge_id: str, values: dict[str, Any]) -> None:
    """Change a stored charge."""
    await session.execute(
        update(charges).where(charges.c.charge_id == charge_id).values(**values, updated_at=func.now())
    )


async def practice_fees(session: AsyncSession, practice_id: uuid.UUID) -> tuple[FeeEntry, ...]:
    """The practice's fee schedule from the reference replica (read once per unit of work: a consumer's batch codes
    many visits of the same practices)."""
    return await remembered(session, ("practice_fees", practice_id), lambda: _practice_fees(session, practice_id))


async def _practice_fees(session: AsyncSession, practice_id: uuid.UUID) -> tuple[FeeEntry, ...]:
    table = infra.reference_entities
    rows = (
        await session.execute(
            select(table.c.attributes).where(
                table.c.entity_type == "fee_schedule_entry",
                table.c.deleted.is_(False),
                table.c.attributes["practice_id"].astext == str(practice_id),
            )
        )
    ).all()
    return tuple(
        FeeEntry(
            code=attributes["code"],
            modifier=attributes.get("modifier") or None,
            amount=Decimal(str(attributes["amount"])),
            effective_from=date.fromisoformat(attributes["effective_from"]),
            effective_to=date.fromisoformat(attributes["effective_to"]) if attributes.get("effective_to") else None,
            payer_id=attributes.get("payer_id") or None,
        )
        for (attributes,) in rows
    )


async def advance_clock(session: AsyncSession, organization_id: uuid.UUID, business_date: date) -> date:
    """Record a business date seen in an event; the organization's clock only moves forward."""
    statement = pg_insert(business_clocks).values(organization_id=organization_id, business_date=business_date)
    result = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=["organization_id"],
            set_={"business_date": func.greatest(business_clocks.c.business_date, statement.excluded.business_date)},
        ).returning(business_clocks.c.business_date)
    )
    return result if isinstance(result, date) else business_date


async def business_date(session: AsyncSession) -> date | None:
    """The latest business date coding has seen for the organization."""
    value = await session.scalar(select(business_clocks.c.business_date))
    return value if isinstance(value, date) else None


async def minutes_row(session: AsyncSession, encounter_id: uuid.UUID) -> Row[Any] | None:
    """The care-management minutes an encounter contributed."""
    return (
        await session.execute(
            select(care_management_minutes).where(care_management_minutes.c.encounter_id == encounter_id)
        )
    ).first()


async def upsert_minutes(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record (or replace) an encounter's care-management minutes."""
    statement = pg_insert(care_management_minutes).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "encounter_id"],
            set_={key: statement.excluded[key] for key in values if key not in ("organization_id", "encounter_id")},
        )
    )


async def cancel_minutes(session: AsyncSession, encounter_id: uuid.UUID) -> None:
    """Take an encounter's minutes out of its month."""
    await session.execute(
        update(care_management_minutes)
        .where(care_management_minutes.c.encounter_id == encounter_id)
        .values(cancelled=True)
    )


async def month_minutes(session: AsyncSession, patient_id: uuid.UUID, month: date) -> Sequence[Row[Any]]:
    """A patient's live care-management minutes of one month, latest date of service last."""
    return (
        await session.execute(
            select(care_management_minutes)
            .where(
                care_management_minutes.c.patient_id == patient_id,
                care_management_minutes.c.month == month,
                care_management_minutes.c.cancelled.is_(False),
            )
            .order_by(care_management_minutes.c.date_of_service, care_management_minutes.c.encounter_id)
        )
    ).all()


async def earlier_collaborative_months(session: AsyncSession, patient_id: uuid.UUID, month: date) -> list[date]:
    """Months before this one in which the patient had collaborative-care minutes."""
    rows = (
        await session.execute(
            select(care_management_minutes.c.month)
            .where(
                care_management_minutes.c.patient_id == patient_id,
                care_management_minutes.c.month < month,
                care_management_minutes.c.model == "collaborative_care",
                care_management_minutes.c.cancelled.is_(False),
            )
            .distinct()
        )
    ).all()
    return [row.month for row in rows]


async def month_charge(session: AsyncSession, patient_id: uuid.UUID, month: date) -> Row[Any] | None:
    """The latest charge of a patient-month (whatever its status), if it ever had one."""
    return (
        await session.execute(
            select(charges)
            .where(charges.c.patient_id == patient_id, charges.c.care_management_month == month)
            .order_by(charges.c.revision.desc())
            .limit(1)
        )
    ).first()


async def month_record(session: AsyncSession, patient_id: uuid.UUID, month: date) -> Row[Any] | None:
    """How a patient-month was closed, if it was."""
    return (
        await session.execute(
            select(care_management_months).where(
                care_management_months.c.patient_id == patient_id, care_management_months.c.month == month
            )
        )
    ).first()


async def save_month(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record a month's outcome (charged, held or no charge)."""
    statement = pg_insert(care_management_months).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "patient_id", "month"],
            set_={
                key: statement.excluded[key] for key in values if key not in ("organization_id", "patient_id", "month")
            },
        )
    )


async def months_due(session: AsyncSession, before: date, month: date | None = None) -> Sequence[Any]:
    """Patient-months with minutes that started before a date and were never closed (optionally one month)."""
    closed = care_management_months
    query = (
        select(care_management_minutes.c.patient_id, care_management_minutes.c.month)
        .outerjoin(
            closed,
            and_(
                closed.c.organization_id == care_management_minutes.c.organization_id,
                closed.c.patient_id == care_management_minutes.c.patient_id,
                closed.c.month == care_management_minutes.c.month,
            ),
        )
        .where(care_management_minutes.c.month < before, closed.c.patient_id.is_(None))
        .distinct()
    )
    if month is not None:
        query = query.where(care_management_minutes.c.month == month)
    return (await session.execute(query)).all()
