"""A claim correction is checked as intake checks a visit, on the real database: a string that is no ICD-10-CM code
of the release in force on the claim's date of service, a code listed twice, a line pointing at no diagnosis, a
procedure code or modifier intake would refuse: each a 422 naming the field, the claim left as it was. A category
diagnosis is taken (intake takes it too) and the scrubber holds the claim for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.handlers import HANDLERS, REFERENCE_HANDLERS
from submission.main import create_app
from submission.models import claim_attempts, claims, infra, paused_senders

from shared.auth import generate_api_key
from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.reference import PayerProfile, PayerRef, ReferenceUpserted

pytestmark = pytest.mark.stack
DOS = date(2026, 9, 14)
LINE = {"line_number": 1, "procedure_code": "90834", "units": 1, "place_of_service": "11", "amount": "150.00"}


class HeldClaim:
    """A claim the scrubber held (a category diagnosis), with an API client of its organization."""

    def __init__(self, sessions: Any, http: httpx.AsyncClient, organization_id: uuid.UUID, claim_id: str) -> None:
        self.sessions, self.http, self.organization_id, self.claim_id = sessions, http, organization_id, claim_id
        self.headers: dict[str, str] = {}

    async def correct(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(f"/v1/claims/{self.claim_id}/corrections", json=body, headers=self.headers)

    async def attempts(self) -> int:
        async with unit_of_work(self.sessions, self.organization_id) as session:
            rows = await session.execute(select(claim_attempts.c.attempt_number))
            return len(rows.all())

    async def stored(self) -> Any:
        async with unit_of_work(self.sessions, self.organization_id) as session:
            return (await session.execute(select(claims).where(claims.c.claim_id == self.claim_id))).one()


async def _handle(sessions: Any, organization_id: uuid.UUID, handlers: Any, event_type: str, payload: Any) -> None:
    _, event = build_event(
        event_type,
        payload,
        source="coding",
        subject="x",
        organization_id=organization_id,
        business_date=date(2026, 9, 15),
        correlation_id=str(uuid.uuid4()),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await session.execute(  # the running stack's sender leaves this organization's batches to the test
            pg_insert(paused_senders).values(organization_id=organization_id, reason="test").on_conflict_do_nothing()
        )
        await handlers[event_type](session, event)


@pytest.fixture
async def held(sessions: Any, charges: Any) -> AsyncIterator[HeldClaim]:
    organization_id, payer_id = uuid.uuid4(), uuid.uuid4()
    profile = PayerProfile(effective_from=date(2026, 1, 1), credentialing_required=False)
    payer = PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[profile])
    upserted = ReferenceUpserted(entity_id=str(payer_id), entity=payer)
    await _handle(sessions, organization_id, REFERENCE_HANDLERS, "reference.upserted", upserted)
    base = charges.make(date_of_service=DOS, diagnoses=["F32.1", "F41"])
    charge = base.model_copy(update={"coverage": base.coverage.model_copy(update={"payer_id": payer_id})})
    await _handle(sessions, organization_id, HANDLERS, "charge.created", charge)
    async with unit_of_work(sessions, organization_id) as session:
        claim_id = (await session.execute(select(claims.c.claim_id))).scalar_one()
    key_id, secret, key_hash = generate_api_key()
    async with sessions() as session, session.begin():
        await session.execute(
            insert(infra.api_keys).values(
                key_id=key_id,
                organization_id=organization_id,
                key_hash=key_hash,
                scopes=["read", "claims:write"],
                practice_ids=[],
            )
        )
    app = create_app()
    app.state.sessions = sessions
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
        claim = HeldClaim(sessions, http, organization_id, claim_id)
        claim.headers = {"Authorization": f"Bearer {secret}"}
        yield claim


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
