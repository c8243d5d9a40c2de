"""The exact X12 files of a claim's attempt: the 837P interchange it went out in, and the 999 and 277CA the
clearinghouse answered for it, byte for byte as stored (application/edi-x12). Each read is audited: they carry PHI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy import Column, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.problems import Problem
from submission.models import audit_log, batches, claim_attempts, claims

router = APIRouter(prefix="/v1", tags=["claims"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
ClaimId = Annotated[str, Path(min_length=1, max_length=20, description="The claim id (CLM01)")]
AttemptNumber = Annotated[int, Path(ge=1, le=10_000, description="The attempt's number (1 for the original)")]
X12 = "application/edi-x12"


def _answers(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": what, "content": {X12: {"schema": {"type": "string"}}}},
        403: {"description": "The interchange also carries claims of practices this API key is not limited to"},
        404: {"description": "No such claim or attempt, or the file does not exist (yet)"},
    }


@router.get(
    "/claims/{claim_id}/attempts/{attempt_number}/x12",
    response_class=Response,
    summary="The exact 837P interchange an attempt was sent in",
    responses=_answers("The 837P file as the clearinghouse received it (every claim of its batch)"),
)
async def attempt_837p(
    request: Request, claim_id: ClaimId, attempt_number: AttemptNumber, principal: Reader
) -> Response:
    """The 837P batch file of an attempt, byte for byte: one interchange per batch, so the claims sent with it are
    in it too; a key limited to practices reads it only when every claim of the batch is of its practices."""
    return await _document(request, principal, claim_id, attempt_number, batches.c.file_text, "837P")


@router.get(
    "/claims/{claim_id}/attempts/{attempt_number}/999",
    response_class=Response,
    summary="The 999 implementation acknowledgement received for an attempt's interchange",
    responses=_answers("The 999 file as the clearinghouse sent it"),
)
async def attempt_999(
    request: Request, claim_id: ClaimId, attempt_number: AttemptNumber, principal: Reader
) -> Response:
    """The 999 answering the interchange an attempt went out in, byte for byte."""
    return await _document(request, principal, claim_id, attempt_number, batches.c.ack_999, "999")


@router.get(
    "/claims/{claim_id}/attempts/{attempt_number}/277ca",
    response_class=Response,
    summary="The 277CA claim acknowledgement received for an attempt's interchange",
    responses=_answers("The 277CA file as the clearinghouse sent it"),
)
async def attempt_277ca(
    request: Request, claim_id: ClaimId, attempt_number: AttemptNumber, principal: Reader
) -> Response:
    """The 277CA answering the interchange an attempt went out in, byte for byte."""
    return await _document(request, principal, claim_id, attempt_number, batches.c.ack_277ca, "277CA")


async def _document(
    request: Request, principal: Principal, claim_id: str, attempt_number: int, column: Column[Any], kind: str
) -> Response:
    """One stored file of an attempt's batch, audited; 404 when the claim is not the caller's or the file is not
    there, 403 when the batch carries claims of practices the caller's key may not see."""
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        row = (
            await session.execute(
                select(claims.c.practice_id, claim_attempts.c.batch_control_number, column.label("document"))
                .select_from(claim_attempts)
                .join(claims, claims.c.claim_id == claim_attempts.c.claim_id)
                .outerjoin(batches, batches.c.control_number == claim_attempts.c.batch_control_number)
                .where(claim_attempts.c.claim_id == claim_id, claim_attempts.c.attempt_number == attempt_number)
            )
        ).first()
        if row is None or not principal.may_access_practice(row.practice_id):
            raise Problem(404, "Not Found", f"claim {claim_id} has no attempt {attempt_number}")
        if row.batch_control_number is None:
            raise Problem(
                404, "Not Found", f"attempt {attempt_number} of claim {claim_id} has not been sent in a batch"
            )
        if row.document is None:
            raise Problem(404, "Not Found", f"no {kind} has been received for the batch of attempt {attempt_number}")
        if principal.practice_ids and await _carries_other_practices(session, principal, row.batch_control_number):
            raise Problem(
                403,
                "Forbidden",
                f"the {kind} also carries claims of practices this API key is not limited to; read it with a key "
                "for the whole organization",
            )
        await session.execute(
            audit_log.insert().values(
                organization_id=principal.organization_id,
                actor=f"api_key:{principal.key_id}",
                actor_user_id=principal.user_id,
                action=f"read_{kind.lower()}",
                resource_type="claim_attempt",
                resource_id=f"{claim_id}/{attempt_number}",
            )
        )
    return Response(content=str(row.document).encode("utf-8"), media_type=X12)


async def _carries_other_practices(session: AsyncSession, principal: Principal, control_number: int) -> bool:
    """Whether a batch holds an attempt of a claim outside the key's practices."""
    outside = (
        select(claim_attempts.c.claim_id)
        .join(claims, claims.c.claim_id == claim_attempts.c.claim_id)
        .where(
            claim_attempts.c.batch_control_number == control_number,
            claims.c.practice_id.not_in(sorted(principal.practice_ids)),
        )
    )
    return bool(await session.scalar(select(exists(outside))))
