"""API keys on the running stack: scopes, practice limits, owners, listing without secrets, revocation, the CLI."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

import pytest

from deploy.client import Tenant, wait_until

pytestmark = pytest.mark.stack


def as_tenant(organization: Tenant, api_key: str) -> Tenant:
    """The same organization, calling with another key."""
    return Tenant(organization.client, organization.organization_id, api_key)


async def cli(*arguments: str) -> tuple[int, Any, str]:
    """Run `python -m intake.cli ...`: (exit code, parsed JSON output or None, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "intake.cli",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, json.loads(out) if out.strip() else None, err.decode()


async def test_a_read_only_key_reads_but_cannot_write(master, key_ready):
    organization = master.organization
    practice_id = await master.create("practices", master.practice_body())
    issued = await organization.request("POST", "intake", "/v1/api-keys", json={"scopes": ["read"], "label": "viewer"})
    assert issued.status_code == 201, issued.text
    reader = as_tenant(organization, issued.json()["api_key"])
    await key_ready(reader.api_key)
    assert (await reader.request("GET", "intake", f"/v1/practices/{practice_id}")).status_code == 200
    assert (await reader.request("POST", "intake", "/v1/practices", json=master.practice_body())).status_code == 403
    assert (await reader.request("POST", "intake", "/v1/api-keys", json={"scopes": ["admin"]})).status_code == 403


async def test_keys_are_listed_without_secret_or_hash_and_revoked_keys_stop_working(master, key_ready):
    organization = master.organization
    user_id = await master.create("users", master.user_body())
    issued = await organization.request(
        "POST",
        "intake",
        "/v1/api-keys",
        json={"scopes": ["encounters:write", "read"], "user_id": user_id, "label": "ehr"},
    )
    assert issued.status_code == 201, issued.text
    created = issued.json()
    assert created["user_id"] == user_id
    secret = created["api_key"]
    listed = await organization.request("GET", "intake", "/v1/api-keys")
    assert listed.status_code == 200
    keys = {key["key_id"]: key for key in listed.json()["items"]}
    assert set(keys) == {created["key_id"], organization.api_key[3:].partition(".")[0]}
    assert keys[created["key_id"]]["user_id"] == user_id
    assert keys[created["key_id"]]["scopes"] == ["encounters:write", "read"]
    assert keys[created["key_id"]]["revoked"] is False
    assert secret.partition(".")[2] not in listed.text
    assert all("api_key" not in key and "key_hash" not in key for key in keys.values())

    writer = as_tenant(organization, secret)
    await key_ready(secret)
    assert (await writer.request("GET", "intake", "/v1/clock")).status_code == 200
    # A user who still owns a live key cannot be deleted.
    assert (await organization.request("DELETE", "intake", f"/v1/users/{user_id}")).status_code == 409
    revoked = await organization.request("DELETE", "intake", f"/v1/api-keys/{created['key_id']}")
    assert revoked.status_code == 204

    async def refused() -> bool:
        return (await writer.request("GET", "intake", "/v1/clock")).status_code == 401

    await wait_until(refused, timeout=30, what="the revoked key to be refused")
    only_revoked = await organization.request("GET", "intake", "/v1/api-keys", params={"revoked": "true"})
    assert [key["key_id"] for key in only_revoked.json()["items"]] == [created["key_id"]]
    assert (await organization.request("DELETE", "intake", f"/v1/users/{user_id}")).status_code == 204


async def test_another_organization_cannot_revoke_or_see_a_key(master, other_master):
    issued = await master.organization.request("POST", "intake", "/v1/api-keys", json={"scopes": ["read"]})
    key_id = issued.json()["key_id"]
    other = other_master.organization
    assert (await other.request("DELETE", "intake", f"/v1/api-keys/{key_id}")).status_code == 404
    listed = (await other.request("GET", "intake", "/v1/api-keys")).json()["items"]
    assert key_id not in {key["key_id"] for key in listed}


async def test_a_key_limited_to_some_practices_cannot_issue_a_wider_key(master, key_ready):
    organization = master.organization
    own = await master.create("practices", master.practice_body())
    other = await master.create("practices", master.practice_body())
    issued = await organization.request(
        "POST", "intake", "/v1/api-keys", json={"scopes": ["admin"], "practice_ids": [own]}
    )
    limited_admin = as_tenant(organization, issued.json()["api_key"])
    await key_ready(limited_admin.api_key)
    for body in ({"scopes": ["read"]}, {"scopes": ["read"], "practice_ids": [own, other]}):
        wider = await limited_admin.request("POST", "intake", "/v1/api-keys", json=body)
        assert wider.status_code == 422, wider.text
        assert [e["field"] for e in wider.json()["errors"]] == ["practice_ids"]
    narrower = await limited_admin.request(
        "POST", "intake", "/v1/api-keys", json={"scopes": ["read"], "practice_ids": [own]}
    )
    assert narrower.status_code == 201
    # It sees only keys within its practices, and cannot change practices or organization-wide records.
    listed = (await limited_admin.request("GET", "intake", "/v1/api-keys")).json()["items"]
    assert {key["key_id"] for key in listed} == {issued.json()["key_id"], narrower.json()["key_id"]}
    for plural, body in (
        ("practices", master.practice_body()),
        ("payers", master.payer_body()),
        ("users", master.user_body()),
    ):
        refused = await limited_admin.request("POST", "intake", f"/v1/{plural}", json=body)
        assert refused.status_code == 403, (plural, refused.text)
    # Records of its own practice it still manages.
    own_patient = await limited_admin.request("POST", "intake", "/v1/patients", json=master.patient_body(own))
    assert own_patient.status_code == 201, own_patient.text


async def test_an_idempotent_retry_of_a_key_issue_returns_the_same_key_without_its_secret(master):
    organization = master.organization
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = await organization.request("POST", "intake", "/v1/api-keys", json={"scopes": ["read"]}, headers=headers)
    again = await organization.request("POST", "intake", "/v1/api-keys", json={"scopes": ["read"]}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["key_id"] == again.json()["key_id"]
    assert first.json()["api_key"].startswith(f"cf_{first.json()['key_id']}.")
    assert again.json()["api_key"] is None
    listed = (await organization.request("GET", "intake", "/v1/api-keys")).json()["items"]
    assert len(listed) == 2  # the first admin key and this one


async def test_the_cli_creates_an_organization_issues_and_revokes_keys(client, key_ready):
    code, created, err = await cli("create-organization", f"CLI {uuid.uuid4().hex[:6]}")
    assert code == 0, err
    organization = Tenant(client, created["organization_id"], created["admin_key"]["api_key"])
    await key_ready(organization.api_key)
    practice = await organization.request(
        "POST",
        "intake",
        "/v1/practices",
        json={
            "name": "CLI Practice",
            "npi": "1234567893",
            "tin": "123456789",
            "taxonomy": "261QM0801X",
            "address": {"line1": "1 Lake Rd", "city": "Springfield", "state": "IL", "postal_code": "62701"},
        },
    )
    assert practice.status_code == 201, practice.text
    practice_id = practice.json()["id"]
    code, issued, err = await cli(
        "create-key", "--organization", organization.organization_id, "--scope", "read", "--practice", practice_id
    )
    assert code == 0, err
    assert issued["practice_ids"] == [practice_id]
    reader = as_tenant(organization, issued["api_key"])
    await key_ready(reader.api_key)
    assert (await reader.request("GET", "intake", f"/v1/practices/{practice_id}")).status_code == 200
    code, _, err = await cli("create-key", "--organization", organization.organization_id, "--scope", "superuser")
    assert code != 0
    assert "superuser" in err
    code, revoked, err = await cli("revoke-key", issued["key_id"])
    assert code == 0, err
    assert revoked["organization_id"] == organization.organization_id

    async def refused() -> bool:
        return (await reader.request("GET", "intake", f"/v1/practices/{practice_id}")).status_code == 401

    await wait_until(refused, timeout=30, what="the key revoked by the CLI to be refused")
    code, _, err = await cli("revoke-key", "0123456789ab")
    assert code == 1
    assert "no API key" in err
