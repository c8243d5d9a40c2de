"""Fixtures of the intake tests: the running stack and one fresh organization per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy import stack
from deploy.client import ClaimflowClient, Tenant, base_url, wait_until
from tests.db import connect_as


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """The running stack's configuration (started when the test command did not already)."""
    import os

    if not os.environ.get("CLAIMFLOW_STACK_READY"):
        stack.up()
    return stack.load_env()


@pytest.fixture
async def client(stack_env: dict[str, str]) -> AsyncIterator[ClaimflowClient]:
    """An HTTP client for the stack."""
    claimflow = ClaimflowClient(stack_env)
    yield claimflow
    await claimflow.close()


@pytest.fixture
async def organization(client: ClaimflowClient) -> Tenant:
    """A fresh organization with its first admin key and nothing else."""
    return await client.create_tenant(f"intake-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def other_organization(client: ClaimflowClient) -> Tenant:
    """A second organization, to prove another tenant's ids answer 404."""
    return await client.create_tenant(f"intake-other-{uuid.uuid4().hex[:8]}")


class MasterData:
    """Builds valid master-data bodies and creates them in one organization (ids are returned)."""

    # NPIs whose check digit was worked out by hand (Luhn over 80840 + the first nine digits).
    NPIS = ("1234567893", "1245319599", "1003000126", "1679576722")

    def __init__(self, organization: Tenant) -> None:
        self.organization = organization
        self.serial = 0

    def next(self) -> int:
        """A fresh number for unique names."""
        self.serial += 1
        return self.serial

    @staticmethod
    def address() -> dict[str, Any]:
        """A postal address."""
        return {"line1": "1 Lake Rd", "city": "Springfield", "state": "IL", "postal_code": "62701"}

    def practice_body(self, **changes: Any) -> dict[str, Any]:
        """A practice."""
        body = {
            "name": f"Practice {self.next()}",
            "npi": self.NPIS[0],
            "tin": "123456789",
            "taxonomy": "261QM0801X",
            "address": self.address(),
        }
        return {**body, **changes}

    def payer_body(self, **changes: Any) -> dict[str, Any]:
        """A payer with one profile."""
        body = {
            "name": f"Payer {self.next()}",
            "x12_payer_id": f"PAY{self.serial:03d}",
            "profiles": [{"effective_from": "2026-01-01", "timely_filing_days": 180}],
        }
        return {**body, **changes}

    def provider_body(self, practice_id: str, **changes: Any) -> dict[str, Any]:
        """A provider of a practice."""
        body = {
            "practice_id": practice_id,
            "first_name": "Alex",
            "last_name": f"Morgan{self.next()}",
            "npi": self.NPIS[1],
            "taxonomy": "1041C0700X",
            "license_type": "LCSW",
        }
        return {**body, **changes}

    def patient_body(self, practice_id: str, **changes: Any) -> dict[str, Any]:
        """A patient of a practice."""
        body = {
            "practice_id": practice_id,
            "first_name": "Jamie",
            "last_name": f"Doe{self.next()}",
            "birth_date": "1985-04-12",
            "sex": "F",
            "address": self.address(),
        }
        return {**body, **changes}

    def coverage_body(self, patient_id: str, payer_id: str, **changes: Any) -> dict[str, Any]:
        """A primary self coverage."""
        body = {
            "patient_id": patient_id,
            "payer_id": payer_id,
            "member_id": f"M{self.next():06d}",
            "start_date": "2026-01-01",
            "copay": "20.00",
        }
        return {**body, **changes}

    def authorization_body(self, patient_id: str, payer_id: str, **changes: Any) -> dict[str, Any]:
        """A prior authorization for psychotherapy."""
        body = {
            "patient_id": patient_id,
            "payer_id": payer_id,
            "number": f"AUTH-{self.next()}",
            "service_codes": ["90834", "90837"],
            "units_approved": 12,
            "units_used": 2,
            "start_date": "2026-01-01",
            "end_date": "2026-06-30",
        }
        return {**body, **changes}

    def fee_body(self, practice_id: str, **changes: Any) -> dict[str, Any]:
        """A fee schedule entry."""
        body = {"practice_id": practice_id, "code": "90837", "amount": "180.00", "effective_from": "2026-01-01"}
        return {**body, **changes}

    def user_body(self, **changes: Any) -> dict[str, Any]:
        """A user."""
        number = self.next()
        return {**{"name": f"User {number}", "email": f"user{number}@example.com", "role": "biller"}, **changes}

    async def create(self, plural: str, body: dict[str, Any]) -> str:
        """Create a record; its id."""
        return await self.organization.create(plural, body)

    async def graph(self) -> dict[str, str]:
        """One record of every kind, wired together: ids by kind."""
        ids = {"practice": await self.create("practices", self.practice_body())}
        ids["payer"] = await self.create("payers", self.payer_body())
        ids["provider"] = await self.create(
            "providers",
            self.provider_body(
                ids["practice"], credentialing=[{"payer_id": ids["payer"], "effective_from": "2026-01-01"}]
            ),
        )
        ids["patient"] = await self.create("patients", self.patient_body(ids["practice"]))
        ids["coverage"] = await self.create("coverages", self.coverage_body(ids["patient"], ids["payer"]))
        ids["authorization"] = await self.create(
            "authorizations", self.authorization_body(ids["patient"], ids["payer"])
        )
        ids["fee_schedule_entry"] = await self.create("fee-schedules", self.fee_body(ids["practice"]))
        ids["user"] = await self.create("users", self.user_body())
        return ids


async def wait_for_key(env: dict[str, str], api_key: str) -> None:
    """Wait until intake's key replica holds a key; asking the API instead would make it remember a miss for 5 s."""
    key_id = api_key[3:].partition(".")[0]

    async def replicated() -> bool:
        connection = await connect_as(env, "intake")
        try:
            return bool(await connection.fetchval("SELECT count(*) FROM intake.api_keys WHERE key_id = $1", key_id))
        finally:
            await connection.close()

    await wait_until(replicated, timeout=30, interval=0.05, what=f"API key {key_id} to reach intake's replica")


@pytest.fixture
def key_ready(stack_env: dict[str, str]) -> Any:
    """`await key_ready(api_key)`: wait until intake accepts a newly issued key."""

    async def wait(api_key: str) -> None:
        await wait_for_key(stack_env, api_key)

    return wait


async def intake_tenant(client: ClaimflowClient, name: str) -> Tenant:
    """A fresh organization whose admin key intake accepts (other services may not have it yet)."""
    response = await client.http.post(
        base_url(client.env, "intake") + "/v1/organizations",
        json={"name": name},
        headers={"Authorization": f"Bearer {client.env['CLAIMFLOW_OPERATOR_TOKEN']}"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    tenant = Tenant(client, created["organization_id"], created["admin_key"]["api_key"])
    await wait_for_key(client.env, tenant.api_key)
    return tenant


@pytest.fixture
async def master(client: ClaimflowClient) -> MasterData:
    """Master-data bodies and creation in a fresh organization of the test's own."""
    return MasterData(await intake_tenant(client, f"intake-master-{uuid.uuid4().hex[:8]}"))


@pytest.fixture
async def other_master(client: ClaimflowClient) -> MasterData:
    """Master-data bodies and creation in a second fresh organization."""
    return MasterData(await intake_tenant(client, f"intake-other-{uuid.uuid4().hex[:8]}"))


async def list_all(organization: Tenant, plural: str, limit: int = 200, **filters: str) -> list[dict[str, Any]]:
    """Every record of a list endpoint, following next_cursor."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit, **filters}
    while True:
        response = await organization.request("GET", "intake", f"/v1/{plural}", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


@pytest.fixture
def lister() -> Any:
    """`await lister(organization, plural, **filters)`: every record of a list endpoint."""
    return list_all
