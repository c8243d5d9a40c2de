"""Matching a CLP to our claim: CLP01, then the payer claim number (CLP07), then patient + date of service + amount."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import domain
from remittance.era import ClaimPayment
from remittance.models import claims, payments, postings, unmatched_remittances
from remittance.posting import PaymentContext, post_claim, posted_before_of
from shared.events.claim import is_claim_id
from shared.problems import Problem

MatchMethod = Literal["claim_id", "payer_claim_number", "patient_date_amount"]


@dataclass(frozen=True)
class ClaimMatch:
    """The claim a CLP matched and how, or why it did not match (reason and detail for the unmatched queue)."""

    claim: Row[Any] | None
    method: MatchMethod | None = None
    reason: Literal["unknown_claim", "ambiguous_match"] | None = None
    detail: str = ""
    posted_before: bool | None = None  # read with the claim when matched by claim id


CLAIM_LOCK_CLASS = 835  # advisory-lock namespace of "a remittance line and its claim meet here"


async def lock_claim_id(session: AsyncSession, claim_id: str) -> None:
    """Serialise, until commit, the transactions that record a claim and those that match a CLP to it.

    Without it, an 835 line and its claim.submitted arriving together could each miss the other: the line would
    wait for a claim that is already recorded.
    """
    await lock_claim_ids(session, [claim_id])


async def lock_claim_ids(session: AsyncSession, claim_ids: Iterable[str]) -> None:
    """`lock_claim_id` for several claims in one statement, in ascending lock-key order.

    A transaction that needs several claims' locks (an 835 file's CLPs, a batch of claim.submitted) takes them all
    up front in one order, so two of them wanting the same claims wait for each other instead of deadlocking. Locks
    the transaction already holds are not asked for again.
    """
    transaction = session.get_transaction()
    held: tuple[object, set[str]] | None = session.info.get(_HELD_CLAIM_LOCKS)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        session.info[_HELD_CLAIM_LOCKS] = held
    wanted = sorted(set(claim_ids) - held[1])
    if not wanted:
        return
    await session.execute(_LOCK_IN_KEY_ORDER, {"lock_class": CLAIM_LOCK_CLASS, "claim_ids": wanted})
    held[1].update(wanted)


_HELD_CLAIM_LOCKS = "remittance.claim_locks"
# The subquery's ORDER BY keeps the rows (and so the lock calls) in key order: PostgreSQL does not flatten a sorted
# subquery into its parent.
_LOCK_IN_KEY_ORDER = text(
    "SELECT count(pg_advisory_xact_lock(:lock_class, key)) FROM "
    "(SELECT DISTINCT hashtext(claim_id) AS key FROM unnest(CAST(:claim_ids AS text[])) AS claim_id ORDER BY key) "
    "AS keys"
)


async def match_claim(session: AsyncSession, claim: ClaimPayment) -> ClaimMatch:
    """Our claim for a CLP; an ambiguous patient fallback is never guessed but left for a person."""
    await lock_claim_id(session, claim.claim_id)
    row = (
        await session.execute(
            select(claims, posted_before_of(claims.c.claim_id).label("posted_before")).where(
                claims.c.claim_id == claim.claim_id
            )
        )
    ).first()
    if row is not None:
        return ClaimMatch(row, "claim_id", posted_before=row.posted_before)
    if is_claim_id(claim.claim_id):
        # One of our ids whose claim.submitted has not arrived yet: wait for it rather than guess another claim.
        return ClaimMatch(
            None,
            reason="unknown_claim",
            detail=f"claim {claim.claim_id} is not known yet; posted when its submission arrives",
        )
    if claim.payer_claim_number:
        row = await _by_payer_claim_number(session, claim.payer_claim_number)
        if row is not None:
            return ClaimMatch(row, "payer_claim_number")
    key = domain.patient_match_key(claim)
    # A claim already adjudicated is not what an unrecognised CLP pays (a reversal takes back exactly that).
    already_adjudicated = (
        []
        if claim.status_code == "22"
        else [~exists().where(postings.c.claim_id == claims.c.claim_id, postings.c.first_adjudication)]
    )
    if key is not None:
        candidates = (
            await session.execute(
                select(claims)
                .where(
                    claims.c.member_id == key.member_id,
                    claims.c.date_of_service == key.date_of_service,
                    claims.c.billed_amount == key.billed_amount,
                    *already_adjudicated,
                )
                .limit(5)
            )
        ).all()
        if len(candidates) == 1:
            return ClaimMatch(candidates[0], "patient_date_amount")
        if len(candidates) > 1:
            ids = ", ".join(sorted(c.claim_id for c in candidates))
            return ClaimMatch(
                None,
                reason="ambiguous_match",
                detail=f"no claim {claim.claim_id}; patient, date of service and amount fit several claims ({ids}): "
                "match it by hand",
            )
    number = f" nor payer claim number {claim.payer_claim_number}" if claim.payer_claim_number else ""
    fallback = "" if key is not None else "; no patient id and date of service to match on"
    return ClaimMatch(
        None,
        reason="unknown_claim",
        detail=f"no submitted claim with id {claim.claim_id}{number}{fallback}; posted when the claim becomes known",
    )


async def _by_payer_claim_number(session: AsyncSession, payer_claim_number: str) -> Row[Any] | None:
    """The claim that carries this payer claim number, from its submission or from an earlier posting."""
    row = (
        await session.execute(select(claims).where(claims.c.payer_claim_number == payer_claim_number).limit(1))
    ).first()
    if row is not None:
        return row
    earlier = await session.scalar(
        select(postings.c.claim_id).where(postings.c.payer_claim_number == payer_claim_number).limit(1)
    )
    if earlier is None:
        return None
    return (await session.execute(select(claims).where(claims.c.claim_id == earlier))).first()


def waits_for(claim: ClaimPayment, known: Row[Any]) -> bool:
    """Whether a waiting CLP belongs to a claim that just became known (by any of the three keys)."""
    if claim.claim_id == known.claim_id:
        return True
    if is_claim_id(claim.claim_id):
        return False
    if claim.payer_claim_number and claim.payer_claim_number == known.payer_claim_number:
        return True
    key = domain.patient_match_key(claim)
    return (
        key is not None
        and known.member_id is not None
        and key.member_id == known.member_id
        and key.date_of_service == known.date_of_service
        and key.billed_amount == domain.cents(known.billed_amount)
    )


async def match_by_hand(
    session: AsyncSession, *, organization_id: uuid.UUID, unmatched_id: uuid.UUID, claim_id: str, key_id: str
) -> Row[Any]:
    """Post an unmatched CLP to the claim a person chose, exactly once; returns the updated queue entry."""
    queue = unmatched_remittances
    row = (
        await session.execute(
            select(queue, payments.c.trace_number, payments.c.payment_date)
            .join(payments, payments.c.payment_id == queue.c.payment_id)
            .where(queue.c.unmatched_id == unmatched_id)
            .with_for_update(of=queue)
        )
    ).first()
    if row is None:
        raise Problem(404, "Not Found", f"unmatched remittance {unmatched_id} not found")
    if row.status == "posted":
        if row.matched_claim_id == claim_id:
            return await _entry(session, unmatched_id)
        raise Problem(
            409,
            "Already posted",
            f"this remittance was already posted to claim {row.matched_claim_id}; reverse it with the payer instead",
            problem_type="urn:claimflow:problem:unmatched-posted",
        )
    if row.claim is None:
        raise Problem(
            409,
            "Unreadable remittance",
            f"this CLP could not be read ({row.detail}); ask the payer for a corrected 835",
            problem_type="urn:claimflow:problem:unmatched-unreadable",
        )
    known = (await session.execute(select(claims).where(claims.c.claim_id == claim_id))).first()
    if known is None:
        reason = "is not a submitted claim of this organization"
        raise Problem(
            422,
            "Unknown claim",
            f"claim_id {claim_id} {reason}",
            errors=[{"field": "claim_id", "pointer": "/claim_id", "reason": reason}],
        )
    result = await post_claim(
        session,
        organization_id=organization_id,
        known=known,
        claim=ClaimPayment.model_validate(row.claim),
        payment=PaymentContext(row.file_id, row.payment_id, row.trace_number, row.payment_date),
        causation_id=str(unmatched_id),
    )
    await session.execute(
        update(queue)
        .where(queue.c.unmatched_id == unmatched_id)
        .values(
            status="posted",
            posting_id=result.posting_id if result else None,
            matched_claim_id=claim_id,
            matched_by=key_id,
            matched_at=func.now(),
        )
    )
    return await _entry(session, unmatched_id)


async def _entry(session: AsyncSession, unmatched_id: uuid.UUID) -> Row[Any]:
    row = (
        await session.execute(select(unmatched_remittances).where(unmatched_remittances.c.unmatched_id == unmatched_id))
    ).first()
    assert row is not None
    return row
