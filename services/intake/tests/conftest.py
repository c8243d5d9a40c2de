"""Fixtures of the intake tests: the running stack and one fresh organization per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from deploy import stack
from deploy.client import ClaimflowClient, Tenant


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
