"""A claim correction is checked as intake checks a visit, on the real database: a string that is no ICD-10-CM code
of the release in force on the claim's date of service, a code listed twice, a line pointing at no diagnosis, a
procedure code or modifier intake would refuse: each a 422 naming the field, the claim left as it was. A category
diagnosis is taken (intake takes it too) and the scrubber holds the claim for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from submission.models import claim_attempts, claims

from shared.db import unit_of_work

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 14)
LINE = {"line_number": 1, "procedure_code": "90834", "units": 1, "place_of_service": "11", "amount": "150.00"}


class HeldClaim:
    """A claim the scrubber held (a category diagnosis), with an API client of its organization."""

    def __init__(self, biller: Any, http: httpx.AsyncClient, claim_id: str, headers: dict[str, str]) -> None:
        self.biller, self.http, self.claim_id, self.headers = biller, http, claim_id, headers

    async def correct(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(f"/v1/claims/{self.claim_id}/corrections", json=body, headers=self.headers)

    async def attempts(self) -> int:
        async with unit_of_work(self.biller.sessions, self.biller.id) as session:
            return len((await session.execute(select(claim_attempts.c.attempt_number))).all())

    async def stored(self) -> Any:
        async with unit_of_work(self.biller.sessions, self.biller.id) as session:
            return (await session.execute(select(claims).where(claims.c.claim_id == self.claim_id))).one()


@pytest.fixture
async def held(biller: Any, charges: Any) -> AsyncIterator[HeldClaim]:
    claim_id = await biller.claim(charges.make(date_of_service=DOS, diagnoses=["F32.1", "F41"]), await biller.payer())
    headers = await biller.key(["read", "claims:write"])
    async with biller.api() as http:
        yield HeldClaim(biller, http, claim_id, headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"diagnoses": ["F32.1", "XYZ"]}, "diagnoses.1"),  # not the shape of a code
        ({"diagnoses": ["F99.999"]}, "diagnoses.0"),  # the shape, but in no release
        ({"diagnoses": ["296.30"]}, "diagnoses.0"),  # ICD-9
        ({"diagnoses": ["U99.9", "F41.1"]}, "diagnoses.0"),
        ({"diagnoses": ["F41.1", "f411"]}, "diagnoses.1"),  # the same code twice once normalized
        ({"diagnoses": ["F41.1"]}, "diagnoses"),  # the kept line points at diagnosis 2
        ({"lines": [{**LINE, "diagnosis_pointers": [3]}]}, "lines.0.diagnosis_pointers.0"),
        ({"lines": [{**LINE, "diagnosis_pointers": [1, 1]}]}, "lines.0.diagnosis_pointers.1"),
        ({"lines": [{**LINE, "diagnosis_pointers": [1]}, {**LINE, "diagnosis_pointers": [2]}]}, "lines.1.line_number"),
        ({"lines": [{**LINE, "procedure_code": "A123B", "diagnosis_pointers": [1]}]}, "lines.0.procedure_code"),
        ({"lines": [{**LINE, "modifiers": ["9"], "diagnosis_pointers": [1]}]}, "lines.0.modifiers.0"),
        ({"lines": [{**LINE, "modifiers": ["95!"], "diagnosis_pointers": [1]}]}, "lines.0.modifiers.0"),
    ],
)
async def test_a_correction_intake_would_refuse_is_a_422_naming_the_field_and_changes_nothing(
    held: HeldClaim, body: dict[str, Any], field: str
) -> None:
    before = await held.stored()
    response = await held.correct(body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]], response.text
    after = await held.stored()
    assert (after.status, after.charge) == (before.status, before.charge)
    assert await held.attempts() == 1


async def test_a_correction_takes_codes_as_intake_does_in_dotted_form(held: HeldClaim) -> None:
    response = await held.correct({"diagnoses": ["f321", " F41.1 "]})
    assert response.status_code == 202, response.text
    stored = await held.stored()
    assert stored.charge["diagnoses"] == ["F32.1", "F41.1"]
    assert stored.status == "queued"


async def test_a_category_diagnosis_is_taken_and_the_scrubber_holds_the_claim_for_it(held: HeldClaim) -> None:
    response = await held.correct({"diagnoses": ["F32.1", "F43.1"]})
    assert response.status_code == 202, response.text
    view = response.json()
    assert view["status"] == "held"
    assert "DX-NOT-BILLABLE" in {edit["rule_id"] for edit in view["scrub_edits"]}
