"""Remittance HTTP endpoints: 835 intake (signed clearinghouse delivery and staff upload), files, queues."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.matching import match_by_hand
from remittance.models import postings, remittance_files, unmatched_remittances
from remittance.schemas import EraReceiptView, ManualMatchRequest, PostingView, RemittanceFileView, UnmatchedView
from remittance.service import EraReceipt, receive_era
from remittance.web import CONFLICT, INVALID, NOT_FOUND, respond_idempotently
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.openapi import link, links
from shared.problems import Problem

router = APIRouter(prefix="/v1", tags=["remittance"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Uploader = Annotated[Principal, Depends(require_scope("claims:write"))]

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
    409: {"description": "A payment of this file (same payer and TRN02 trace) was already posted"},
    413: {"description": "The file is larger than the configured limit"},
    422: {"description": "The file is not a readable 835 005010X221A1; says what and where"},
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


def _answer(receipt: EraReceipt) -> EraReceiptView:
    """The receipt of a posted file, or the problem for a refused or duplicate one."""
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
    return EraReceiptView.model_validate({**receipt.summary, "status": receipt.status})


@router.post(
    "/era/clearinghouse",
    summary="835 delivered by the clearinghouse (signed webhook)",
    openapi_extra=RAW_835_BODY,
    responses={401: {"description": "Missing or invalid signature"}, **ERA_RESPONSES},
)
async def receive_clearinghouse_era(request: Request) -> EraReceiptView:
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
    return _answer(receipt)


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
async def upload_era(request: Request, principal: Uploader) -> EraReceiptView:
    """Store and post an 835 for the caller's organization."""
    body = await _read_body(request)
    receipt = await receive_era(
        request.app.state.sessions,
        organization_id=principal.organization_id,
        raw=body,
        source="upload",
        key_id=principal.key_id,
    )
    return _answer(receipt)


@router.get(
    "/remittances/{file_id}",
    summary="One 835 file with what it posted",
    responses={404: {"description": "No such file in this organization"}},
)
async def get_remittance(request: Request, file_id: uuid.UUID, principal: Reader) -> RemittanceFileView:
    """A stored 835 file of the caller's organization (raw text not included)."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        row = (await session.execute(select(remittance_files).where(remittance_files.c.file_id == file_id))).first()
        rows = (
            await session.execute(
                select(postings).where(postings.c.file_id == file_id).order_by(postings.c.clp_position)
            )
        ).all()
    if row is None:
        raise Problem(404, "Not Found", f"remittance file {file_id} not found")
    visible = [r for r in rows if r.practice_id is None or principal.may_access_practice(r.practice_id)]
    return RemittanceFileView(
        file_id=row.file_id,
        source=row.source,
        status=row.status,
        received_at=row.received_at,
        refusal=row.refusal,
        summary=row.summary,
        postings=[PostingView.model_validate(r._mapping) for r in visible],
    )


@router.get(
    "/unmatched",
    summary="Remittance claims waiting for a match or a person",
    responses=links(
        200,
        MatchByHand=link(
            "POST",
            "/v1/unmatched/{unmatched_id}/match",
            description="Match the oldest entry to a claim",
            parameters={"path.unmatched_id": "$response.body#/0/unmatched_id"},
        ),
        GetRemittance=link(
            "GET",
            "/v1/remittances/{file_id}",
            description="The file the oldest entry came in",
            parameters={"path.file_id": "$response.body#/0/file_id"},
        ),
    ),
)
async def list_unmatched(
    request: Request,
    principal: Reader,
    status: Literal["waiting", "needs_review", "posted"] | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> list[UnmatchedView]:
    """Unmatched, ambiguous and unreadable CLPs of the caller's organization, oldest first."""
    query = select(unmatched_remittances).order_by(unmatched_remittances.c.created_at).limit(limit)
    query = query.where(
        unmatched_remittances.c.status == status
        if status
        else unmatched_remittances.c.status.in_(("waiting", "needs_review"))
    )
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        rows = (await session.execute(query)).all()
    return [UnmatchedView.model_validate(r._mapping) for r in rows]


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
