"""Remittance HTTP endpoints of stored 835 files: the list (held files are its work queue), one file, and a
person's post or reject of a held file."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import files
from remittance.models import payments, postings, remittance_files
from remittance.schemas import (
    FilePaymentView,
    FileStatus,
    PostingView,
    RejectRequest,
    RemittanceFileItem,
    RemittanceFileView,
    ReviewRequest,
)
from remittance.web import CONFLICT, INVALID, NOT_FOUND, Reader, Writer, respond_idempotently
from shared.auth import Principal
from shared.dates import CalendarDate
from shared.db import unit_of_work
from shared.openapi import link, links
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Order, Page, visible_practices
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["remittance files"])
FILE_ORDER = Order("remittances", ((remittance_files.c.received_at, False), (remittance_files.c.file_id, False)))
LISTED = (
    remittance_files.c.file_id,
    remittance_files.c.source,
    remittance_files.c.status,
    remittance_files.c.received_at,
    remittance_files.c.refusal,
    remittance_files.c.review,
    remittance_files.c.summary["discrepancies"].label("discrepancies"),
)


def _file_links(id_expression: str) -> dict[str, dict[str, Any]]:
    """Links from an answer holding a file id to reading it and to a person's decision on a held one."""
    by_id = {"path.file_id": id_expression}
    return {
        "GetRemittance": link("GET", "/v1/remittances/{file_id}", description="Read the file", parameters=by_id),
        "PostHeldRemittance": link(
            "POST", "/v1/remittances/{file_id}/post", description="Post the held file as it is", parameters=by_id
        ),
        "RejectHeldRemittance": link(
            "POST", "/v1/remittances/{file_id}/reject", description="Reject the held file", parameters=by_id
        ),
    }


@router.get(
    "/remittances",
    summary="835 files received, filtered by status, payment date and payer (status=held: the review queue)",
    responses={**INVALID, **links(200, **_file_links("$response.body#/items/0/file_id"))},
)
async def list_remittances(
    request: Request,
    principal: Reader,
    status: FileStatus | None = None,
    source: str | None = Query(default=None, pattern="^(clearinghouse|upload)$"),
    payment_date_from: CalendarDate | None = Query(
        default=None, description="A payment of the file on or after this date"
    ),
    payment_date_to: CalendarDate | None = Query(
        default=None, description="A payment of the file on or before this date"
    ),
    payer: str | None = Query(
        default=None, min_length=1, max_length=80, description="Payer key (TRN03), N1*PR identifier or name"
    ),
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[RemittanceFileItem]:
    """The organization's 835 files, oldest first, each with the payments it carries and, when held, why."""
    query = select(*LISTED)
    if status is not None:
        query = query.where(remittance_files.c.status == status)
    if source is not None:
        query = query.where(remittance_files.c.source == source)
    carried = []
    if payment_date_from is not None:
        carried.append(payments.c.payment_date >= payment_date_from)
    if payment_date_to is not None:
        carried.append(payments.c.payment_date <= payment_date_to)
    if payer is not None:
        carried.append(
            or_(
                payments.c.payer_key == payer,
                payments.c.payer_identifier == payer,
                func.lower(payments.c.payer_name) == payer.lower(),
            )
        )
    if carried:
        query = query.where(
            select(payments.c.payment_id).where(payments.c.file_id == remittance_files.c.file_id, *carried).exists()
        )
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        rows = (await session.execute(FILE_ORDER.apply(query, cursor=cursor, limit=limit))).all()
        page, next_cursor = FILE_ORDER.page(rows, limit)
        carried_rows = (
            await session.execute(
                select(payments)
                .where(payments.c.file_id.in_([r.file_id for r in page]))
                .order_by(payments.c.file_id, payments.c.payment_date, payments.c.trace_number)
            )
        ).all()
    by_file: dict[uuid.UUID, list[FilePaymentView]] = {}
    for payment in carried_rows:
        by_file.setdefault(payment.file_id, []).append(FilePaymentView.model_validate(payment._mapping))
    items = [
        RemittanceFileItem.model_validate(
            {**r._mapping, "payments": by_file.get(r.file_id, []), "discrepancies": r.discrepancies or []}
        )
        for r in page
    ]
    return Page[RemittanceFileItem](items=items, next_cursor=next_cursor)


async def _file_view(session: AsyncSession, principal: Principal, file_id: uuid.UUID) -> RemittanceFileView:
    """A stored file with the postings the key may see (raw text not included); 404 when it is not the caller's."""
    row = (await session.execute(select(remittance_files).where(remittance_files.c.file_id == file_id))).first()
    if row is None:
        raise Problem(404, "Not Found", f"remittance file {file_id} not found")
    query = select(postings).where(postings.c.file_id == file_id).order_by(postings.c.clp_position)
    practices = visible_practices(postings.c.practice_id, principal)
    if practices is not None:
        query = query.where(practices)
    rows = (await session.execute(query)).all()
    return RemittanceFileView(
        file_id=row.file_id,
        source=row.source,
        status=row.status,
        received_at=row.received_at,
        refusal=row.refusal,
        summary=row.summary,
        review=row.review,
        postings=[PostingView.model_validate(r._mapping) for r in rows],
    )


@router.get(
    "/remittances/{file_id}",
    summary="One 835 file with what it posted",
    responses={**NOT_FOUND, **links(200, **_file_links("$response.body#/file_id"))},
)
async def get_remittance(request: Request, file_id: uuid.UUID, principal: Reader) -> RemittanceFileView:
    """A stored 835 file of the caller's organization (raw text not included)."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        return await _file_view(session, principal, file_id)


def _review(principal: Principal, note: str | None) -> dict[str, Any]:
    return {
        "key_id": principal.key_id,
        "user_id": str(principal.user_id) if principal.user_id else None,
        "at": datetime.now(UTC).isoformat(),
        "note": note,
    }


@router.post(
    "/remittances/{file_id}/post",
    summary="Post a held (out-of-balance) file as it is; posts it exactly once",
    response_model=RemittanceFileView,
    responses={**NOT_FOUND, **INVALID, **CONFLICT},
)
async def post_held_remittance(
    request: Request, file_id: uuid.UUID, body: ReviewRequest, principal: Writer
) -> JSONResponse:
    """Post every CLP of a held file; posting it again answers the posted file and posts nothing. A file whose
    payment (payer + trace) another file posted meanwhile is 409."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await files.post_held_file(
            session,
            organization_id=principal.organization_id,
            file_id=file_id,
            review=_review(principal, body.note),
        )
        return 200, await _file_view(session, principal, file_id)

    return await respond_idempotently(request, principal, use_case)


@router.post(
    "/remittances/{file_id}/reject",
    summary="Reject a held (out-of-balance) file: nothing of it is posted",
    response_model=RemittanceFileView,
    responses={**NOT_FOUND, **INVALID, **CONFLICT},
)
async def reject_held_remittance(
    request: Request, file_id: uuid.UUID, body: RejectRequest, principal: Writer
) -> JSONResponse:
    """Close a held file without posting it (ask the payer for a corrected 835); rejecting it again changes
    nothing."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        await files.reject_held_file(session, file_id=file_id, review=_review(principal, body.reason))
        return 200, await _file_view(session, principal, file_id)

    return await respond_idempotently(request, principal, use_case)
