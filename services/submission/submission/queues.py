"""Work queues of submission: items with reasons and actions, the business-date sweeps that open them (no response,
timely-filing risk), authorization burn-down, and what remittance tells us (adjudication, correction requests)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, Update, case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalogue import CorrectionRequestedEvent, RemittancePostedEvent
from shared.events.charge import ChargeFacts
from shared.events.reference import PayerRef
from shared.replica import reference_entity
from submission import domain
from submission.models import authorization_usage, business_dates, claim_attempts, claims, infra, work_items

SCRUBBER_HOLD = "scrubber_hold"
QUEUE_ACTIONS = {
    SCRUBBER_HOLD: "correct the claim (fields and lines) and resubmit",
    "rejection": "fix what the clearinghouse or payer rejected and resubmit; the timely-filing clock keeps running",
    "no_response": "follow up with the payer (claim status inquiry), then resubmit or correct the claim",
    "correction": "send a corrected claim (frequency 7) with the payer's claim number, or void it (frequency 8)",
    "reauthorization": "request a re-authorization from the payer before the authorization runs out",
    "timely_filing_risk": "escalate: the payer's filing window is more than 80% used and the claim is not paid",
    "repeat_rejection": "supervisor review: the claim was rejected twice for the same reason",
}
QueueName = str
# Queues a corrected and resubmitted claim leaves.
RESOLVED_BY_RESUBMISSION = (SCRUBBER_HOLD, "rejection", "no_response", "correction", "repeat_rejection")
# Claim statuses that wait for the payer: accepted by the clearinghouse, no 835 yet.
AWAITING_PAYER = ("sent",)


async def note_business_date(session: AsyncSession, organization_id: uuid.UUID, business_date: date) -> None:
    """Move the organization's business clock as submission sees it forward to an event's business date; each new
    business date runs the sweep, so follow-ups open on the business clock, not when a consumer happened to run.

    Within one unit of work (a consumer's batch) the clock row stays locked, so a date already noted is not read
    again."""
    noted: dict[uuid.UUID, date] = session.info.setdefault("submission.noted-business-dates", {})
    if organization_id in noted and noted[organization_id] >= business_date:
        return
    previous: date | None = await session.scalar(select(business_dates.c.business_date).with_for_update())
    noted[organization_id] = max(business_date, previous or business_date)
    if previous is not None and previous >= business_date:
        return
    statement = pg_insert(business_dates).values(organization_id=organization_id, business_date=business_date)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id"],
            set_={"business_date": func.greatest(business_dates.c.business_date, statement.excluded.business_date)},
        )
    )
    if previous is not None:
        await sweep(session, organization_id=organization_id, as_of=business_date)


async def business_date(session: AsyncSession, fallback: date) -> date:
    """The session organization's latest business date (the fallback when no event has carried one yet)."""
    stored: date | None = await session.scalar(select(business_dates.c.business_date))
    return stored or fallback


async def open_work_item(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    queue: QueueName,
    reason_code: str,
    reason: str,
    opened_date: date,
    source_event_id: str | None = None,
) -> bool:
    """Put a claim in a work queue with its reason and action (once while it is open); True when newly opened."""
    inserted = await session.scalar(
        pg_insert(work_items)
        .values(
            organization_id=organization_id,
            claim_id=claim_id,
            queue=queue,
            reason_code=reason_code,
            reason=reason,
            action=QUEUE_ACTIONS[queue],
            opened_date=opened_date,
            source_event_id=source_event_id,
        )
        .on_conflict_do_nothing(
            index_elements=["claim_id", "queue", "reason_code"], index_where=text("status = 'open'")
        )
        .returning(work_items.c.id)
    )
    return inserted is not None


async def resolve_work_items(
    session: AsyncSession, *, claim_id: str, queues: tuple[str, ...], resolved_date: date, resolution: str
) -> None:
    """Close a claim's open items in some queues."""
    await session.execute(
        resolve_work_items_statement(
            claim_ids=[claim_id], queues=queues, resolved_date=resolved_date, resolution=resolution
        )
    )


def resolve_work_items_statement(
    *, claim_ids: Select[Any] | list[str], queues: tuple[str, ...], resolved_date: date, resolution: str
) -> Update:
    """The statement closing the open items of some claims (ids, or a query of them) in some queues."""
    return (
        update(work_items)
        .where(work_items.c.claim_id.in_(claim_ids), work_items.c.queue.in_(queues), work_items.c.status == "open")
        .values(status="resolved", resolved_date=resolved_date, resolution=resolution)
        .returning(work_items.c.claim_id)
    )


async def check_authorization_burn_down(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    claim_id: str,
    charge: ChargeFacts,
    as_of: date,
    consumed: int | None = None,
) -> None:
    """Open a re-authorization task when a claim leaves its authorization ≥ 80% used or ≤ 14 days from its end.

    `consumed`: the units its claims use now, this one's included, when the caller knows them (else they are read)."""
    auth = charge.authorization
    if auth is None:
        return
    if consumed is None:
        consumed = await session.scalar(
            select(func.coalesce(func.sum(authorization_usage.c.units), 0)).where(
                authorization_usage.c.authorization_id == auth.authorization_id,
                authorization_usage.c.released_date.is_(None),
            )
        )
    used = auth.units_used + int(consumed or 0)
    why = domain.authorization_burning_down(
        units_approved=auth.units_approved, units_used=used, end_date=auth.end_date, as_of=as_of
    )
    if why is None:
        return
    reason_code = f"AUTH-{auth.authorization_id}"
    already = await session.scalar(
        select(func.count()).where(
            work_items.c.queue == "reauthorization",
            work_items.c.reason_code == reason_code,
            work_items.c.status == "open",
        )
    )
    if already:
        return
    await open_work_item(
        session,
        organization_id=organization_id,
        claim_id=claim_id,
        queue="reauthorization",
        reason_code=reason_code,
        reason=f"authorization {auth.number}: {why}",
        opened_date=as_of,
    )


async def sweep(session: AsyncSession, *, organization_id: uuid.UUID, as_of: date) -> dict[str, int]:
    """Open no-response and timely-filing-risk items due on a business date; returns how many were opened."""
    opened = {"no_response": 0, "timely_filing_risk": 0}
    last_submitted = (
        select(claim_attempts.c.claim_id, func.max(claim_attempts.c.submitted_date).label("submitted_date"))
        .where(claim_attempts.c.submitted_date.is_not(None))
        .group_by(claim_attempts.c.claim_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                claims.c.claim_id,
                claims.c.payer_id,
                claims.c.status,
                claims.c.date_of_service,
                last_submitted.c.submitted_date,
            )
            .outerjoin(last_submitted, last_submitted.c.claim_id == claims.c.claim_id)
            .where(claims.c.adjudicated_date.is_(None), claims.c.status.not_in(("voided",)))
        )
    ).all()
    payers: dict[uuid.UUID, PayerRef | None] = {}
    for row in rows:
        if row.payer_id not in payers:
            attributes = await reference_entity(session, infra, "payer", str(row.payer_id))
            payers[row.payer_id] = domain.payer_from_replica(attributes)
        profile = domain.profile_in_force(payers[row.payer_id], row.date_of_service)
        follow_up = profile.no_response_follow_up_days if profile else domain.DEFAULT_NO_RESPONSE_DAYS
        if (
            row.status in AWAITING_PAYER
            and row.submitted_date is not None
            and domain.no_response_due(row.submitted_date, follow_up, as_of)
        ):
            days = (as_of - row.submitted_date).days
            opened["no_response"] += await open_work_item(
                session,
                organization_id=organization_id,
                claim_id=row.claim_id,
                queue="no_response",
                reason_code="NO-835",
                reason=f"no remittance {days} days after submission on {row.submitted_date.isoformat()}; this "
                f"payer's follow-up is {follow_up} days",
                opened_date=as_of,
            )
        window = domain.timely_filing_days(profile)
        if domain.timely_filing_at_risk(row.date_of_service, window, as_of):
            age = (as_of - row.date_of_service).days
            opened["timely_filing_risk"] += await open_work_item(
                session,
                organization_id=organization_id,
                claim_id=row.claim_id,
                queue="timely_filing_risk",
                reason_code="TIMELY-FILING-80",
                reason=f"the claim is {row.status} and unpaid {age} days after the visit; this payer's filing "
                f"window is {window} days",
                opened_date=as_of,
            )
    return opened


async def record_adjudication(
    session: AsyncSession, event: RemittancePostedEvent, *, open_reason_codes: tuple[str, ...]
) -> set[str]:
    """Learn that the payer adjudicated a claim: its payer claim number (for REF*F8) and adjudication date, and close
    its no-response and timely-filing items. Returns which of `open_reason_codes` the claim has open work items for:
    one statement in all (nothing changes for a claim this service does not know)."""
    posted = event.data
    await note_business_date(session, event.organizationid, event.businessdate)
    voided = claims.c.status == "voided"
    adjudicated = (
        update(claims)
        .where(claims.c.claim_id == posted.claim_id)
        .values(
            updated_at=func.now(),
            payer_claim_number=func.coalesce(posted.payer_claim_number or None, claims.c.payer_claim_number),
            adjudicated_date=func.least(claims.c.adjudicated_date, posted.payment_date),
            status=case((voided, claims.c.status), else_="adjudicated"),
            status_reason=case((voided, claims.c.status_reason), else_=None),
        )
        .returning(claims.c.claim_id)
        .cte("adjudicated")
    )
    resolved = resolve_work_items_statement(
        claim_ids=select(adjudicated.c.claim_id),
        queues=("no_response", "timely_filing_risk"),
        resolved_date=posted.payment_date,
        resolution="adjudicated by the payer",
    ).cte("resolved")
    # The count reads the work items as they were before this statement: the items it resolves are in other queues.
    still_open = await session.scalars(
        select(work_items.c.reason_code)
        .where(
            work_items.c.claim_id.in_(select(adjudicated.c.claim_id)),
            work_items.c.reason_code.in_(open_reason_codes),
            work_items.c.status == "open",
        )
        .add_cte(adjudicated, resolved)
    )
    return set(still_open)


async def on_correction_requested(session: AsyncSession, event: CorrectionRequestedEvent) -> None:
    """Open a correction in the queue when remittance asks for a corrected claim after a denial."""
    request = event.data
    await note_business_date(session, event.organizationid, event.businessdate)
    exists = await session.scalar(select(claims.c.claim_id).where(claims.c.claim_id == request.claim_id))
    if exists is None:
        return
    note = f": {request.note}" if request.note else ""
    await open_work_item(
        session,
        organization_id=event.organizationid,
        claim_id=request.claim_id,
        queue="correction",
        reason_code=f"DENIAL-{request.root_cause}",
        reason=f"denied ({request.root_cause.replace('_', ' ')}); the payer needs a corrected claim{note}",
        opened_date=request.requested_date,
        source_event_id=event.id,
    )
