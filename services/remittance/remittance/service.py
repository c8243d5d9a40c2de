"""Remittance use cases: post a read 835 file; learn submitted claims and post what waited for them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, bindparam, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from remittance.balancing import check_remittance
from remittance.domain import cents
from remittance.era import ClaimPayment, PaymentTransaction, Remittance835
from remittance.matching import ClaimMatch, lock_claim_id, lock_claim_ids, match_claim, waits_for
from remittance.models import claims, infra, payments, provider_adjustments, remittance_files, unmatched_remittances
from remittance.posting import PaymentContext, post_claim, posted_before_of
from shared.db import bound, prefixed
from shared.events.catalogue import ClaimSubmittedEvent, build_event
from shared.events.envelope import Envelope
from shared.events.remittance import ProviderAdjustmentPosted
from shared.outbox import add_event


class DuplicatePayment(Exception):
    """A payment (payer + trace) posted concurrently by another request."""


def file_facts(file_id: uuid.UUID, remittance: Remittance835) -> dict[str, Any]:
    """What a file says before anything is posted: its payments and what the reader had to tolerate."""
    return {
        "file_id": str(file_id),
        "payments": [
            {
                "trace_number": t.trace_number,
                "payer": t.payer_name,
                "payer_key": t.payer_key,
                "payment_amount": str(t.payment_amount),
                "payment_method": t.payment_method,
                "payment_date": t.payment_date.isoformat(),
                "provider_adjustments": [
                    {"reason_code": p.reason_code, "reference": p.reference, "amount": str(p.amount)}
                    for p in t.provider_adjustments
                ],
            }
            for t in remittance.transactions
        ],
        "warnings": list(remittance.warnings),
    }


async def record_payments(
    session: AsyncSession, organization_id: uuid.UUID, file_id: uuid.UUID, remittance: Remittance835, *, status: str
) -> None:
    """The payments of a file that posts nothing (held or duplicate), in one statement: listed, never guarding."""
    await session.execute(
        pg_insert(payments),
        [
            {**_payment_values(organization_id, file_id, transaction), "payment_id": uuid.uuid4(), "status": status}
            for transaction in remittance.transactions
        ],
    )


def _payment_values(organization_id: uuid.UUID, file_id: uuid.UUID, transaction: PaymentTransaction) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "file_id": file_id,
        "payer_key": transaction.payer_key,
        "payer_identifier": transaction.payer_identifier,
        "trace_number": transaction.trace_number,
        "payer_name": transaction.payer_name,
        "payment_amount": transaction.payment_amount,
        "payment_method": transaction.payment_method,
        "payment_date": transaction.payment_date,
    }


async def post_file(
    session: AsyncSession, organization_id: uuid.UUID, file_id: uuid.UUID, remittance: Remittance835
) -> dict[str, Any]:
    """Post every CLP of a read file (its payments first); held files with the same payments are superseded."""
    posted: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    # Every CLP's claim lock, up front and in one order (see lock_claim_ids): matching each CLP then asks for none.
    await lock_claim_ids(session, [claim.claim_id for t in remittance.transactions for claim in t.claims])
    for transaction in remittance.transactions:
        payment = await _record_payment(session, organization_id, file_id, transaction)
        for claim in transaction.claims:
            match = await match_claim(session, claim)
            if match.claim is None:
                await _queue_unmatched(session, organization_id, payment, claim, match)
                unmatched.append({"claim_id": claim.claim_id, "reason": match.reason, "detail": match.detail})
                continue
            result = await post_claim(
                session,
                organization_id=organization_id,
                known=match.claim,
                claim=claim,
                payment=payment,
                causation_id=str(file_id),
                posted_before=match.posted_before,
            )
            if result is not None:
                posted.append(result.as_json())
        for unreadable in transaction.unreadable_claims:
            await session.execute(
                pg_insert(unmatched_remittances).values(
                    unmatched_id=uuid.uuid4(),
                    organization_id=organization_id,
                    file_id=file_id,
                    payment_id=payment.payment_id,
                    clp_position=unreadable.position,
                    claim_id=unreadable.claim_id,
                    payer_claim_number=unreadable.payer_claim_number,
                    reason="unreadable",
                    detail=unreadable.reason,
                    claim=None,
                    raw_segments=list(unreadable.raw_segments),
                    status="needs_review",
                )
            )
            unmatched.append({"claim_id": unreadable.claim_id, "reason": "unreadable", "detail": unreadable.reason})
    unclassified = sorted({code for p in posted for code in p["unclassified_codes"]})
    await _supersede_held(session, file_id, remittance)
    return {
        **file_facts(file_id, remittance),
        "claims_posted": posted,
        "unmatched": unmatched,
        "discrepancies": [d.as_json() for d in check_remittance(remittance)],
        "unclassified_codes": unclassified,
    }


async def _supersede_held(session: AsyncSession, file_id: uuid.UUID, remittance: Remittance835) -> None:
    """Held files carrying a payment this file posts are superseded by it: they can no longer be posted."""
    keys = [(t.payer_key, t.trace_number) for t in remittance.transactions]
    superseded = (
        await session.execute(
            update(payments)
            .where(
                payments.c.status == "held",
                payments.c.file_id != file_id,
                tuple_(payments.c.payer_key, payments.c.trace_number).in_(keys),
            )
            .values(status="superseded")
            .returning(payments.c.file_id)
        )
    ).scalars()
    held = sorted(set(superseded))
    if held:
        await session.execute(
            update(payments)
            .where(payments.c.file_id.in_(held), payments.c.status == "held")
            .values(status="superseded")
        )
        await session.execute(
            update(remittance_files)
            .where(remittance_files.c.file_id.in_(held), remittance_files.c.status == "held")
            .values(
                status="superseded",
                summary=remittance_files.c.summary.op("||")(func.jsonb_build_object("superseded_by", str(file_id))),
            )
        )


async def _record_payment(
    session: AsyncSession, organization_id: uuid.UUID, file_id: uuid.UUID, transaction: PaymentTransaction
) -> PaymentContext:
    """The payment row (unique per payer and trace) and its PLB adjustments with their events."""
    payment_id = uuid.uuid4()
    inserted = await session.scalar(
        pg_insert(payments)
        .values(payment_id=payment_id, status="posted", **_payment_values(organization_id, file_id, transaction))
        .on_conflict_do_nothing()
        .returning(payments.c.payment_id)
    )
    if inserted is None:
        raise DuplicatePayment(transaction.trace_number)
    for sequence, plb in enumerate(transaction.provider_adjustments, start=1):
        await session.execute(
            pg_insert(provider_adjustments).values(
                organization_id=organization_id,
                payment_id=payment_id,
                sequence=sequence,
                provider_identifier=plb.provider_identifier,
                reason_code=plb.reason_code,
                reference=plb.reference,
                amount=cents(plb.amount),
                fiscal_period_date=plb.fiscal_period_date,
                payment_date=transaction.payment_date,
            )
        )
        practice_id = await _practice_of(session, plb.provider_identifier)
        topic, event = build_event(
            "provider-adjustment.posted",
            ProviderAdjustmentPosted(
                remittance_id=file_id,
                provider_identifier=plb.provider_identifier,
                fiscal_period_date=plb.fiscal_period_date,
                reason_code=plb.reason_code,
                reference=plb.reference,
                amount=cents(plb.amount),
                payment_date=transaction.payment_date,
            ),
            source="remittance",
            subject=str(practice_id) if practice_id else plb.provider_identifier,
            organization_id=organization_id,
            business_date=transaction.payment_date,
            correlation_id=str(file_id),
            causation_id=str(file_id),
            practice_id=practice_id,
        )
        await add_event(session, infra, topic, event)
    return PaymentContext(file_id, payment_id, transaction.trace_number, transaction.payment_date)


async def _practice_of(session: AsyncSession, provider_identifier: str) -> uuid.UUID | None:
    """The replicated practice whose NPI or TIN is a PLB's provider identifier."""
    table = infra.reference_entities
    entity_id = await session.scalar(
        select(table.c.entity_id)
        .where(
            table.c.entity_type == "practice",
            table.c.deleted.is_(False),
            or_(
                table.c.attributes["npi"].astext == provider_identifier,
                table.c.attributes["tin"].astext == provider_identifier,
            ),
        )
        .limit(1)
    )
    try:
        return uuid.UUID(entity_id) if entity_id else None
    except ValueError:
        return None


async def _queue_unmatched(
    session: AsyncSession, organization_id: uuid.UUID, payment: PaymentContext, claim: ClaimPayment, match: ClaimMatch
) -> None:
    """An unknown CLP waits for its claim; an ambiguous one waits for a person."""
    await session.execute(
        pg_insert(unmatched_remittances)
        .values(
            unmatched_id=uuid.uuid4(),
            organization_id=organization_id,
            file_id=payment.file_id,
            payment_id=payment.payment_id,
            clp_position=claim.position,
            claim_id=claim.claim_id,
            payer_claim_number=claim.payer_claim_number,
            reason=match.reason,
            detail=match.detail,
            claim=claim.model_dump(mode="json"),
            status="waiting" if match.reason == "unknown_claim" else "needs_review",
        )
        .on_conflict_do_nothing()
    )


async def lock_submitted_claims(session: AsyncSession, events: Sequence[Envelope]) -> None:
    """Before a batch of claim.submitted: every claim's lock, up front and in one order (see lock_claim_ids)."""
    await lock_claim_ids(session, [event.data.claim_id for event in events if isinstance(event, ClaimSubmittedEvent)])


async def record_submitted_claim(session: AsyncSession, event: ClaimSubmittedEvent) -> None:
    """Remember a submitted claim for matching, then post any remittance that arrived before it."""
    await lock_claim_id(session, event.data.claim_id)
    data = event.data
    values: dict[str, Any] = {
        "organization_id": event.organizationid,
        "claim_id": data.claim_id,
        "charge_id": data.charge_id,
        "payer_id": data.payer_id,
        "practice_id": event.practiceid,
        "billed_amount": data.billed_amount,
        "attempt_number": data.attempt_number,
        "frequency_code": data.frequency_code,
        "payer_claim_number": data.payer_claim_number,
        "submitted_date": data.submitted_date,
        "correlation_id": event.correlationid,
        "source_event_id": event.id,
        "patient_id": data.patient_id,
        "provider_id": data.provider_id,
        "member_id": data.member_id,
        "date_of_service": data.date_of_service,
    }
    # The claim as stored, read back by the same statement (or apart, when a later attempt was recorded first).
    known = (await session.execute(_record_claim(tuple(values)), prefixed("claim_", values))).first()
    if known is None:
        known = (await session.execute(select(claims).where(claims.c.claim_id == data.claim_id))).first()
    if known is not None:
        await post_waiting_remittances(session, event.organizationid, known, event.id)


@functools.cache
def _record_claim(columns: tuple[str, ...]) -> ReturningInsert[Any]:
    """A submitted claim's upsert, built once (every claim.submitted sends it): a later attempt replaces an earlier
    one's facts, keeping a payer claim number it does not repeat; an earlier attempt arriving late changes nothing."""
    statement = pg_insert(claims).values(bound(claims, "claim_", columns))
    update_values: dict[str, Any] = {
        name: statement.excluded[name] for name in columns if name not in ("organization_id", "claim_id")
    }
    update_values["payer_claim_number"] = func.coalesce(
        statement.excluded.payer_claim_number, claims.c.payer_claim_number
    )
    return statement.on_conflict_do_update(
        index_elements=["organization_id", "claim_id"],
        set_=update_values,
        where=claims.c.attempt_number <= statement.excluded.attempt_number,
    ).returning(*claims.c)


async def post_waiting_remittances(
    session: AsyncSession, organization_id: uuid.UUID, known: Row[Any], causation_id: str
) -> int:
    """Post unmatched CLPs waiting for a claim (by any matching key), oldest first; returns how many posted."""
    claim_id = known.claim_id
    queue = unmatched_remittances
    values = {"claim_id": claim_id}
    if known.payer_claim_number:
        values["payer_claim_number"] = known.payer_claim_number
    if known.member_id:
        values["member_id"] = known.member_id
    query = _waiting_remittances(bool(known.payer_claim_number), bool(known.member_id))
    waiting = (await session.execute(query, prefixed("waiting_", values))).all()
    count = 0
    posted_before = bool(waiting[0].posted_before) if waiting else False  # as read with the queue, then as posted
    for row in waiting:
        claim = ClaimPayment.model_validate(row.claim)
        if not waits_for(claim, known):
            continue
        payment = PaymentContext(row.file_id, row.payment_id, row.trace_number, row.payment_date)
        result = await post_claim(
            session,
            organization_id=organization_id,
            known=known,
            claim=claim,
            payment=payment,
            causation_id=causation_id,
            posted_before=posted_before,
        )
        posted_before = posted_before or (result is not None and result.kind == "posted")
        await session.execute(
            update(queue)
            .where(queue.c.unmatched_id == row.unmatched_id)
            .values(status="posted", posting_id=result.posting_id if result else None, matched_claim_id=claim_id)
        )
        count += 1
    return count


@functools.cache
def _waiting_remittances(by_payer_claim_number: bool, by_member_id: bool) -> Select[Any]:
    """Unmatched CLPs waiting for a claim by its id (and its payer claim number, its member id, when it has them),
    oldest first and locked, with their payment and whether the claim was posted before; built once per shape
    (every claim.submitted asks)."""
    queue = unmatched_remittances
    given = bound(queue, "waiting_", ("claim_id", "payer_claim_number"))
    claim_id = given["claim_id"]
    matches = queue.c.claim_id == claim_id
    if by_payer_claim_number:
        matches = or_(matches, queue.c.payer_claim_number == given["payer_claim_number"])
    if by_member_id:  # the CLP's patient identifier, a text in its JSON
        member_id = bindparam("waiting_member_id", type_=String)
        matches = or_(matches, queue.c.claim["patient_identifier"].astext == member_id)
    return (
        select(
            queue, payments.c.trace_number, payments.c.payment_date, posted_before_of(claim_id).label("posted_before")
        )
        .join(payments, payments.c.payment_id == queue.c.payment_id)
        .where(queue.c.status == "waiting", matches)
        .order_by(queue.c.created_at, queue.c.clp_position)
        .with_for_update(of=queue)
    )
