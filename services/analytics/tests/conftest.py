"""Fixtures of the analytics tests: a builder of real lifecycle events for one organization, and (for the stack
tests) sessions of the analytics runtime role and the analytics API in process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import httpx
import pytest
from analytics.config import AnalyticsSettings
from analytics.facts import StoredFact, fact_of, ledger_of
from analytics.ledger import Ledger
from analytics.main import create_app
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, create_sessionmaker
from shared.events.catalogue import build_event
from shared.events.charge import ChargeCreated, ChargeLine, ChargeVoided
from shared.events.claim import ClaimAcknowledged, ClaimHeld, ClaimLine, ClaimSubmitted, ClaimVoided, ScrubEdit
from shared.events.encounter import (
    AuthorizationSnapshot,
    CoverageSnapshot,
    EncounterCancelled,
    EncounterReceived,
    PatientSnapshot,
    PracticeSnapshot,
    ProviderSnapshot,
)
from shared.events.envelope import Envelope, Payload
from shared.events.reference import Address
from shared.events.remittance import (
    Adjustment,
    BalanceWrittenOff,
    ClaimDenied,
    CorrectionRequested,
    DenialAppealed,
    PatientPaymentPosted,
    RemittancePosted,
    RemittanceReversed,
)
from shared.settings import load_settings

ADDRESS = Address(line1="1 Main St", city="Springfield", state="IL", postal_code="62701")


@dataclass(frozen=True)
class ChargeInfo:
    """What a test said about a charge, reused by its claims."""

    billed: Decimal
    posted: date
    date_of_service: date
    practice_id: uuid.UUID
    provider_id: uuid.UUID
    payer_id: uuid.UUID
    program: str = "outpatient_therapy"


class Lifecycle:
    """Builds the catalogue events of one organization's claims, in whatever order a test wants."""

    def __init__(self, organization_id: uuid.UUID | None = None) -> None:
        self.organization_id = organization_id or uuid.uuid4()
        self.practice_id = uuid.uuid4()
        self.provider_id = uuid.uuid4()
        self.payer_id = uuid.uuid4()
        self.patient_id = uuid.uuid4()
        self.events: list[Envelope] = []
        self.charges: dict[str, ChargeInfo] = {}

    def _emit(self, event_type: str, payload: Payload, subject: str, business_date: date, practice: uuid.UUID) -> None:
        _, event = build_event(
            event_type,
            payload,
            source="test",
            subject=subject,
            organization_id=self.organization_id,
            business_date=business_date,
            correlation_id=subject,
            practice_id=practice,
        )
        self.events.append(event)

    def charge(
        self,
        charge_id: str,
        *,
        billed: str,
        posted: date,
        date_of_service: date | None = None,
        practice_id: uuid.UUID | None = None,
        manually_touched: bool = False,
        emit: bool = True,
        provider_id: uuid.UUID | None = None,
        payer_id: uuid.UUID | None = None,
        program: str = "outpatient_therapy",
        procedure_code: str = "90834",
    ) -> None:
        """A charge.created (or only its facts for later claims when emit is False)."""
        info = ChargeInfo(
            Decimal(billed),
            posted,
            date_of_service or posted,
            practice_id or self.practice_id,
            provider_id or self.provider_id,
            payer_id or self.payer_id,
            program,
        )
        self.charges[charge_id] = info
        if not emit:
            return
        payload = ChargeCreated(
            charge_id=charge_id,
            date_of_service=info.date_of_service,
            charge_posted_date=posted,
            program=info.program,
            practice=PracticeSnapshot(
                practice_id=info.practice_id, name="P", npi="1234567893", tin="123456789", taxonomy="x", address=ADDRESS
            ),
            provider=ProviderSnapshot(
                provider_id=info.provider_id,
                npi="1234567893",
                first_name="A",
                last_name="B",
                taxonomy="x",
                license_type="LCSW",
            ),
            patient=PatientSnapshot(
                patient_id=uuid.uuid4(),
                first_name="C",
                last_name="D",
                birth_date=date(1990, 1, 1),
                sex="F",
                address=ADDRESS,
            ),
            coverage=CoverageSnapshot(
                coverage_id=uuid.uuid4(), payer_id=info.payer_id, x12_payer_id="X1", payer_name="Payer", member_id="M1"
            ),
            diagnoses=["F41.1"],
            lines=[
                ChargeLine(
                    line_number=1,
                    procedure_code=procedure_code,
                    units=1,
                    diagnosis_pointers=[1],
                    place_of_service="11",
                    amount=info.billed,
                )
            ],
            total_amount=info.billed,
            manually_touched=manually_touched,
        )
        self._emit("charge.created", payload, charge_id, posted, info.practice_id)

    def void(self, charge_id: str, *, on: date) -> None:
        """A charge.voided."""
        payload = ChargeVoided(charge_id=charge_id, reason="encounter cancelled")
        self._emit("charge.voided", payload, charge_id, on, self.charges[charge_id].practice_id)

    def _claim_facts(self, claim_id: str, charge_id: str, priority: str) -> dict[str, object]:
        info = self.charges[charge_id]
        return {
            "claim_id": claim_id,
            "charge_id": charge_id,
            "payer_id": info.payer_id if priority == "primary" else uuid.uuid4(),
            "provider_id": info.provider_id,
            "patient_id": self.patient_id,
            "program": info.program,
            "date_of_service": info.date_of_service,
            "charge_posted_date": info.posted,
            "billed_amount": info.billed,
            "payer_priority": priority,
        }

    def submit(
        self,
        claim_id: str,
        charge_id: str,
        *,
        on: date,
        attempt: int = 1,
        scrub_passed: bool = True,
        manually_touched: bool = False,
        priority: str = "primary",
        frequency: str | None = None,
    ) -> None:
        """A claim.submitted attempt (frequency 1 for the first attempt, 7 after, unless given)."""
        facts = self._claim_facts(claim_id, charge_id, priority)
        payload = ClaimSubmitted(
            **facts,
            attempt_number=attempt,
            frequency_code=frequency or ("1" if attempt == 1 else "7"),
            submitted_date=on,
            scrub_passed=scrub_passed,
            manually_touched=manually_touched,
            batch_control_number="000000001",
            lines=[ClaimLine(line_number=1, procedure_code="90834", units=1, amount=facts["billed_amount"])],
        )
        self._emit("claim.submitted", payload, claim_id, on, self.charges[charge_id].practice_id)

    def hold(self, claim_id: str, charge_id: str, *, on: date, attempt: int = 1) -> None:
        """A claim.held by the scrubber."""
        payload = ClaimHeld(
            **self._claim_facts(claim_id, charge_id, "primary"),
            attempt_number=attempt,
            held_date=on,
            scrub_edits=[ScrubEdit(rule_id="AUTH-MISSING", severity="error", reason="no authorization")],
        )
        self._emit("claim.held", payload, claim_id, on, self.charges[charge_id].practice_id)

    def acknowledge(
        self, claim_id: str, *, kind: str, status_code: str, outcome: str, on: date, attempt: int = 1
    ) -> None:
        """A claim.acknowledged (999 or 277CA)."""
        payload = ClaimAcknowledged(
            claim_id=claim_id,
            attempt_number=attempt,
            payer_id=self.payer_id,
            acknowledgement=kind,
            outcome=outcome,
            status_code=status_code,
            acknowledged_date=on,
        )
        self._emit("claim.acknowledged", payload, claim_id, on, self.practice_id)

    def remit(
        self,
        claim_id: str,
        charge_id: str,
        *,
        on: date,
        paid: str = "0",
        adjustments: tuple[tuple[str, str, str, str], ...] = (),
        status: str = "1",
    ) -> None:
        """A remittance.posted; adjustments are (group, CARC, amount, class) and the money splits follow from them."""
        cas = [
            Adjustment(group_code=g, reason_code=r, amount=Decimal(a), adjustment_class=c) for g, r, a, c in adjustments
        ]

        def total(*classes: str) -> Decimal:
            return sum((a.amount for a in cas if a.adjustment_class in classes), Decimal("0"))

        payload = RemittancePosted(
            claim_id=claim_id,
            charge_id=charge_id,
            payer_id=self.payer_id,
            claim_status_code=status,
            remittance_id=uuid.uuid4(),
            trace_number="TRN1",
            payment_date=on,
            charge_amount=self.charges[charge_id].billed,
            paid_amount=Decimal(paid),
            patient_responsibility=total("cost_share", "denial_patient"),
            contractual_amount=total("contractual"),
            denied_amount=total("denial"),
            patient_denied_amount=total("denial_patient"),
            adjustments=cas,
            is_denial=status == "4" or bool(total("denial", "denial_patient")),
        )
        self._emit("remittance.posted", payload, claim_id, on, self.charges[charge_id].practice_id)

    def deny(self, claim_id: str, charge_id: str, *, on: date, amount: str, root_cause: str, code: str) -> None:
        """A claim.denied with its root cause."""
        payload = ClaimDenied(
            claim_id=claim_id,
            charge_id=charge_id,
            payer_id=self.payer_id,
            denial_id=uuid.uuid4(),
            root_cause=root_cause,
            reason_codes=[code],
            denied_amount=Decimal(amount),
            payment_date=on,
        )
        self._emit("claim.denied", payload, claim_id, on, self.charges[charge_id].practice_id)

    def patient_pays(self, claim_id: str, charge_id: str, *, amount: str, on: date) -> None:
        """A patient-payment.posted."""
        payload = PatientPaymentPosted(claim_id=claim_id, charge_id=charge_id, amount=Decimal(amount), posted_date=on)
        self._emit("patient-payment.posted", payload, claim_id, on, self.charges[charge_id].practice_id)

    def write_off(self, claim_id: str, charge_id: str, *, amount: str, on: date, balance: str = "payer") -> None:
        """A balance.written-off."""
        payload = BalanceWrittenOff(
            claim_id=claim_id,
            charge_id=charge_id,
            amount=Decimal(amount),
            balance=balance,
            reason="denial",
            written_off_date=on,
        )
        self._emit("balance.written-off", payload, claim_id, on, self.charges[charge_id].practice_id)

    def reverse(self, claim_id: str, charge_id: str, *, on: date, paid: str, contractual: str = "0") -> None:
        """A remittance.reversed (CLP02 = 22) with negated amounts."""
        payload = RemittanceReversed(
            claim_id=claim_id,
            charge_id=charge_id,
            payer_id=self.payer_id,
            claim_status_code="22",
            remittance_id=uuid.uuid4(),
            trace_number="TRN2",
            payment_date=on,
            charge_amount=-self.charges[charge_id].billed,
            paid_amount=-Decimal(paid),
            patient_responsibility=Decimal("0"),
            contractual_amount=-Decimal(contractual),
            denied_amount=Decimal("0"),
        )
        self._emit("remittance.reversed", payload, claim_id, on, self.charges[charge_id].practice_id)

    def void_claim(self, claim_id: str, charge_id: str, *, on: date) -> None:
        """A claim.voided."""
        payload = ClaimVoided(claim_id=claim_id, charge_id=charge_id, voided_date=on, reason="charge voided")
        self._emit("claim.voided", payload, claim_id, on, self.charges[charge_id].practice_id)

    def appeal(self, claim_id: str, *, on: date) -> None:
        """A denial.appealed."""
        payload = DenialAppealed(denial_id=uuid.uuid4(), claim_id=claim_id, appealed_date=on)
        self._emit("denial.appealed", payload, claim_id, on, self.practice_id)

    def request_correction(self, claim_id: str, *, on: date, root_cause: str = "coding") -> None:
        """A correction.requested."""
        payload = CorrectionRequested(
            denial_id=uuid.uuid4(), claim_id=claim_id, root_cause=root_cause, requested_date=on
        )
        self._emit("correction.requested", payload, claim_id, on, self.practice_id)

    def encounter(
        self,
        encounter_id: uuid.UUID,
        *,
        date_of_service: date,
        payer_id: uuid.UUID | None = None,
        authorization: tuple[int, int, date, date] | None = None,
        patient_id: uuid.UUID | None = None,
    ) -> None:
        """An encounter.received; authorization is (units approved, units used, start, end)."""
        payload = EncounterReceived(
            encounter_id=encounter_id,
            ehr_encounter_id=f"EHR-{encounter_id.hex[:8]}",
            date_of_service=date_of_service,
            service_type="psychotherapy",
            diagnoses=["F41.1"],
            practice=PracticeSnapshot(
                practice_id=self.practice_id, name="P", npi="1234567893", tin="123456789", taxonomy="x", address=ADDRESS
            ),
            provider=ProviderSnapshot(
                provider_id=self.provider_id,
                npi="1234567893",
                first_name="A",
                last_name="B",
                taxonomy="x",
                license_type="LCSW",
            ),
            patient=PatientSnapshot(
                patient_id=patient_id or self.patient_id,
                first_name="C",
                last_name="D",
                birth_date=date(1990, 1, 1),
                sex="F",
                address=ADDRESS,
            ),
            coverage=CoverageSnapshot(
                coverage_id=uuid.uuid4(),
                payer_id=payer_id or self.payer_id,
                x12_payer_id="X1",
                payer_name="Payer",
                member_id="M1",
            ),
            authorization=None
            if authorization is None
            else AuthorizationSnapshot(
                authorization_id=uuid.uuid4(),
                number="AUTH1",
                units_approved=authorization[0],
                units_used=authorization[1],
                start_date=authorization[2],
                end_date=authorization[3],
            ),
        )
        self._emit("encounter.received", payload, str(encounter_id), date_of_service, self.practice_id)

    def cancel_encounter(self, encounter_id: uuid.UUID, *, on: date) -> None:
        """An encounter.cancelled."""
        self._emit(
            "encounter.cancelled",
            EncounterCancelled(encounter_id=encounter_id),
            str(encounter_id),
            on,
            self.practice_id,
        )

    def ledger(self, events: list[Envelope] | None = None) -> Ledger:
        """The domain ledger of the events, through the same fact extraction the handlers store."""
        stored = []
        for event in self.events if events is None else events:
            row = fact_of(event)
            stored.append(
                StoredFact(row.event_type, row.fact_date, row.claim_id, row.charge_id, row.practice_id, row.attributes)
            )
        return ledger_of(stored)


@pytest.fixture
def lifecycle() -> Lifecycle:
    """A fresh organization's event builder."""
    return Lifecycle()


def worked_example(lifecycle: Lifecycle) -> None:
    """DOMAIN.md section 6's worked example (D = 2026-10-31)."""
    lifecycle.charge("C1", billed="150", posted=date(2026, 9, 1))
    lifecycle.charge("C2", billed="150", posted=date(2026, 9, 3))
    lifecycle.charge("C3", billed="200", posted=date(2026, 10, 1))
    lifecycle.submit("C1", "C1", on=date(2026, 9, 2))
    lifecycle.submit("C2", "C2", on=date(2026, 9, 4))
    lifecycle.submit("C3", "C3", on=date(2026, 10, 2))
    lifecycle.remit(
        "C1",
        "C1",
        on=date(2026, 9, 20),
        paid="100",
        adjustments=(("CO", "45", "30", "contractual"), ("PR", "3", "20", "cost_share")),
    )
    lifecycle.remit("C2", "C2", on=date(2026, 9, 25), status="4", adjustments=(("CO", "197", "150", "denial"),))
    lifecycle.deny("C2", "C2", on=date(2026, 9, 25), amount="150", root_cause="authorization_missing", code="CO-197")


@pytest.fixture
def worked(lifecycle: Lifecycle) -> Lifecycle:
    """The worked example's events."""
    worked_example(lifecycle)
    return lifecycle


@pytest.fixture
def worked_organizations() -> Callable[[int], list[Lifecycle]]:
    """Builds fresh organizations, each with the worked example's events."""

    def build(count: int) -> list[Lifecycle]:
        organizations = [Lifecycle() for _ in range(count)]
        for organization in organizations:
            worked_example(organization)
        return organizations

    return build


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the analytics runtime role."""
    engine = create_engine(load_settings(AnalyticsSettings), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The analytics API in process, with its lifespan running."""
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://analytics") as http,
    ):
        yield http
