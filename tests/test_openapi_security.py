"""Every operation's OpenAPI security is the authentication it really checks: called without credentials, each
operation that declares security answers 401, and each that declares none answers without asking for any."""

from __future__ import annotations

import importlib
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

SERVICES = ["intake", "coding", "submission", "remittance", "analytics"]
NOT_CALLED_BARE = {"/readyz"}  # reads the database and the broker, which these in-process apps do not start


def service_app(service: str) -> FastAPI:
    """A service's application, built as the launcher builds it (no lifespan: nothing is connected)."""
    app: FastAPI = importlib.import_module(f"{service}.main").create_app()
    return app


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation of a document."""
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def concrete(path: str) -> str:
    """A path with every parameter filled by a value of a plausible form."""
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path).replace(
        "/months/00000000-0000-0000-0000-000000000000", "/months/2026-09"
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_each_operation_declares_the_authentication_it_checks(service: str) -> None:
    app = service_app(service)
    document = app.openapi()
    schemes = document["components"]["securitySchemes"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as http:
        for method, path, operation in operations(document):
            if path in NOT_CALLED_BARE:
                continue
            declared = [name for requirement in operation.get("security", []) for name in requirement]
            assert all(name in schemes for name in declared), (method, path, declared)
            params = {"token": "not-a-signed-token"} if "dashboardLink" in declared else None
            answer = await http.request(method.upper(), concrete(path), params=params)
            if declared:
                assert answer.status_code == 401, (method, path, declared, answer.status_code, answer.text[:200])
                assert "401" in operation["responses"], (method, path)
            else:
                assert answer.status_code != 401, (method, path, "checks credentials it does not declare")
            if "apiKey" in declared:
                assert "403" in operation["responses"], (method, path)
            else:
                assert "403" not in operation["responses"], (method, path, "declares a scope check it does not make")


def test_the_clearinghouse_webhook_is_signed_not_keyed() -> None:
    document = service_app("remittance").openapi()
    webhook = document["paths"]["/v1/era/clearinghouse"]["post"]
    assert webhook["security"] == [{"clearinghouseSignature": [], "clearinghouseSubmitter": []}]
    assert "403" not in webhook["responses"]


def test_operator_endpoints_declare_the_operator_token() -> None:
    document = service_app("intake").openapi()
    assert document["paths"]["/v1/organizations"]["post"]["security"] == [{"operatorToken": []}]
    assert document["paths"]["/admin/dead-letters"]["get"]["security"] == [{"operatorToken": []}]


async def test_every_sandbox_operation_declares_the_submitter_token_it_checks() -> None:
    from sandbox.main import create_app

    app = create_app()
    document = app.openapi()
    assert document["components"]["securitySchemes"]["submitterToken"]["scheme"] == "bearer"
    submitter = "00000000-0000-0000-0000-000000000000"
    bodies: dict[str, Any] = {
        "/v1/clock": {"submitter": submitter, "date": None},
        "/v1/behaviour": {"submitter": submitter},
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        for method, path, operation in operations(document):
            if not path.startswith("/v1/"):
                assert "security" not in operation
                continue
            assert operation["security"] == [{"submitterToken": []}], (method, path)
            answer = await http.request(
                method.upper(),
                path,
                json=bodies.get(path),
                params={"submitter": submitter},
                headers={"X-Claimflow-Submitter": submitter, "Authorization": "Bearer wrong"},
            )
            assert answer.status_code == 401, (method, path, answer.status_code, answer.text[:200])
