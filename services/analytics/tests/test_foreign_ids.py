"""Analytics answers another organization's (or an unknown) practice, provider or payer id exactly as intake answers
the same id inside a request body (422 naming the field): on every endpoint of the API in process, and through the
running stack side by side with intake."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from deploy.client import ClaimflowClient, Tenant, encounter_body, seed_payers, seed_practice, wait_until
from deploy.stack import load_env
from services.analytics.tests.api_support import (
    api_key_for,
    feed,
    kpi,
    refused_as_intake_refuses,
    replicate,
    replicate_master_data,
)
from shared.auth import generate_api_key
from shared.events.reference import ApiKeyRef

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def two_organizations() -> AsyncIterator[tuple[Tenant, Tenant]]:
    """Organization A and organization B, each with a practice, providers, patients and payers."""
    client = ClaimflowClient(load_env())
    tenants = []
    for name in ("a", "b"):
        tenant = await client.create_tenant(f"foreign-ids-{name}-{uuid.uuid4().hex[:6]}")
        payers = await seed_payers(tenant)
        await seed_practice(tenant, name=f"Practice {name}", seed=31, payer_ids=payers, providers=1, patients=1)
        tenant.practices[0]["payer_ids"] = payers
        tenants.append(tenant)
    yield tenants[0], tenants[1]
    await client.close()


def problem_of(answer: Any) -> tuple[int, str, str, list[dict[str, Any]]]:
    """Status, title, type and field errors of a problem+json answer."""
    body = answer.json()
    return answer.status_code, body["title"], body["type"], body["errors"]


async def test_analytics_answers_another_organizations_ids_as_intake_does(two_organizations):
    a, b = two_organizations
    theirs = b.practices[0]
    foreign = {
        "practice_id": ("practice", theirs["practice_id"]),
        "provider_id": ("provider", theirs["provider_ids"][0]),
        "payer_id": ("payer", theirs["payer_ids"][0]),
    }

    async def b_is_replicated() -> bool:
        for field, (_, entity_id) in foreign.items():
            answer = await b.request("GET", "analytics", "/v1/kpis", params={field: entity_id, "as_of": "2026-10-01"})
            if answer.status_code != 200:
                return False
        return True

    await wait_until(b_is_replicated, timeout=30, what="organization B's master data to reach analytics")

    # Intake, given B's practice inside A's encounter, and B's practice inside A's new provider.
    body = encounter_body(a.practices[0], random.Random(1), date(2026, 10, 1), 0)
    encounter = await a.request("POST", "intake", "/v1/encounters", json={**body, "practice_id": theirs["practice_id"]})
    provider = await a.request(
        "POST",
        "intake",
        "/v1/providers",
        json={
            "practice_id": theirs["practice_id"],
            "first_name": "X",
            "last_name": "Y",
            "npi": "1234567893",
            "taxonomy": "101YM0800X",
            "license_type": "LCSW",
        },
    )
    intake = problem_of(encounter)
    assert problem_of(provider) == intake
    assert (intake[0], intake[3][0]["field"]) == (422, "practice_id")
    assert intake[3][0]["reason"] == f"no practice {theirs['practice_id']} in this organization"

    for field, (kind, entity_id) in foreign.items():
        expected = as_intake_would(intake, field, f"no {kind} {entity_id} in this organization")
        for path in ("/v1/kpis", "/v1/kpis.csv", "/v1/claims"):
            answer = await a.request("GET", "analytics", path, params={field: entity_id})
            assert problem_of(answer) == expected, (path, answer.text)
    link = await a.request("POST", "analytics", "/v1/dashboard-links", json={"practice_id": theirs["practice_id"]})
    assert problem_of(link) == intake
    # B reads its own practice's KPIs: the refusal is about whose id it is.
    own = await b.request("POST", "analytics", "/v1/dashboard-links", json={"practice_id": theirs["practice_id"]})
    assert own.status_code == 201, own.text


def as_intake_would(
    intake: tuple[int, str, str, list[dict[str, Any]]], field: str, reason: str
) -> tuple[int, str, str, list[dict[str, Any]]]:
    """Intake's answer to another organization's practice, for another field and reason (same shape, same keys)."""
    status, title, problem_type, errors = intake
    error = {**errors[0], "field": field, "reason": reason}
    if "pointer" in error:
        error["pointer"] = f"/{field}"
    return status, title, problem_type, [error]


async def test_every_endpoint_taking_a_practice_provider_or_payer_refuses_another_organizations_or_an_unknown_one(
    sessions, client, worked
):
    await feed(sessions, worked.events)
    own = {"practice_id": worked.practice_id, "provider_id": worked.provider_id, "payer_id": worked.payer_id}
    await replicate_master_data(sessions, worked.organization_id, **own)
    other_organization = uuid.uuid4()
    foreign = {"practice_id": uuid.uuid4(), "provider_id": uuid.uuid4(), "payer_id": uuid.uuid4()}
    await replicate_master_data(sessions, other_organization, **foreign)
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, worked.organization_id)}"}
    kinds = {"practice_id": "practice", "provider_id": "provider", "payer_id": "payer"}
    link = await client.post("/v1/dashboard-links", json={}, headers=headers)
    token = link.json()["token"]

    for field, kind in kinds.items():
        for entity_id in (foreign[field], uuid.uuid4()):
            params = {field: str(entity_id), "as_of": "2026-10-31"}
            for path, extra in (
                ("/v1/kpis", {}),
                ("/v1/kpis", {"format": "csv"}),
                ("/v1/kpis.csv", {}),
                ("/v1/claims", {}),
            ):
                response = await client.get(path, params={**params, **extra}, headers=headers)
                refused_as_intake_refuses(response, field, kind, entity_id)
            if field == "practice_id":
                made = await client.post("/v1/dashboard-links", json={"practice_id": str(entity_id)}, headers=headers)
                refused_as_intake_refuses(made, field, kind, entity_id)
                page = await client.get("/v1/dashboard", params={"token": token, "practice_id": str(entity_id)})
                refused_as_intake_refuses(page, field, kind, entity_id)
    # The organization's own ids answer as before: days in A/R 66.6 for its practice, provider and payer.
    for field, entity_id in own.items():
        report = await client.get("/v1/kpis", params={field: str(entity_id), "as_of": "2026-10-31"}, headers=headers)
        assert report.status_code == 200, report.text
        assert kpi(report.json(), "days_in_ar")["value"] == "66.6"
        assert (await client.get("/v1/claims", params={field: str(entity_id)}, headers=headers)).status_code == 200
    practice_link = await client.post(
        "/v1/dashboard-links", json={"practice_id": str(worked.practice_id)}, headers=headers
    )
    assert practice_link.status_code == 201, practice_link.text
    opened = await client.get("/v1/dashboard", params={"token": token, "practice_id": str(worked.practice_id)})
    assert opened.status_code == 200, opened.text


async def test_a_key_limited_to_a_practice_is_refused_a_provider_of_another_practice(sessions, client, worked):
    await feed(sessions, worked.events)
    await replicate_master_data(
        sessions,
        worked.organization_id,
        practice_id=worked.practice_id,
        provider_id=worked.provider_id,
        payer_id=worked.payer_id,
    )
    other_practice, other_provider = uuid.uuid4(), uuid.uuid4()
    await replicate_master_data(
        sessions, worked.organization_id, practice_id=other_practice, provider_id=other_provider, payer_id=uuid.uuid4()
    )
    key_id, secret, key_hash = generate_api_key()
    limited = ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=["read"], practice_ids=[worked.practice_id])
    await replicate(sessions, worked.organization_id, key_id, limited)
    headers = {"Authorization": f"Bearer {secret}"}

    refused = await client.get("/v1/kpis", params={"provider_id": str(other_provider)}, headers=headers)
    own = await client.get("/v1/kpis", params={"provider_id": str(worked.provider_id)}, headers=headers)

    refused_as_intake_refuses(refused, "provider_id", "provider", other_provider)
    assert own.status_code == 200, own.text
