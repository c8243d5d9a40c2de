"""HTTP plumbing the remittance routers share: caller dependencies, common responses, idempotent POSTs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from remittance.models import idempotency_keys
from shared import idempotency as shared_idempotency
from shared.auth import Principal, require_scope
from shared.idempotency import UseCase
from shared.problems import Problem

Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("claims:write"))]  # billing staff: payments, write-offs, denials
Admin = Annotated[Principal, Depends(require_scope("admin"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such record in the caller's organization"}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid request (problem+json naming each field)"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "The record's state does not allow this action"}}


async def respond_idempotently(request: Request, principal: Principal, use_case: UseCase) -> JSONResponse:
    """Run a POST once per Idempotency-Key: the same key and body replay the stored answer."""
    return await shared_idempotency.respond_idempotently(request, principal.organization_id, use_case, idempotency_keys)


def ensure_practice_access(principal: Principal, practice_id: uuid.UUID | None, what: str) -> None:
    """A key limited to other practices sees a record of this practice as absent (404)."""
    if practice_id is not None and not principal.may_access_practice(practice_id):
        raise Problem(404, "Not Found", f"{what} not found")
