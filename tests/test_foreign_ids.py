"""Every service answers another organization's (or an unknown) practice, provider or payer id in a list's filters
the way intake answers it in a body: 422 naming the field, never an empty 200 that reads as "nothing there"."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.client import ClaimflowClient, Tenant, seed_payers, seed_practice, wait_until

pytestmark = pytest.mark.stack

# (service, list path, filter, kind of id)
FILTERS = [
    ("coding", "/v1/charges", "practice_id", "practice"),
    ("coding", "/v1/charges", "provider_id", "provider"),
    ("coding", "/v1/holds", "practice_id", "practice"),
    ("coding", "/v1/care-management/months/2026-09", "practice_id", "practice"),
    ("submission", "/v1/claims", "practice_id", "practice"),
    ("submission", "/v1/claims", "payer_id", "payer"),
    ("submission", "/v1/claims", "provider_id", "provider"),
    ("submission", "/v1/work-queues/scrubber_hold", "practice_id", "practice"),
    ("remittance", "/v1/denials", "practice_id", "practice"),
    ("remittance", "/v1/denials", "payer_id", "payer"),
    ("remittance", "/v1/underpayments", "practice_id", "practice"),
    ("remittance", "/v1/underpayments", "payer_id", "payer"),
    ("analytics", "/v1/kpis", "practice_id", "practice"),
]


@pytest.fixture(scope="module")
async def organizations(stack_env: dict[str, str]) -> Any:
    """Two organizations, each with a practice, a provider and payers: (tenant, its ids) each."""
    client = ClaimflowClient(stack_env)
    seeded = []
    for name in ("own", "other"):
        tenant = await client.create_tenant(f"foreign-ids-{name}-{uuid.uuid4().hex[:8]}")
        payer_ids = await seed_payers(tenant)
        practice = await seed_practice(
            tenant, name=f"{name} practice", seed=3, payer_ids=payer_ids, providers=1, patients=1
        )
        ids = {"practice": practice["practice_id"], "provider": practice["provider_ids"][0], "payer": payer_ids[0]}
        seeded.append((tenant, ids))
    yield seeded
    await client.close()


async def answer(tenant: Tenant, service: str, path: str, field: str, value: str) -> Any:
    """The list's answer to one filter."""
    as_of = {"as_of": "2026-10-01"} if service == "analytics" else {}  # a new organization has no business date yet
    return await tenant.request("GET", service, path, params={field: value, **as_of})


@pytest.mark.parametrize(("service", "path", "field", "kind"), FILTERS, ids=[f"{s}:{p}:{f}" for s, p, f, _ in FILTERS])
async def test_another_organizations_or_an_unknown_id_in_a_list_filter_is_a_422_naming_it(
    organizations: Any, service: str, path: str, field: str, kind: str
) -> None:
    (tenant, own_ids), (_, other_ids) = organizations
    own = own_ids[kind]

    async def own_id_known() -> bool:
        return (await answer(tenant, service, path, field, own)).status_code == 200

    await wait_until(own_id_known, timeout=30, what=f"{service} to know the organization's own {kind}")
    for foreign in (other_ids[kind], str(uuid.uuid4())):
        refused = await answer(tenant, service, path, field, foreign)
        assert refused.status_code == 422, (refused.status_code, refused.text[:300])
        errors = refused.json()["errors"]
        assert [error["field"] for error in errors] == [field]
        assert errors[0]["reason"] == f"no {kind} {foreign} in this organization"
