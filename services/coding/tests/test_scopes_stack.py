"""Coding's endpoints and the scopes they need: reading takes `read`; every action that changes what is billed
(resolving a hold, closing a care-management month) takes `claims:write`, as corrections and denial work do."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.client import Tenant, wait_until

pytestmark = pytest.mark.stack


async def issue_key(organization: Tenant, *scopes: str) -> Tenant:
    """The same organization calling with a new key of the given scopes, once coding knows the key."""
    issued = await organization.request("POST", "intake", "/v1/api-keys", json={"scopes": list(scopes)})
    assert issued.status_code == 201, issued.text
    caller = Tenant(organization.client, organization.organization_id, issued.json()["api_key"])

    async def known() -> bool:
        return (await caller.request("GET", "coding", "/v1/care-management/months/2026-09")).status_code != 401

    await wait_until(known, timeout=30, what=f"coding to learn the {'+'.join(scopes)} key")
    return caller


async def coding_operations(organization: Tenant) -> list[tuple[str, str]]:
    """(method, path) of every /v1 operation coding's OpenAPI document declares, path parameters filled in."""
    document: dict[str, Any] = (await organization.request("GET", "coding", "/openapi.json")).json()
    filled = {"{charge_id}": f"cm-{uuid.uuid4()}-2026-09", "{month}": "2026-09"}
    operations = []
    for path, methods in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for name, value in filled.items():
            path = path.replace(name, value)
        operations.extend((method.upper(), path) for method in methods)
    return operations


BODIES = {"/resolve": {"action": "reject", "reason": "not documented"}}


def body_for(path: str) -> dict[str, Any] | None:
    """A valid request body for the operations that take one."""
    return next((body for suffix, body in BODIES.items() if path.endswith(suffix)), None)


async def test_an_encounters_write_key_can_neither_resolve_holds_nor_close_months(organization: Tenant) -> None:
    ehr = await issue_key(organization, "encounters:write", "read")
    biller = await issue_key(organization, "claims:write", "read")
    operations = await coding_operations(organization)
    writes = [(method, path) for method, path in operations if method != "GET"]
    assert {path.rsplit("/", 1)[-1] for _, path in writes} == {"resolve", "close"}
    for method, path in writes:
        refused = await ehr.request(method, "coding", path, json=body_for(path))
        assert refused.status_code == 403, (method, path, refused.text)
        assert "claims:write" in refused.json()["detail"]
        # With claims:write the request gets past the scope check (the charge is unknown, the clock not started).
        allowed = await biller.request(method, "coding", path, json=body_for(path))
        assert allowed.status_code in (404, 409), (method, path, allowed.text)


async def test_a_read_key_reads_every_collection_and_changes_nothing(organization: Tenant) -> None:
    reader = await issue_key(organization, "read")
    for method, path in await coding_operations(organization):
        answer = await reader.request(method, "coding", path, json=body_for(path))
        if method == "GET":
            assert answer.status_code in (200, 404), (path, answer.text)
        else:
            assert answer.status_code == 403, (method, path, answer.text)
