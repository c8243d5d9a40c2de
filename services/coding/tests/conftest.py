"""Fixtures of the coding tests: encounter builders for the pure rules, the running stack for integration tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest

from deploy import stack
from deploy.client import ClaimflowClient, Tenant
from shared.events.encounter import EncounterFacts

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
