"""Fixtures of the coding tests: encounter builders for the pure rules, the running stack for integration tests, and
coding's handlers applied to events on the real database."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest
from coding.config import CodingSettings
from coding.handlers import HANDLERS, REFERENCE_HANDLERS
from coding.models import care_management_months, charges
from sqlalchemy import select

from deploy import stack
from deploy.client import ClaimflowClient, Tenant
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalogue import build_event
from shared.events.encounter import EncounterAmended, EncounterFacts, EncounterReceived
from shared.events.envelope import Envelope
from shared.events.reference import ReferenceUpserted
from shared.settings import load_settings
from tests.db import outbox_rows

DATE_OF_SERVICE = date(2026, 10, 1)
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}


def build_visit(
    service_type: str = "psychotherapy",
    *,
    date_of_service: date = DATE_OF_SERVICE,
    place: str = "in_person",
    home: bool = False,
    license_type: str = "LCSW",
    birth_date: date = date(1980, 5, 1),
    mdm: str | None = None,
    flags: dict[str, Any] | None = None,
    work_queue_flags: list[dict[str, str]] | None = None,
    encounter_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    practice_id: uuid.UUID | None = None,
    payer_id: uuid.UUID | None = None,
    **minutes: int | None,
) -> EncounterFacts:
    """An encounter as intake publishes it, with only the facts a rule row cares about set.

    A flag value the contract would refuse (an undocumented factor) is set after validation, as a newer producer
    or a replayed old event could carry it.
    """
    flags = dict(flags or {})
    raw_factor = flags.pop("raw_interactive_complexity", None)
    facts = EncounterFacts.model_validate(
        {
            "encounter_id": str(encounter_id or uuid.uuid4()),
            "ehr_encounter_id": "EHR-1",
            "date_of_service": date_of_service.isoformat(),
            "service_type": service_type,
            "place_of_care": place,
            "patient_at_home": home,
            "minutes": minutes,
            "mdm_level": mdm,
            "diagnoses": ["F41.1", "F32.1"],
            "flags": flags,
            "practice": {
                "practice_id": str(practice_id or uuid.uuid4()),
                "name": "P",
                "npi": "1234567893",
                "tin": "123456789",
                "taxonomy": "261QM0801X",
                "address": ADDRESS,
            },
            "provider": {
                "provider_id": str(provider_id or uuid.uuid4()),
                "npi": "1234567893",
                "first_name": "A",
                "last_name": "B",
                "taxonomy": "101YM0800X",
                "license_type": license_type,
            },
            "patient": {
                "patient_id": str(patient_id or uuid.uuid4()),
                "first_name": "C",
                "last_name": "D",
                "birth_date": birth_date.isoformat(),
                "sex": "F",
                "address": ADDRESS,
            },
            "work_queue_flags": work_queue_flags or [],
            "coverage": None
            if payer_id is None
            else {
                "coverage_id": str(uuid.uuid4()),
                "payer_id": str(payer_id),
                "x12_payer_id": "ACME1",
                "payer_name": "Acme Health",
                "member_id": "M1",
            },
        }
    )
    if raw_factor is not None:
        facts = facts.model_copy(
            update={"flags": facts.flags.model_copy(update={"interactive_complexity": raw_factor})}
        )
    return facts


@pytest.fixture(scope="session")
def visit() -> Callable[..., EncounterFacts]:
    """Builder of encounters for pure rule tests."""
    return build_visit


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """The running stack's configuration (started when the test command did not already)."""
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
    """A fresh organization with its first admin key and its business date pinned to 2026-10-01."""
    tenant = await client.create_tenant(f"coding-{uuid.uuid4().hex[:8]}")
    await tenant.set_business_date(DATE_OF_SERVICE)
    return tenant


@pytest.fixture
async def sessions(stack_env: dict[str, str]) -> AsyncIterator[Any]:
    """Sessions of coding's runtime role on the stack's database."""
    engine = create_engine(load_settings(CodingSettings), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


class Coding:
    """Delivers events to coding's handlers for one organization and reads what coding did."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions
        self.organization_id = uuid.uuid4()

    async def deliver(self, event_type: str, payload: Any, subject: str, business_date: date) -> Envelope:
        """Apply one event as the consumer would (a fresh event id each time, like a re-publication)."""
        _, event = build_event(
            event_type,
            payload,
            source="intake",
            subject=subject,
            organization_id=self.organization_id,
            business_date=business_date,
            correlation_id=subject,
        )
        handler = HANDLERS.get(event_type) or REFERENCE_HANDLERS[event_type]
        async with unit_of_work(self.sessions, self.organization_id) as session:
            await handler(session, event)
        return event

    async def receive(self, facts: EncounterFacts, business_date: date = date(2026, 10, 1)) -> None:
        """encounter.received."""
        payload = EncounterReceived.model_validate(facts.model_dump())
        await self.deliver("encounter.received", payload, str(facts.encounter_id), business_date)

    async def amend(self, facts: EncounterFacts, number: int, business_date: date = date(2026, 10, 2)) -> None:
        """encounter.amended."""
        payload = EncounterAmended.model_validate({**facts.model_dump(), "amendment_number": number})
        await self.deliver("encounter.amended", payload, str(facts.encounter_id), business_date)

    async def reference(self, entity_id: uuid.UUID, entity: dict[str, Any]) -> None:
        """reference.upserted of a master-data entity."""
        payload = ReferenceUpserted.model_validate({"entity_id": str(entity_id), "entity": entity})
        await self.deliver("reference.upserted", payload, str(entity_id), date(2026, 9, 1))

    async def charges(self, encounter_id: uuid.UUID) -> list[Any]:
        """Charges of an encounter, by revision."""
        async with unit_of_work(self.sessions, self.organization_id) as session:
            rows = await session.execute(
                select(charges).where(charges.c.encounter_id == encounter_id).order_by(charges.c.revision)
            )
            return list(rows)

    async def charge(self, charge_id: str) -> Any:
        """One charge."""
        async with unit_of_work(self.sessions, self.organization_id) as session:
            return (await session.execute(select(charges).where(charges.c.charge_id == charge_id))).first()

    async def events(self, charge_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(type, payload) of the charge events queued for a charge id, in order."""
        rows = await outbox_rows(
            stack.load_env(), "coding", "SELECT value FROM coding.outbox WHERE message_key = $1 ORDER BY id", charge_id
        )
        events = [json.loads(row["value"]) for row in rows]
        return [
            (event["type"], event["data"]) for event in events if event["organizationid"] == str(self.organization_id)
        ]

    async def month(self, patient_id: uuid.UUID, month: date) -> Any:
        """How a patient-month was closed."""
        async with unit_of_work(self.sessions, self.organization_id) as session:
            table = care_management_months
            return (
                await session.execute(select(table).where(table.c.patient_id == patient_id, table.c.month == month))
            ).first()


@pytest.fixture
def coding(sessions: Any) -> Coding:
    """Coding for a fresh organization."""
    return Coding(sessions)
