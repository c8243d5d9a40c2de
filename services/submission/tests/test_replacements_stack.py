"""A charge re-coded after its claim was billed (care-management minutes after the month closed) on the real
database: the same claim goes out again, a replacement (7) once the payer has it, an original while it never did,
waiting for the payer's claim number when it is not known; never a void and a second claim."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.corrections import REPLACEMENT_PENDING
from submission.handlers import HANDLERS, REFERENCE_HANDLERS, REMITTANCE_HANDLERS
from submission.models import claim_attempts, claims, paused_senders, send_queue, work_items

from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.charge import ChargeLine
from shared.events.reference import PayerProfile, PayerRef, ProviderRef, ReferenceUpserted

pytestmark = pytest.mark.stack
CLOSED = date(2026, 10, 8)
LATE = date(2026, 10, 9)


def month_lines(*codes: tuple[str, int, str]) -> list[ChargeLine]:
    """Care-management lines: (code, units, amount per unit)."""
    return [
        ChargeLine(
            line_number=number,
            procedure_code=code,
            units=units,
            diagnosis_pointers=[1],
            place_of_service="11",
            amount=Decimal(amount) * units,
        )
        for number, (code, units, amount) in enumerate(codes, start=1)
    ]


class MonthClaim:
    """One organization billing one patient-month: the payer and clinician replicated, the charge at each revision."""

    def __init__(self, sessions: Any, charges: Any) -> None:
        self.sessions = sessions
        self.organization_id = uuid.uuid4()
        first = charges.make()
        self.charge = charges.make(
            charge_id=f"cm-{first.patient.patient_id}-2026-09",
            encounter_id=None,
            date_of_service=date(2026, 9, 30),
            charge_posted_date=CLOSED,
            program="collaborative_care",
            care_management_month="2026-09",
            lines=month_lines(("99492", 1, "170.00")),
            total_amount=Decimal("170.00"),
        )

    async def deliver(self, event_type: str, payload: Any, subject: str, business_date: date) -> None:
        """Apply one event as submission's consumer would."""
        _, event = build_event(
            event_type,
            payload,
            source="coding",
            subject=subject,
            organization_id=self.organization_id,
            business_date=business_date,
            correlation_id=subject,
        )
        handler = {**HANDLERS, **REMITTANCE_HANDLERS, **REFERENCE_HANDLERS}[event_type]
        async with unit_of_work(self.sessions, self.organization_id) as session:
            await handler(session, event)

    async def setup(self) -> MonthClaim:
        """The payer (with a profile) and the clinician credentialed with it; the sending paused for the test."""
        coverage, provider = self.charge.coverage, self.charge.provider
        assert coverage is not None
        payer = PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[PayerProfile(effective_from=date(2020, 1, 1))])
        clinician = ProviderRef(
            practice_id=self.charge.practice.practice_id,
            first_name=provider.first_name,
            last_name=provider.last_name,
            npi=provider.npi,
            taxonomy=provider.taxonomy,
            license_type=provider.license_type,
            credentialed_payer_ids=[coverage.payer_id],
        )
        for entity_id, entity in ((coverage.payer_id, payer), (provider.provider_id, clinician)):
            upserted = ReferenceUpserted(entity_id=str(entity_id), entity=entity)
            await self.deliver("reference.upserted", upserted, str(entity_id), date(2026, 9, 1))
        async with unit_of_work(self.sessions, self.organization_id) as session:
            await session.execute(pg_insert(paused_senders).values(organization_id=self.organization_id, reason="test"))
        await self.bill(1, ("99492", 1, "170.00"), on=CLOSED)
        return self

    async def bill(self, revision: int, *codes: tuple[str, int, str], on: date = LATE) -> None:
        """charge.created of a revision of the month's charge."""
        lines = month_lines(*codes)
        charge = self.charge.model_copy(
            update={"revision": revision, "lines": lines, "total_amount": sum(line.amount for line in lines)}
        )
        await self.deliver("charge.created", charge, charge.charge_id, on)

    async def claims(self) -> list[Any]:
        """The claims of the month's charge."""
        async with unit_of_work(self.sessions, self.organization_id) as session:
            return list(await session.execute(select(claims).where(claims.c.charge_id == self.charge.charge_id)))

    async def attempts(self) -> list[tuple[int, str, str, int | None, bool]]:
        """(number, frequency, status, attempt reworked, manually touched) of the claim's attempts."""
        async with unit_of_work(self.sessions, self.organization_id) as session:
            rows = await session.execute(
                select(claim_attempts).where(claim_attempts.c.claim_id == self.claim_id).order_by("attempt_number")
            )
            return [
                (row.attempt_number, row.frequency_code, row.status, row.rework_of_attempt, row.manually_touched)
                for row in rows
            ]

    @property
    def claim_id(self) -> str:
        """Set once the first revision is billed."""
        return self._claim_id

    async def answered(self, status: str, attempt_status: str, payer_claim_number: str | None) -> None:
        """Put the claim where the clearinghouse and payer left it."""
        (claim,) = await self.claims()
        self._claim_id = claim.claim_id
        async with unit_of_work(self.sessions, self.organization_id) as session:
            await session.execute(
                update(claims)
                .where(claims.c.claim_id == claim.claim_id)
                .values(status=status, payer_claim_number=payer_claim_number)
            )
            await session.execute(
                update(claim_attempts).where(claim_attempts.c.claim_id == claim.claim_id).values(status=attempt_status)
            )
            if attempt_status != "queued":
                await session.execute(delete(send_queue).where(send_queue.c.claim_id == claim.claim_id))

    async def open_items(self) -> list[tuple[str, str]]:
        """(queue, reason code) of the claim's open work items."""
        async with unit_of_work(self.sessions, self.organization_id) as session:
            rows = await session.execute(
                select(work_items.c.queue, work_items.c.reason_code).where(
                    work_items.c.claim_id == self.claim_id, work_items.c.status == "open"
                )
            )
            return [tuple(row) for row in rows]


@pytest.fixture
async def month(sessions: Any, charges: Any) -> MonthClaim:
    """A care-management month billed as its first revision."""
    return await MonthClaim(sessions, charges).setup()


@pytest.mark.parametrize(
    ("status", "attempt_status", "payer_claim_number", "frequency"),
    [
        pytest.param("sent", "sent", "PCN-277", "7", id="accepted, payer claim number from the 277CA"),
        pytest.param("adjudicated", "sent", "PCN-835", "7", id="adjudicated, payer claim number from the 835"),
        pytest.param("rejected", "rejected", None, "1", id="rejected: the payer never took it in"),
        pytest.param("held", "held", None, "1", id="held by the scrubber: never sent"),
    ],
)
async def test_a_revised_charge_goes_out_as_the_next_attempt_of_its_one_claim(
    month: MonthClaim, status: str, attempt_status: str, payer_claim_number: str | None, frequency: str
) -> None:
    await month.answered(status, attempt_status, payer_claim_number)
    await month.bill(2, ("99492", 1, "170.00"), ("99494", 1, "65.00"))
    (claim,) = await month.claims()
    assert (claim.claim_id, claim.status, claim.billed_amount) == (month.claim_id, "queued", Decimal("235.00"))
    assert claim.charge["revision"] == 2
    assert [line["procedure_code"] for line in claim.charge["lines"]] == ["99492", "99494"]
    assert claim.pending_charge is None
    # A held attempt that never went out gives way to the new one, as a person's correction does.
    first = "superseded" if attempt_status == "held" else attempt_status
    expected = [(1, "1", first, None, False), (2, frequency, "queued", 1, False)]
    assert await month.attempts() == expected
    # The same revision again (a redelivery), or an older one, changes nothing.
    await month.bill(2, ("99492", 1, "170.00"), ("99494", 1, "65.00"))
    await month.bill(1, ("99492", 1, "170.00"))
    assert await month.attempts() == expected
    assert len(await month.claims()) == 1


@pytest.mark.parametrize(
    ("status", "attempt_status"),
    [
        pytest.param("sent", "sent", id="accepted without the payer's claim number"),
        pytest.param("queued", "queued", id="the original still waiting to be sent"),
        pytest.param("batched", "batched", id="the original being sent"),
    ],
)
async def test_a_revision_waits_for_the_payers_claim_number_and_goes_out_when_the_835_brings_it(
    month: MonthClaim, charges: Any, status: str, attempt_status: str
) -> None:
    await month.answered(status, attempt_status, None)
    await month.bill(2, ("99492", 1, "170.00"), ("99494", 1, "65.00"))
    (claim,) = await month.claims()
    assert claim.status == status
    assert claim.charge["revision"] == 1
    assert claim.pending_charge["revision"] == 2
    assert (1, "1", attempt_status, None, False) == (await month.attempts())[0]
    assert len(await month.attempts()) == 1
    assert ("correction", REPLACEMENT_PENDING) in await month.open_items()

    # The original is answered and paid: the 835 brings the payer's claim number, and the replacement goes out.
    await month.answered("sent", "sent", None)
    posted = charges.posted(month.claim_id, payer_claim_number="PCN-9", trace_number="T1", payment_date=LATE)
    await month.deliver("remittance.posted", posted, month.claim_id, LATE)
    (claim,) = await month.claims()
    assert (claim.status, claim.payer_claim_number, claim.charge["revision"]) == ("queued", "PCN-9", 2)
    assert claim.pending_charge is None
    assert await month.attempts() == [(1, "1", "sent", None, False), (2, "7", "queued", 1, False)]
    assert ("correction", REPLACEMENT_PENDING) not in await month.open_items()
