"""RFC 9457 problem+json responses naming each bad field, for every service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error a client caused, answered as problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        problem_type: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.problem_type = problem_type
        self.headers = headers


VALIDATION = "urn:claimflow:problem:validation"


def invalid_fields(problems: Sequence[tuple[str, str]]) -> Problem:
    """The 422 naming every bad field of a request, (dotted field path, reason) each, as every validation error
    is answered (field, JSON pointer, reason)."""
    return Problem(
        422,
        "Request is invalid",
        "; ".join(f"{field}: {reason}" for field, reason in problems),
        errors=[
            {"field": field, "pointer": "/" + field.replace(".", "/"), "reason": reason} for field, reason in problems
        ],
        problem_type=VALIDATION,
    )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    problem_type: str = "about:blank",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors as {field, pointer, reason}; the caller's own input may be echoed back to it."""
    result = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        result.append(
            {
                "field": ".".join(location) or "body",
                "pointer": "/" + "/".join(location),
                "reason": error.get("msg", "invalid"),
                "type": error.get("type", "value_error"),
            }
        )
    return result


def install_problem_handlers(app: FastAPI) -> None:
    """Answer validation errors, HTTP errors and Problem exceptions as problem+json."""

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(error.errors()))
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return problem_response(
            422,
            "Request is invalid",
            summary,
            instance=request.url.path,
            errors=errors,
            problem_type="urn:claimflow:problem:validation",
        )

    @app.exception_handler(Problem)
    async def on_problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status,
            error.title,
            error.detail,
            instance=request.url.path,
            errors=error.errors,
            problem_type=error.problem_type,
            headers=error.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            error.status_code,
            _title(error.status_code),
            str(error.detail),
            instance=request.url.path,
            headers=getattr(error, "headers", None),
        )


def _title(status: int) -> str:
    """A short title for a status code."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
