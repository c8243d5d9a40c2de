"""Remittance HTTP endpoints: 835 intake (signed clearinghouse delivery and staff upload), files, queues."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.files import EraReceipt, receive_era
from remittance.matching import match_by_hand
from remittance.models import unmatched_remittances
from remittance.schemas import EraReceiptView, ManualMatchRequest, UnmatchedView
from remittance.web import CONFLICT, INVALID, NOT_FOUND, respond_idempotently
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.openapi import SIGNED_DELIVERY, link, links
from shared.paging import DEFAULT_LIMIT, Cursor, Limit, Order, Page
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["remittance"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Uploader = Annotated[Principal, Depends(require_scope("claims:write"))]

UNMATCHED_ORDER = Order(
    "unmatched", ((unmatched_remittances.c.created_at, False), (unmatched_remittances.c.unmatched_id, False))
)
SUBMITTER_HEADER = "X-Claimflow-Submitter"
SIGNATURE_HEADER = "X-Claimflow-Signature"
RAW_835_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/edi-x12": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}
ERA_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The file does not balance (DOMAIN.md 5.1): held whole for review, nothing posted; "
        "the discrepancies say why",
        "model": EraReceiptView,
    },
    409: {"description": "A payment of this file (same payer and TRN02 trace) was already posted"},
    413: {"description": "The file is larger than the configured limit"},
    422: {
        "description": "The file is not a complete, readable 835 005010X221A1 in the X12 character sets (missing "
        "trailers, counts that do not count, a byte outside X12, UTF-16): says what and where; nothing posted"
    },
}


def delivery_signature(secret: str, submitter: str, body: bytes) -> str:
    """The signature header value a clearinghouse sends: sha256=<hex HMAC of submitter, newline, body>."""
    digest = hmac.new(secret.encode(), submitter.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Signature"})


async def _read_body(request: Request) -> bytes:
    body = await request.body()
    limit = request.app.state.settings.era_max_bytes
    if len(body) > limit:
        raise Problem(413, "Content Too Large", f"835 files are limited to {limit} bytes")
    if not body.strip():
        raise Problem(422, "Unreadable 835", "the request body is empty: send the 835 file as the raw body")
    return body


def _answer(receipt: EraReceipt, response: Response) -> EraReceiptView:
    """The receipt of a posted file (200) or of a file held for review (202, nothing posted), or the problem for a
    refused or duplicate one."""
    if receipt.status == "refused":
        refusal = receipt.refusal or {}
        raise Problem(
            422,
            "Unreadable 835",
            f"the 835 cannot be posted: {refusal.get('reason')} at {refusal.get('where')} "
            f"(stored as file {receipt.file_id}, nothing posted)",
            errors=[{"field": refusal.get("where", ""), "pointer": "", "reason": refusal.get("reason", "")}],
            problem_type="urn:claimflow:problem:era-unreadable",
        )
    if receipt.status == "duplicate":
        raise Problem(
            409,
            "Remittance already posted",
            f"a payment of this file (same payer and trace number) was already posted by file {receipt.duplicate_of}; "
            "nothing was posted again",
            problem_type="urn:claimflow:problem:era-duplicate",
        )
    if receipt.status == "held":
        response.status_code = 202
    return EraReceiptView.model_validate({**receipt.summary, "status": receipt.status})


@router.post(
    "/era/clearinghouse",
    summary="835 delivered by the clearinghouse (signed webhook)",
    openapi_extra={**RAW_835_BODY, **SIGNED_DELIVERY},
    responses={401: {"description": "Missing or invalid signature"}, **ERA_RESPONSES},
)
async def receive_clearinghouse_era(request: Request, response: Response) -> EraReceiptView:
    """Verify the delivery signature, then store and post the 835 for the submitter organization."""
    submitter = request.headers.get(SUBMITTER_HEADER, "").strip()
    presented = request.headers.get(SIGNATURE_HEADER, "").strip()
    secret = request.app.state.settings.clearinghouse_secret.get_secret_value()
    if not secret:
        raise _unauthorized("clearinghouse deliveries are not configured (no clearinghouse secret)")
    if not submitter or not presented:
        raise _unauthorized(f"send {SUBMITTER_HEADER} and {SIGNATURE_HEADER}: sha256=<hex hmac>")
    try:
        organization_id = uuid.UUID(submitter)
    except ValueError as error:
        raise _unauthorized(f"{SUBMITTER_HEADER} must be an organization id (uuid)") from error
    body = await request.body()
    if not hmac.compare_digest(presented, delivery_signature(secret, submitter, body)):
        raise _unauthorized("signature does not match the submitter and body")
    body = await _read_body(request)
    receipt = await receive_era(
        request.app.state.sessions, organization_id=organization_id, raw=body, source="clearinghouse"
    )
    return _answer(receipt, response)


@router.post(
    "/era",
    summary="835 uploaded by billing staff",
    openapi_extra=RAW_835_BODY,
    responses={
        **ERA_RESPONSES,
        **links(
            200,
            GetRemittance=link(
                "GET",
                "/v1/remittances/{file_id}",
                description="The stored file with what it posted",
                parameters={"path.file_id": "$response.body#/file_id"},
            ),
        ),
    },
)
async def upload_era(request: Request, response: Response, principal: Uploader) -> EraReceiptView:
    """Store and post an 835 for the caller's organization."""
    body = await _read_body(request)
    receipt = await receive_era(
        request.app.state.sessions,
        organization_id=principal.organization_id,
        raw=body,
        source="upload",
        key_id=principal.key_id,
    )
    return _answer(receipt, response)


@router.get(
    "/unmatched",
    summary="Remittance claims waiting for a match or a person",
    responses=links(
        200,
        MatchByHand=link(
            "POST",
            "/v1/unmatched/{unmatched_id}/match",
            description="Match the oldest entry to a claim",
            parameters={"path.unmatched_id": "$response.body#/items/0/unmatched_id"},
        ),
        GetRemittance=link(
            "GET",
            "/v1/remittances/{file_id}",
            description="The file the oldest entry came in",
            parameters={"path.file_id": "$response.body#/items/0/file_id"},
        ),
    ),
)
async def list_unmatched(
    request: Request,
    principal: Reader,
    status: Literal["waiting", "needs_review", "posted"] | None = None,
    reason: Literal["unknown_claim", "unreadable", "ambiguous_match"] | None = None,
    file_id: uuid.UUID | None = None,
    claim_id: str | None = Query(default=None, max_length=50),
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[UnmatchedView]:
    """Unmatched, ambiguous and unreadable CLPs of the caller's organization, oldest first (waiting and
    needs_review unless a status is asked for)."""
    queue = unmatched_remittances
    query = select(queue).where(queue.c.status == status if status else queue.c.status.in_(("waiting", "needs_review")))
    for column, value in (("reason", reason), ("file_id", file_id), ("claim_id", claim_id)):
        if value is not None:
            query = query.where(queue.c[column] == value)
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        rows = (await session.execute(UNMATCHED_ORDER.apply(query, cursor=cursor, limit=limit))).all()
    page, next_cursor = UNMATCHED_ORDER.page(rows, limit)
    return Page[UnmatchedView](items=[UnmatchedView.model_validate(r._mapping) for r in page], next_cursor=next_cursor)


@router.post(
    "/unmatched/{unmatched_id}/match",
    summary="Match an unmatched remittance to a claim by hand; posts it exactly once",
    response_model=UnmatchedView,
    responses={**NOT_FOUND, **INVALID, **CONFLICT},
)
async def match_unmatched(
    request: Request, unmatched_id: uuid.UUID, body: ManualMatchRequest, principal: Uploader
) -> JSONResponse:
    """Post the waiting CLP to the chosen claim; the same match again answers the same entry and posts nothing."""

    async def use_case(session: AsyncSession) -> tuple[int, Any]:
        row = await match_by_hand(
            session,
            organization_id=principal.organization_id,
            unmatched_id=unmatched_id,
            claim_id=body.claim_id,
            key_id=principal.key_id,
        )
        return 200, UnmatchedView.model_validate(row._mapping)

    return await respond_idempotently(request, principal, use_case)
