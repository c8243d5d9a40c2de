"""How many statements a single POST of an encounter sends to PostgreSQL.

Each statement is a round trip the EHR waits on, behind whatever else the machine is doing: the count is what bounds
intake's response time under load (docs/performance.md). intake-api counts every statement it sends, BEGIN and
COMMIT included, in `claimflow_db_statements_total`; nothing but requests uses its database (the relay runs in the
worker), so the counter's step over one POST is that POST's statements.
"""

from __future__ import annotations

import random
import uuid
from datetime import date

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.client import Tenant, base_url, encounter_body

pytestmark = pytest.mark.stack

# BEGIN, the tenant, the Idempotency-Key look-up, an earlier copy of the visit with the business date and the master
# data, the visit with its event and audit row, the stored answer, COMMIT.
ROUND_TRIPS = 7
# What each item of a batch adds: an earlier copy with the business date and the master data, the visit with its
# event and audit row (no savepoint of its own: an item refused has written nothing).
ROUND_TRIPS_PER_BATCH_ITEM = 2


async def statements_sent(env: dict[str, str]) -> float:
    """intake-api's statement counter."""
    async with httpx.AsyncClient(follow_redirects=True) as http:
        text = (await http.get(base_url(env, "intake") + "/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "claimflow_db_statements"
        for sample in family.samples
        if sample.name == "claimflow_db_statements_total" and sample.labels.get("process") == "api"
    )


async def test_a_single_post_of_an_encounter_makes_seven_round_trips(tenant: Tenant) -> None:
    env = tenant.client.env
    practice = tenant.practices[0]
    rng = random.Random(5)
    steps = []
    for number in range(3):  # the least of three, should anything else reach the API meanwhile
        body = encounter_body(practice, rng, date(2026, 9, 30), number)
        before = await statements_sent(env)
        answer = await tenant.request(
            "POST", "intake", "/v1/encounters", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert answer.status_code == 202, answer.text
        steps.append(await statements_sent(env) - before)

    assert min(steps) == ROUND_TRIPS, steps


async def test_each_item_of_a_batch_adds_two_round_trips(tenant: Tenant) -> None:
    env = tenant.client.env
    practice = tenant.practices[0]
    rng = random.Random(6)
    serial = iter(range(100, 1000))
    cost: dict[int, list[float]] = {1: [], 4: []}
    for _ in range(3):  # the least of three, should anything else reach the API meanwhile
        for size in cost:
            bodies = [encounter_body(practice, rng, date(2026, 9, 30), next(serial)) for _ in range(size)]
            before = await statements_sent(env)
            answer = await tenant.request(
                "POST",
                "intake",
                "/v1/encounters/batch",
                json={"encounters": bodies},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert answer.status_code == 200, answer.text
            assert [item["status"] for item in answer.json()["results"]] == [202] * size, answer.text
            cost[size].append(await statements_sent(env) - before)

    assert (min(cost[4]) - min(cost[1])) / 3 == ROUND_TRIPS_PER_BATCH_ITEM, cost
