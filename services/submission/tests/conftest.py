"""Fixtures of the submission tests: charges to bill, pyx12 validation and the real-world sample folder."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox.sftp_server import MailboxServer
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.handlers import HANDLERS, REFERENCE_HANDLERS
from submission.main import create_app
from submission.models import claims, infra, paused_senders

from shared.auth import generate_api_key
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalogue import ChargeCreatedEvent, build_event
from shared.events.charge import ChargeCreated, ChargeLine
from shared.events.encounter import (
    AuthorizationSnapshot,
    CoverageSnapshot,
    PatientSnapshot,
    PracticeSnapshot,
    ProviderSnapshot,
    SubscriberSnapshot,
)
from shared.events.reference import Address, PayerProfile, PayerRef, PracticeRef, ReferenceUpserted
from shared.events.remittance import RemittancePosted
from shared.settings import load_settings

REPO_ROOT = Path(__file__).resolve().parents[3]
X12VALID = Path(sys.executable).parent / "x12valid"


def samples_dir() -> Path:
    """Where the real-world sample files live (CLAIMFLOW_SAMPLES_DIR, default <repo>/../shared/samples)."""
    return Path(os.environ.get("CLAIMFLOW_SAMPLES_DIR", REPO_ROOT.parent / "shared" / "samples"))


def pyx12_verdict(text: str, folder: Path, name: str = "file.x12") -> tuple[bool, str]:
    """Validate an X12 file with pyx12's x12valid: (the '<file>: OK' verdict, everything it printed)."""
    path = folder / name
    path.write_text(text)
    result = subprocess.run([str(X12VALID), name], cwd=folder, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    return f"{name}: OK" in output, output


ADDRESS = Address(line1="100 Main St", city="Springfield", state="IL", postal_code="62701")


def make_charge(**changes: Any) -> ChargeCreated:
    """A coded 90834 psychotherapy charge for an adult patient who is the subscriber; override any field."""
    facts: dict[str, Any] = {
        "charge_id": str(uuid.uuid4()),
        "encounter_id": uuid.uuid4(),
        "date_of_service": date(2026, 9, 14),
        "charge_posted_date": date(2026, 9, 15),
        "program": "outpatient_therapy",
        "practice": PracticeSnapshot(
            practice_id=uuid.UUID("11111111-1111-4111-8111-111111111111"),
            name="Lakeside Counseling",
            npi="1234567893",
            tin="123456789",
            taxonomy="261QM0801X",
            address=ADDRESS,
        ),
        "provider": ProviderSnapshot(
            provider_id=uuid.uuid4(),
            npi="1245319599",
            first_name="Ana",
            last_name="Rivera",
            taxonomy="101YP2500X",
            license_type="LPC",
        ),
        "patient": PatientSnapshot(
            patient_id=uuid.uuid4(),
            first_name="Jane",
            last_name="Doe",
            birth_date=date(1990, 4, 2),
            sex="F",
            address=ADDRESS,
        ),
        "coverage": CoverageSnapshot(
            coverage_id=uuid.uuid4(),
            payer_id=uuid.uuid4(),
            x12_payer_id="SBX01",
            payer_name="Sandbox Behavioral Health Plan",
            member_id="M0001",
            group_number="G100",
        ),
        "diagnoses": ["F32.1", "F41.1"],
        "lines": [
            ChargeLine(
                line_number=1,
                procedure_code="90834",
                units=1,
                diagnosis_pointers=[1, 2],
                place_of_service="11",
                amount=Decimal("150.00"),
            )
        ],
        "total_amount": Decimal("150.00"),
    }
    facts.update(changes)
    return ChargeCreated(**facts)


def dependent_coverage() -> CoverageSnapshot:
    """A coverage where the patient is the subscriber's child."""
    return CoverageSnapshot(
        coverage_id=uuid.uuid4(),
        payer_id=uuid.uuid4(),
        x12_payer_id="SBX01",
        payer_name="Sandbox Behavioral Health Plan",
        member_id="M0002",
        relationship="child",
        subscriber=SubscriberSnapshot(
            first_name="John", last_name="Doe", birth_date=date(1965, 1, 9), sex="M", address=ADDRESS
        ),
    )


def telehealth_line() -> ChargeLine:
    """A 90837 video visit from the patient's home: POS 10, modifier 95."""
    return ChargeLine(
        line_number=1,
        procedure_code="90837",
        modifiers=["95"],
        units=1,
        diagnosis_pointers=[1],
        place_of_service="10",
        amount=Decimal("200.00"),
    )


def authorization() -> AuthorizationSnapshot:
    """An approved prior authorization with units left."""
    return AuthorizationSnapshot(
        authorization_id=uuid.uuid4(),
        number="AUTH-12345",
        units_approved=12,
        units_used=3,
        start_date=date(2026, 8, 1),
        end_date=date(2026, 12, 31),
        service_codes=["90834", "90837"],
    )


def charge_created(organization_id: uuid.UUID, charge: ChargeCreated) -> ChargeCreatedEvent:
    """The charge.created event coding would publish for a charge (business date 2026-09-15)."""
    _, event = build_event(
        "charge.created",
        charge,
        source="coding",
        subject=charge.charge_id,
        organization_id=organization_id,
        business_date=date(2026, 9, 15),
        correlation_id=str(uuid.uuid4()),
        practice_id=charge.practice.practice_id,
    )
    assert isinstance(event, ChargeCreatedEvent)
    return event


def remittance_posted(
    claim_id: str,
    *,
    payer_claim_number: str,
    trace_number: str,
    payment_date: date,
    paid: str = "100",
    patient: str = "20",
    contractual: str = "30",
) -> RemittancePosted:
    """What remittance publishes when it posts the payer's payment of a 150.00 claim."""
    return RemittancePosted(
        claim_id=claim_id,
        payer_claim_number=payer_claim_number,
        claim_status_code="1",
        remittance_id=uuid.uuid4(),
        trace_number=trace_number,
        payment_date=payment_date,
        charge_amount=Decimal("150"),
        paid_amount=Decimal(paid),
        patient_responsibility=Decimal(patient),
        contractual_amount=Decimal(contractual),
        denied_amount=Decimal("0"),
    )


class Charges:
    """Charge builders for the tests (a fixture, since test modules cannot import conftest)."""

    make = staticmethod(make_charge)
    created = staticmethod(charge_created)
    posted = staticmethod(remittance_posted)
    dependent_coverage = staticmethod(dependent_coverage)
    telehealth_line = staticmethod(telehealth_line)
    authorization = staticmethod(authorization)
    pyx12_verdict = staticmethod(pyx12_verdict)
    samples_dir = staticmethod(samples_dir)


@pytest.fixture
def charges() -> Charges:
    """Charge builders, pyx12 validation and the samples folder."""
    return Charges()


@pytest.fixture
async def stack_tenant() -> AsyncIterator[Any]:
    """A fresh organization on the running stack (business date 2026-10-01, two payers, one practice), paid the
    same day by the sandbox clearinghouse with no random denials."""
    from deploy import stack
    from deploy.client import ClaimflowClient, seed_payers, seed_practice

    if not os.environ.get("CLAIMFLOW_STACK_READY"):
        stack.up()
    client = ClaimflowClient(stack.load_env())
    try:
        tenant = await client.create_tenant(f"submission-{uuid.uuid4().hex[:8]}")
        await tenant.set_business_date(date(2026, 10, 1))
        payer_ids = await seed_payers(tenant)
        await seed_practice(tenant, name="Gateway Practice", seed=7, payer_ids=payer_ids, providers=2, patients=6)
        await tenant.sandbox(
            "PUT",
            "/v1/behaviour",
            json={"submitter": tenant.organization_id, "payment_lag_business_days": 0, "denial_rate": 0.0},
        )
        yield tenant
    finally:
        await client.close()


@pytest.fixture
async def sessions() -> AsyncIterator[Any]:
    """Sessions of submission's runtime role on the stack's database."""
    engine = create_engine(load_settings(SubmissionSettings), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


class Biller:
    """A new organization on the stack's database whose sending the running sender leaves to the test: payers
    replicated, charges turned into claims by the real handlers, and the in-process API with keys of its own."""

    def __init__(self, sessions: Any) -> None:
        self.id = uuid.uuid4()
        self.sessions = sessions

    async def handle(self, handlers: dict[str, Any], event_type: str, payload: Any) -> None:
        """Run one event through a submission handler in the organization's unit of work."""
        _, event = build_event(
            event_type,
            payload,
            source="coding",
            subject="x",
            organization_id=self.id,
            business_date=date(2026, 9, 15),
            correlation_id=str(uuid.uuid4()),
        )
        async with unit_of_work(self.sessions, self.id) as session:
            await session.execute(
                pg_insert(paused_senders).values(organization_id=self.id, reason="test").on_conflict_do_nothing()
            )
            await handlers[event_type](session, event)

    async def payer(self, **profile: Any) -> uuid.UUID:
        """A replicated payer with one profile in force from 2026-01-01 (no credentialing needed)."""
        payer_id = uuid.uuid4()
        terms = PayerProfile(effective_from=date(2026, 1, 1), credentialing_required=False, **profile)
        payer = PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[terms])
        upserted = ReferenceUpserted(entity_id=str(payer_id), entity=payer)
        await self.handle(REFERENCE_HANDLERS, "reference.upserted", upserted)
        return payer_id

    async def practice(self, snapshot: Any) -> None:
        """A charge's practice replicated as intake publishes it (list filters name only known practices)."""
        practice = PracticeRef(
            name=snapshot.name, npi=snapshot.npi, tin=snapshot.tin, taxonomy=snapshot.taxonomy, address=snapshot.address
        )
        upserted = ReferenceUpserted(entity_id=str(snapshot.practice_id), entity=practice)
        await self.handle(REFERENCE_HANDLERS, "reference.upserted", upserted)

    async def claim(self, charge: ChargeCreated, payer_id: uuid.UUID) -> str:
        """The claim submission makes of a charge billed to a payer."""
        assert charge.coverage is not None
        billed = charge.model_copy(update={"coverage": charge.coverage.model_copy(update={"payer_id": payer_id})})
        await self.handle(HANDLERS, "charge.created", billed)
        async with unit_of_work(self.sessions, self.id) as session:
            return str(
                (
                    await session.execute(select(claims.c.claim_id).where(claims.c.charge_id == charge.charge_id))
                ).scalar_one()
            )

    async def key(self, scopes: list[str], practice_ids: list[uuid.UUID] | None = None) -> dict[str, str]:
        """Headers of a new API key of the organization."""
        key_id, secret, key_hash = generate_api_key()
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(infra.api_keys).values(
                    key_id=key_id,
                    organization_id=self.id,
                    key_hash=key_hash,
                    scopes=scopes,
                    practice_ids=[str(practice) for practice in practice_ids or []],
                )
            )
        return {"Authorization": f"Bearer {secret}"}

    def api(self) -> Any:
        """An HTTP client of the submission API in-process, on the test's sessions."""
        app = create_app()
        app.state.sessions = self.sessions
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission")


@pytest.fixture
def biller(sessions: Any) -> Biller:
    """A new organization to bill in (see Biller)."""
    return Biller(sessions)


MAILBOX_PASSWORD = "mailbox-test-password"


@pytest.fixture
async def mailbox_server(tmp_path: Path) -> AsyncIterator[MailboxServer]:
    """A local SFTP mailbox on 127.0.0.1 (sandbox.sftp_server) with one organization's account, `lakeside`, whose
    password is MAILBOX_PASSWORD and whose root holds every shipped profile's folders."""
    server = MailboxServer(tmp_path)
    server.add_account(
        "lakeside",
        password=MAILBOX_PASSWORD,
        folders=("inbound", "outbound", "to-stedi", "from-stedi", "upload", "download", "download/archive"),
    )
    async with server:
        yield server
