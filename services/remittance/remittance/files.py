"""Receiving 835 files (posted, held for review, refused or duplicate) and a person's review of a held file."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from remittance.balancing import Discrepancy, check_remittance
from remittance.era import EraRefused, Remittance835, read_835
from remittance.models import payments, remittance_files
from remittance.service import DuplicatePayment, file_facts, post_file, record_payments
from shared.db import unit_of_work
from shared.problems import Problem
from shared.x12 import X12Error, decode_interchange


@dataclass
class EraReceipt:
    """Outcome of receiving one 835 file: posted, held (out of balance), refused (unreadable) or duplicate."""

    file_id: uuid.UUID
    status: str
    refusal: dict[str, str] | None = None
    duplicate_of: uuid.UUID | None = None
    summary: dict[str, Any] = field(default_factory=dict)


async def receive_era(
    sessions: async_sessionmaker[AsyncSession],
    *,
    organization_id: uuid.UUID,
    raw: bytes,
    source: str,
    key_id: str | None = None,
) -> EraReceipt:
    """Store an 835 and post every CLP of it in one transaction, or hold it whole when it does not balance;
    refusals and duplicates are stored too, and nothing of them is posted."""
    file_id = uuid.uuid4()
    stored: dict[str, Any] = {
        "file_id": file_id,
        "organization_id": organization_id,
        "source": source,
        "key_id": key_id,
        "content_sha256": hashlib.sha256(raw).hexdigest(),
        "summary": {},
    }
    remittance: Remittance835 | None = None
    refusal: dict[str, str] | None = None
    try:
        stored["raw_text"] = decode_interchange(raw)
    except X12Error as error:  # not X12 text: the exact bytes are kept instead
        stored["raw_text"], stored["raw_bytes"] = "", raw
        refusal = {"reason": error.reason, "where": error.where}
    if refusal is None:
        try:
            remittance = read_835(stored["raw_text"])
        except EraRefused as error:
            refusal = {"reason": error.reason, "where": error.where}
    try:
        async with unit_of_work(sessions, organization_id) as session:
            if remittance is None:
                await session.execute(pg_insert(remittance_files).values(**stored, status="refused", refusal=refusal))
                return EraReceipt(file_id, "refused", refusal=refusal)
            duplicate_of = await _already_posted(session, remittance)
            if duplicate_of is not None:
                summary = {"duplicate_of": str(duplicate_of)}
                await session.execute(
                    pg_insert(remittance_files).values({**stored, "status": "duplicate", "summary": summary})
                )
                await record_payments(session, organization_id, file_id, remittance, status="duplicate")
                return EraReceipt(file_id, "duplicate", duplicate_of=duplicate_of)
            discrepancies = check_remittance(remittance)
            if any(d.holds for d in discrepancies):
                return await _hold(session, stored, remittance, discrepancies)
            await session.execute(pg_insert(remittance_files).values(**stored, status="received"))
            summary = await post_file(session, organization_id, file_id, remittance)
            await _mark(session, file_id, "posted", summary)
            return EraReceipt(file_id, "posted", summary=summary)
    except DuplicatePayment:
        async with unit_of_work(sessions, organization_id) as session:
            await session.execute(pg_insert(remittance_files).values(**stored, status="duplicate"))
            duplicate_of = await _already_posted(session, remittance) if remittance else None
            if remittance is not None:
                await record_payments(session, organization_id, file_id, remittance, status="duplicate")
        return EraReceipt(file_id, "duplicate", duplicate_of=duplicate_of)


async def _hold(
    session: AsyncSession, stored: dict[str, Any], remittance: Remittance835, discrepancies: list[Discrepancy]
) -> EraReceipt:
    """Store an out-of-balance file as held with its discrepancies in words; nothing is posted. The same bytes
    delivered again answer the file already held."""
    already = (
        await session.execute(
            select(remittance_files.c.file_id, remittance_files.c.summary).where(
                remittance_files.c.status == "held", remittance_files.c.content_sha256 == stored["content_sha256"]
            )
        )
    ).first()
    if already is not None:
        return EraReceipt(already.file_id, "held", summary=already.summary)
    file_id = stored["file_id"]
    summary = {
        **file_facts(file_id, remittance),
        "claims_posted": [],
        "unmatched": [],
        "discrepancies": [d.as_json() for d in discrepancies],
        "unclassified_codes": [],
    }
    await session.execute(pg_insert(remittance_files).values({**stored, "status": "held", "summary": summary}))
    await record_payments(session, stored["organization_id"], file_id, remittance, status="held")
    return EraReceipt(file_id, "held", summary=summary)


async def _mark(session: AsyncSession, file_id: uuid.UUID, status: str, summary: dict[str, Any]) -> None:
    await session.execute(
        update(remittance_files).where(remittance_files.c.file_id == file_id).values(status=status, summary=summary)
    )


async def _already_posted(session: AsyncSession, remittance: Remittance835) -> uuid.UUID | None:
    """The file that already posted one of these payments (same payer and TRN02 trace), if any."""
    for transaction in remittance.transactions:
        found = await session.scalar(
            select(payments.c.file_id).where(
                payments.c.status == "posted",
                payments.c.payer_key == transaction.payer_key,
                payments.c.trace_number == transaction.trace_number,
            )
        )
        if found is not None:
            return found  # type: ignore[no-any-return]
    return None


async def post_held_file(
    session: AsyncSession, *, organization_id: uuid.UUID, file_id: uuid.UUID, review: dict[str, Any]
) -> None:
    """Post a held file as it is, on a person's decision, exactly once: posting it again changes nothing, and a file
    whose payment another file posted meanwhile is refused (409), as a delivery of it would be."""
    row = await _locked_file(session, file_id)
    if row.status == "posted" and (row.review or {}).get("action") == "posted":
        return
    _ensure_held(row, "posted")
    remittance = read_835(row.raw_text)
    duplicate_of = await _already_posted(session, remittance)
    if duplicate_of is not None:
        raise Problem(
            409,
            "Remittance already posted",
            f"a payment of file {file_id} (same payer and trace number) was already posted by file {duplicate_of}; "
            "reject this file instead",
            problem_type="urn:claimflow:problem:era-duplicate",
        )
    await session.execute(delete(payments).where(payments.c.file_id == file_id, payments.c.status == "held"))
    try:
        summary = await post_file(session, organization_id, file_id, remittance)
    except DuplicatePayment as error:
        raise Problem(
            409, "Remittance already posted", f"a payment of file {file_id} was posted concurrently; nothing posted"
        ) from error
    await session.execute(
        update(remittance_files)
        .where(remittance_files.c.file_id == file_id)
        .values(status="posted", summary=summary, review={**review, "action": "posted"})
    )


async def reject_held_file(session: AsyncSession, *, file_id: uuid.UUID, review: dict[str, Any]) -> None:
    """Reject a held file on a person's decision: nothing of it is ever posted (rejecting it again changes nothing)."""
    row = await _locked_file(session, file_id)
    if row.status == "rejected":
        return
    _ensure_held(row, "rejected")
    await session.execute(update(payments).where(payments.c.file_id == file_id).values(status="rejected"))
    await session.execute(
        update(remittance_files)
        .where(remittance_files.c.file_id == file_id)
        .values(status="rejected", review={**review, "action": "rejected"})
    )


async def _locked_file(session: AsyncSession, file_id: uuid.UUID) -> Row[Any]:
    """The stored file, locked so two reviews of it run one after the other; 404 when it is not the caller's."""
    row = (
        await session.execute(select(remittance_files).where(remittance_files.c.file_id == file_id).with_for_update())
    ).first()
    if row is None:
        raise Problem(404, "Not Found", f"remittance file {file_id} not found")
    return row


def _ensure_held(row: Row[Any], action: str) -> None:
    """Only a held file can be posted or rejected by hand."""
    if row.status != "held":
        raise Problem(
            409,
            "Conflict",
            f"remittance file {row.file_id} is {row.status}: only a held file can be {action}",
            problem_type="urn:claimflow:problem:remittance-state",
        )
