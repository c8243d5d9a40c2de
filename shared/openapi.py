"""OpenAPI of every service: 4xx answers declared as RFC 9457 problem+json, each operation's real authentication
(derived from the dependencies that check it), and links from an answer to the operations that take the ids it
returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from shared.auth import require_operator
from shared.problems import PROBLEM_JSON

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "An organization's API key: cf_<id>.<secret>"},
    "operatorToken": {"type": "http", "scheme": "bearer", "description": "The platform operator's token"},
    "clearinghouseSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Claimflow-Signature",
        "description": "sha256=<hex HMAC-SHA256 under the clearinghouse secret of the submitter, a newline, the body>",
    },
    "clearinghouseSubmitter": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Claimflow-Submitter",
        "description": "The organization the delivery is for (its uuid); signed with the body",
    },
    "dashboardLink": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The token of a signed dashboard link (POST /v1/dashboard-links)",
    },
}
# A signed clearinghouse delivery: a route authenticated by the signature headers declares this in `openapi_extra`.
SIGNED_DELIVERY: dict[str, Any] = {"security": [{"clearinghouseSignature": [], "clearinghouseSubmitter": []}]}
# A page opened from a signed link: the token in the query is its credential.
SIGNED_LINK: dict[str, Any] = {"security": [{"dashboardLink": []}]}


class FieldProblem(BaseModel):
    """One bad field: where (dotted path, or a FHIR path) and why."""

    field: str = Field(examples=["diagnoses.2"])
    reason: str = Field(examples=["'F99.999' exists in no ICD-10-CM code set"])


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; `errors` names each bad field."""

    type: str = Field(default="about:blank", examples=["urn:claimflow:problem:validation"])
    title: str = Field(examples=["Request is invalid"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["diagnoses.2: 'F99.999' exists in no ICD-10-CM code set"])
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "API key missing, malformed, unknown or revoked",
    403: "The API key lacks the scope",
    404: "No such record in the caller's organization",
    409: "Conflicts with the record's state",
    413: "Request body or batch too large",
    415: "Unsupported media type",
    422: "Invalid request (problem+json naming each field)",
}


def problem_response_doc(status: int) -> dict[str, Any]:
    """The OpenAPI response object of a problem+json answer."""
    return {
        "description": _DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Route `responses` entries for problem+json answers."""
    return {status: problem_response_doc(status) for status in statuses}


NOT_FOUND: dict[int | str, dict[str, Any]] = problems(404)
INVALID: dict[int | str, dict[str, Any]] = problems(422)
CONFLICT: dict[int | str, dict[str, Any]] = problems(409)


def operation_ref(method: str, path: str) -> str:
    """JSON pointer of an operation of the same document (a link's `operationRef`), e.g. `#/paths/~1v1~1x/get`."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"#/paths/{escaped}/{method.lower()}"


def link(
    method: str,
    path: str,
    *,
    description: str,
    parameters: Mapping[str, str] | None = None,
    request_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An OpenAPI link object: the operation an answer leads to and the values it carries over.

    parameters map a target parameter (`path.entity_id`, `query.token`) to a runtime expression such as
    `$response.body#/id`; request_body holds fields (with runtime expressions as values) the target's body takes.
    """
    definition: dict[str, Any] = {"operationRef": operation_ref(method, path), "description": description}
    if parameters:
        definition["parameters"] = dict(parameters)
    if request_body:
        definition["requestBody"] = dict(request_body)
    return definition


def links(status: int, **named: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """Route `responses` entry declaring the links of one status's answer (names are link names)."""
    return {status: {"links": named}}


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with problem+json error responses and each operation's authentication declared.

    An operation's security is what its dependencies check (`require_operator`: the operator's token;
    `require_scope`: an API key), unless the route declares its own (a signed delivery, SIGNED_DELIVERY); an
    operation that checks nothing declares none.
    """
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    problem_schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, nested in problem_schema.pop("$defs", {}).items():
        components.setdefault("schemas", {}).setdefault(name, nested)
    components.setdefault("schemas", {})["ProblemDetails"] = problem_schema
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    components["securitySchemes"] = dict(SECURITY_SCHEMES)
    authentication = {
        (route.path_format, method.lower()): _authentication(route.dependant)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items() if path.startswith(("/v1/", "/admin/")) else ():
                if status.isdigit() and int(status) >= 400:
                    content = response.get("content") or {}
                    if PROBLEM_JSON not in content:
                        responses[status] = {**problem_response_doc(int(status)), **_description(response)}
            checked_by = authentication.get((path, method))
            if "security" not in operation and checked_by is not None:
                operation["security"] = [{checked_by: []}]
            if operation.get("security"):
                responses.setdefault("401", problem_response_doc(401))
            if checked_by == "apiKey":
                responses.setdefault("403", problem_response_doc(403))
            if operation.get("requestBody") or operation.get("parameters"):
                responses.setdefault("422", problem_response_doc(422))
            if operation.get("requestBody"):
                responses.setdefault("413", problem_response_doc(413))
    app.openapi_schema = schema
    return schema


def _authentication(dependant: Dependant) -> str | None:
    """The security scheme an operation's dependencies check: the operator's token, an API key, or none."""
    pending, found = [dependant], None
    while pending:
        current = pending.pop()
        if current.call is require_operator:
            return "operatorToken"
        if getattr(current.call, "scopes", None) is not None:
            found = "apiKey"
        pending.extend(current.dependencies)
    return found


def _description(response: dict[str, Any]) -> dict[str, Any]:
    """A response's own description, kept when its content is replaced."""
    return {"description": response["description"]} if response.get("description") else {}
