"""HTTP plumbing every intake router shares: caller dependencies, problem responses, idempotent POSTs."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from intake.models import idempotency_keys
from shared import idempotency
from shared.auth import Principal, require_scope
from shared.idempotency import UseCase
from shared.openapi import INVALID, NOT_FOUND, problem_response_doc, problems

__all__ = ["INVALID", "NOT_FOUND", "Admin", "Reader", "Writer", "problem_response_doc", "problems"]

Admin = Annotated[Principal, Depends(require_scope("admin"))]
Writer = Annotated[Principal, Depends(require_scope("encounters:write"))]
Reader = Annotated[Principal, Depends(require_scope("read"))]
# What an EHR wrote it may read back to follow its work: its encounters and the eligibility queue they raise.
Follower = Annotated[Principal, Depends(require_scope("read", "encounters:write"))]


async def respond_idempotently(request: Request, principal: Principal, use_case: UseCase) -> JSONResponse:
    """Run a POST once per Idempotency-Key: the same key and body replay the stored answer."""
    return await idempotency.respond_idempotently(request, principal.organization_id, use_case, idempotency_keys)
