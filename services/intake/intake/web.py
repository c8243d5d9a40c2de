"""HTTP plumbing every intake router shares: caller dependencies, common responses, idempotent POSTs."""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import idempotency_keys
from shared.auth import Principal, require_scope
from shared.db import unit_of_work
from shared.problems import Problem

Admin = Annotated[Principal, Depends(require_scope("admin"))]
Writer = Annotated[Principal, Depends(require_scope("encounters:write"))]
Reader = Annotated[Principal, Depends(require_scope("read"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such record in the caller's organization"}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid request (problem+json naming each field)"}}

UseCase = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]


async def respond_idempotently(request: Request, principal: Principal, use_case: UseCase) -> JSONResponse:
    """Run a POST once per Idempotency-Key: the same key and body replay the stored answer."""
    key = request.headers.get("idempotency-key")
    route = request.scope["route"].path
    body_hash = hashlib.sha256(await request.body()).hexdigest()
    async with unit_of_work(request.app.state.sessions, principal.organization_id) as session:
        if key:
            stored = (
                await session.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.idempotency_key == key, idempotency_keys.c.route == route
                    )
                )
            ).first()
            if stored is not None:
                if stored.request_hash != body_hash:
                    raise Problem(
                        422,
                        "Idempotency key reused",
                        "this Idempotency-Key was used with a different request body; use a new key for a new request",
                        errors=[{"field": "header.Idempotency-Key", "reason": "reused with another body"}],
                    )
                return JSONResponse(
                    stored.response_body,
                    status_code=stored.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
        status, result = await use_case(session)
        body = jsonable_encoder(result)
        if key:
            await session.execute(
                idempotency_keys.insert().values(
                    organization_id=principal.organization_id,
                    idempotency_key=key,
                    route=route,
                    request_hash=body_hash,
                    status_code=status,
                    response_body=body,
                )
            )
    return JSONResponse(body, status_code=status)
