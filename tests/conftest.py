"""Fixtures for tests against the running local stack: one stack per run, one organization per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest

from deploy import stack
from deploy.client import ClaimflowClient, Tenant, seed_payers, seed_practice


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """The running stack's configuration; starts the stack when the test command did not already."""
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
async def tenant(client: ClaimflowClient) -> Tenant:
    """A fresh organization with one seeded practice, paid immediately by the sandbox clearinghouse."""
    organization = await client.create_tenant(f"test-{uuid.uuid4().hex[:8]}")
    await organization.set_business_date(date(2026, 10, 1))
    payer_ids = await seed_payers(organization)
    await seed_practice(organization, name="Test Practice", seed=1, payer_ids=payer_ids, providers=2, patients=5)
    await organization.sandbox(
        "PUT",
        "/v1/behaviour",
        json={"submitter": organization.organization_id, "payment_lag_business_days": 0, "denial_rate": 0.0},
    )
    return organization
