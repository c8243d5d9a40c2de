"""Batches of encounters and request limits on the running stack: a result per item, nothing partial stored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from deploy.client import Tenant
from services.intake.tests.test_encounters_support import Clinic
from tests.db import connect_as

pytestmark = pytest.mark.stack


@pytest.fixture
async def clinic(organization: Tenant, stack_env: dict[str, str]) -> Clinic:
    """A practice with a provider and a patient covered from 2026-01-01."""
    return await Clinic.create(organization, stack_env)


async def test_each_item_gets_its_own_result_and_a_bad_one_does_not_lose_the_good_ones(clinic: Clinic) -> None:
    items = [
        clinic.encounter(ehr_encounter_id="B-1"),
        clinic.encounter(ehr_encounter_id="B-2", diagnoses=["F41.1", "F99.999"]),
        clinic.encounter(ehr_encounter_id="B-3", minutes={}),
        clinic.encounter(ehr_encounter_id="B-4", provider_id="00000000-0000-4000-8000-000000000009"),
        {"ehr_encounter_id": "B-5", "unknown": True},
        clinic.encounter(ehr_encounter_id="B-1"),
    ]
    response = await clinic.post("/v1/encounters/batch", {"encounters": items})
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["status"] for r in result["results"]] == [202, 422, 202, 422, 422, 200]
    assert [r["index"] for r in result["results"]] == [0, 1, 2, 3, 4, 5]
    assert (result["received"], result["already_received"], result["refused"]) == (2, 1, 3)
    assert result["results"][1]["problem"]["errors"] == [
        {"field": "diagnoses.1", "pointer": "/diagnoses/1", "reason": "'F99.999' exists in no ICD-10-CM code set"}
    ]
    assert result["results"][3]["problem"]["errors"][0]["field"] == "provider_id"
    assert "unknown" in [e["field"] for e in result["results"][4]["problem"]["errors"]]
    assert result["results"][2]["work_queue_flags"][0]["reason_code"] == "MINUTES-MISSING"
    assert result["results"][5]["encounter_id"] == result["results"][0]["encounter_id"]

    stored = {row["ehr_encounter_id"] for row in await clinic.encounter_rows()}
    assert stored == {"B-1", "B-3"}
    assert [e["data"]["ehr_encounter_id"] for e in await clinic.events("encounter.received")] == ["B-1", "B-3"]


async def test_an_item_losing_a_race_with_a_concurrent_copy_is_refused_having_written_nothing(clinic: Clinic) -> None:
    """The copy is stored by another transaction after the item looked for it and before it stored its own."""
    organization_id = clinic.tenant.organization_id
    other = await connect_as(clinic.env, "intake")
    watcher = await connect_as(clinic.env, "intake")
    try:
        copy = other.transaction()
        await copy.start()
        await other.execute("SELECT set_config('claimflow.organization_id', $1, true)", organization_id)
        await other.execute(
            "INSERT INTO intake.encounters (organization_id, encounter_id, practice_id, ehr_encounter_id, patient_id,"
            " date_of_service, status, received_date, snapshot) "
            "VALUES ($1, $2, $3, 'RACE-1', $4, '2026-05-04', 'received', '2026-05-04', '{}')",
            uuid.UUID(organization_id),
            uuid.uuid4(),
            uuid.UUID(clinic.ids["practice"]),
            uuid.UUID(clinic.ids["patient"]),
        )
        items = [clinic.encounter(ehr_encounter_id="RACE-1"), clinic.encounter(ehr_encounter_id="RACE-2")]
        posting = asyncio.create_task(clinic.post("/v1/encounters/batch", {"encounters": items}))
        for _ in range(200):  # until the item's insert waits for the copy's transaction
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> $1",
                other.get_server_pid(),
            )
            if waiting or posting.done():
                break
            await asyncio.sleep(0.05)
        assert not posting.done(), (await posting).text
        assert waiting, "the batch's insert never waited for the concurrent copy"
        await copy.commit()
        response = await posting
    finally:
        await other.close()
        await watcher.close()

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [409, 202]
    assert [e["data"]["ehr_encounter_id"] for e in await clinic.events("encounter.received")] == ["RACE-2"]
    assert [row["resource_id"] for row in await clinic.audit_rows("create")] == [results[1]["encounter_id"]]


async def test_a_batch_retried_with_its_idempotency_key_creates_nothing_twice(clinic: Clinic) -> None:
    body = {"encounters": [clinic.encounter(ehr_encounter_id=f"R-{n}") for n in range(3)]}
    first = await clinic.post("/v1/encounters/batch", body, **{"Idempotency-Key": "batch-1"})
    retry = await clinic.post("/v1/encounters/batch", body, **{"Idempotency-Key": "batch-1"})
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert len(await clinic.encounter_rows()) == 3
    assert len(await clinic.events()) == 3


async def test_a_batch_over_500_items_is_refused_whole_naming_the_limit(clinic: Clinic) -> None:
    body = {"encounters": [clinic.encounter(ehr_encounter_id=f"O-{n}") for n in range(501)]}
    response = await clinic.post("/v1/encounters/batch", body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "encounters"
    assert "500" in error["reason"]
    assert await clinic.encounter_rows() == []
    assert await clinic.events() == []


async def test_a_batch_of_exactly_500_is_accepted(clinic: Clinic) -> None:
    body = {"encounters": [clinic.encounter(ehr_encounter_id=f"F-{n}") for n in range(500)]}
    response = await clinic.post("/v1/encounters/batch", body)
    assert response.status_code == 200
    assert response.json()["received"] == 500
    assert len(await clinic.events()) == 500


async def test_a_body_over_the_size_limit_is_refused_with_413_whether_declared_or_streamed(clinic: Clinic) -> None:
    oversized = clinic.encounter(ehr_encounter_id="X" * 80)
    padding = b'{"encounters": [' + b",".join([b'{"pad": "' + b"x" * 1_000_000 + b'"}'] * 6) + b"]}"

    declared = await clinic.tenant.request(
        "POST", "intake", "/v1/encounters/batch", content=padding, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"].startswith("application/problem+json")
    assert "5000000" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(padding), 65536):
            yield padding[start : start + 65536]

    streamed = await clinic.tenant.request(
        "POST", "intake", "/v1/encounters/batch", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert (await clinic.post("/v1/encounters", oversized)).status_code == 202
    assert len(await clinic.encounter_rows()) == 1
