"""The denial work queue: filter, assign, note, appeal, resolve, request a corrected claim (events in the same unit)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import denial_rules
from remittance.accounts import balance_of, locked_claim, write_off_balance
from remittance.domain import cents
from remittance.ledger import Bucket
from remittance.models import denial_notes, denials, escalations, infra
from shared.events.catalogue import build_event
from shared.events.envelope import Payload
from shared.events.remittance import CorrectionRequested, DenialAppealed, DenialResolved
from shared.outbox import add_event
from shared.problems import Problem
from shared.replica import reference_entity


@dataclass(frozen=True)
class DenialFilter:
    """What a biller narrows the denial queue by; ages are days from the payment date to the business date."""

    status: str | None = "open"
    root_cause: str | None = None
    payer_id: uuid.UUID | None = None
    practice_id: uuid.UUID | None = None
    queue: str | None = None
    assigned_to: uuid.UUID | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None


def denial_query(criteria: DenialFilter, today: date) -> Select[Any]:
    """The queue query's filters (the caller orders and pages it)."""
    query = select(denials)
    if criteria.status == "open":
        query = query.where(denials.c.status.in_(denial_rules.OPEN_STATUSES))
    elif criteria.status:
        query = query.where(denials.c.status == criteria.status)
    equal = {
        "root_cause": criteria.root_cause,
        "payer_id": criteria.payer_id,
        "practice_id": criteria.practice_id,
        "queue": criteria.queue,
        "assigned_to": criteria.assigned_to,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(denials.c[column] == value)
    if criteria.min_age_days is not None:
        query = query.where(denials.c.payment_date <= today - timedelta(days=criteria.min_age_days))
    if criteria.max_age_days is not None:
        query = query.where(denials.c.payment_date >= today - timedelta(days=criteria.max_age_days))
    if criteria.min_amount is not None:
        query = query.where(denials.c.denied_amount >= criteria.min_amount)
    if criteria.max_amount is not None:
        query = query.where(denials.c.denied_amount <= criteria.max_amount)
    return query


async def denial_detail(session: AsyncSession, denial_id: uuid.UUID) -> dict[str, Any]:
    """A denial with its notes and escalations; 404 when it is not the caller's."""
    row = (await session.execute(select(denials).where(denials.c.denial_id == denial_id))).first()
    if row is None:
        raise Problem(404, "Not Found", f"denial {denial_id} not found")
    notes = (
        await session.execute(
            select(denial_notes).where(denial_notes.c.denial_id == denial_id).order_by(denial_notes.c.created_at)
        )
    ).all()
    fired = (
        await session.execute(
            select(escalations).where(escalations.c.denial_id == denial_id).order_by(escalations.c.created_at)
        )
    ).all()
    return {
        **row._mapping,
        "notes": [dict(n._mapping) for n in notes],
        "escalations": [dict(e._mapping) for e in fired],
    }


async def _open_denial(session: AsyncSession, denial_id: uuid.UUID, action: str) -> Row[Any]:
    """The denial, locked; 404 when unknown, 409 when its status does not allow the action."""
    row = (await session.execute(select(denials).where(denials.c.denial_id == denial_id).with_for_update())).first()
    if row is None:
        raise Problem(404, "Not Found", f"denial {denial_id} not found")
    refusal = denial_rules.action_refusal(row.status, action)
    if refusal is not None:
        raise Problem(409, "Conflict", refusal, problem_type="urn:claimflow:problem:denial-state")
    return row


async def _emit(
    session: AsyncSession,
    event_type: str,
    payload: Payload,
    *,
    organization_id: uuid.UUID,
    denial: Row[Any],
    business_date: date,
    causation_id: str,
) -> None:
    claim = await locked_claim(session, denial.claim_id)
    topic, event = build_event(
        event_type,
        payload,
        source="remittance",
        subject=denial.claim_id,
        organization_id=organization_id,
        business_date=business_date,
        correlation_id=claim.correlation_id,
        causation_id=causation_id,
        practice_id=denial.practice_id,
    )
    await add_event(session, infra, topic, event)


async def add_note(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    denial_id: uuid.UUID,
    text: str,
    key_id: str,
    user_id: uuid.UUID | None,
) -> None:
    """Append a note to a denial (notes are kept after it is resolved too)."""
    if (await session.scalar(select(denials.c.denial_id).where(denials.c.denial_id == denial_id))) is None:
        raise Problem(404, "Not Found", f"denial {denial_id} not found")
    await session.execute(
        pg_insert(denial_notes).values(
            note_id=uuid.uuid4(),
            organization_id=organization_id,
            denial_id=denial_id,
            author_key_id=key_id,
            author_user_id=user_id,
            text=text,
        )
    )


async def assign(session: AsyncSession, *, denial_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Give the denial to an active user of the organization."""
    await _open_denial(session, denial_id, "assigned")
    user = await reference_entity(session, infra, "user", str(user_id))
    if user is None or not user.get("active", True):
        reason = "is not an active user of this organization"
        raise Problem(
            422,
            "Unknown user",
            f"user_id {user_id} {reason}",
            errors=[{"field": "user_id", "pointer": "/user_id", "reason": reason}],
        )
    await session.execute(
        update(denials).where(denials.c.denial_id == denial_id).values(assigned_to=user_id, assigned_at=func.now())
    )


def _date_not_before_payment(denial: Row[Any], value: date, field: str) -> None:
    if value < denial.payment_date:
        reason = f"is before the denial's payment date {denial.payment_date.isoformat()}"
        raise Problem(
            422,
            "Request is invalid",
            f"{field}: {reason}",
            errors=[{"field": field, "pointer": f"/{field}", "reason": reason}],
        )


async def appeal(
    session: AsyncSession, *, organization_id: uuid.UUID, denial_id: uuid.UUID, appealed_date: date, causation_id: str
) -> None:
    """Mark the denial appealed on a date and queue denial.appealed."""
    denial = await _open_denial(session, denial_id, "appealed")
    _date_not_before_payment(denial, appealed_date, "appealed_date")
    await session.execute(
        update(denials).where(denials.c.denial_id == denial_id).values(status="appealed", appealed_date=appealed_date)
    )
    payload = DenialAppealed(
        denial_id=denial_id,
        claim_id=denial.claim_id,
        appealed_date=appealed_date,
        root_cause=denial.root_cause,
        denied_amount=denial.denied_amount,
    )
    await _emit(
        session,
        "denial.appealed",
        payload,
        organization_id=organization_id,
        denial=denial,
        business_date=appealed_date,
        causation_id=causation_id,
    )


async def resolve(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    denial_id: uuid.UUID,
    outcome: denial_rules.Outcome,
    recovered_amount: Decimal,
    written_off_amount: Decimal,
    resolved_date: date,
    causation_id: str,
    note: str | None = None,
    amount_field: str = "written_off_amount",
) -> dict[str, Any]:
    """Close a denial (overturned, upheld, written off, corrected); a write-off takes the amount off its balance."""
    recovered_amount, written_off_amount = cents(recovered_amount), cents(written_off_amount)
    denial = await _open_denial(session, denial_id, "resolved")
    _date_not_before_payment(denial, resolved_date, "resolved_date")
    claim = await locked_claim(session, denial.claim_id)
    bucket: Bucket = "patient" if denial.patient_billable else "payer"
    open_in_bucket = (await balance_of(session, claim)).open_in(bucket)
    errors = denial_rules.resolution_errors(
        outcome, denial.denied_amount, recovered_amount, written_off_amount, open_in_bucket
    )
    if errors:
        fields = [
            {"field": amount_field if f == "written_off_amount" else f, "pointer": f"/{f}", "reason": r}
            for f, r in errors
        ]
        raise Problem(
            422,
            "Resolution does not fit the denial",
            "; ".join(f"{e['field']}: {e['reason']}" for e in fields),
            errors=fields,
        )
    write_off: dict[str, Any] | None = None
    if outcome == "written_off":
        write_off = await write_off_balance(
            session,
            organization_id=organization_id,
            claim=claim,
            bucket=bucket,
            reason="denial",
            amount=written_off_amount,
            written_off_date=resolved_date,
            causation_id=causation_id,
            denial_id=denial_id,
            note=note,
            field=amount_field,
        )
    await session.execute(
        update(denials)
        .where(denials.c.denial_id == denial_id)
        .values(
            status="resolved",
            outcome=outcome,
            resolved_date=resolved_date,
            recovered_amount=recovered_amount,
            written_off_amount=written_off_amount,
        )
    )
    payload = DenialResolved(
        denial_id=denial_id,
        claim_id=denial.claim_id,
        outcome=outcome,
        recovered_amount=recovered_amount,
        written_off_amount=written_off_amount,
        resolved_date=resolved_date,
        root_cause=denial.root_cause,
        denied_amount=denial.denied_amount,
    )
    await _emit(
        session,
        "denial.resolved",
        payload,
        organization_id=organization_id,
        denial=denial,
        business_date=resolved_date,
        causation_id=causation_id,
    )
    return {"denial_id": denial_id, "outcome": outcome, "write_off": write_off}


async def request_correction(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    denial_id: uuid.UUID,
    note: str | None,
    requested_date: date,
    causation_id: str,
) -> None:
    """Ask submission for a corrected claim (once per denial) by queuing correction.requested."""
    denial = await _open_denial(session, denial_id, "sent for correction")
    if denial.correction_requested_date is not None:
        raise Problem(
            409,
            "Conflict",
            f"a corrected claim was already requested on {denial.correction_requested_date.isoformat()}",
            problem_type="urn:claimflow:problem:denial-state",
        )
    _date_not_before_payment(denial, requested_date, "requested_date")
    await session.execute(
        update(denials).where(denials.c.denial_id == denial_id).values(correction_requested_date=requested_date)
    )
    payload = CorrectionRequested(
        denial_id=denial_id,
        claim_id=denial.claim_id,
        root_cause=denial.root_cause,
        note=note,
        requested_date=requested_date,
    )
    await _emit(
        session,
        "correction.requested",
        payload,
        organization_id=organization_id,
        denial=denial,
        business_date=requested_date,
        causation_id=causation_id,
    )
