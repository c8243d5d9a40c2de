"""Work queues, corrections and voids on the real database, sent through the sandbox clearinghouse in-process:
a 277CA rejection lands in the rejection queue with its STC reason, is corrected (a manual touch) and rejected again
(repeat rejection), goes out, is adjudicated, is corrected as a replacement (7, REF*F8) and voided (8)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sandbox.main import create_app as create_sandbox
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from submission.config import SubmissionSettings
from submission.gateway import GatewayAnswer, SandboxGateway
from submission.handlers import HANDLERS, REFERENCE_HANDLERS, REMITTANCE_HANDLERS
from submission.main import create_app
from submission.models import (
    authorization_usage,
    batches,
    claim_attempts,
    claims,
    infra,
    paused_senders,
    work_items,
)
from submission.recording import record_answer
from submission.sender import prepare_batch, send_until_answered

from deploy.stack import load_env
from shared.auth import generate_api_key
from shared.db import unit_of_work
from shared.events.catalogue import build_event
from shared.events.charge import ChargeVoided
from shared.events.reference import Credentialing, PayerProfile, PayerRef, ProviderRef, ReferenceUpserted
from shared.events.remittance import CorrectionRequested
from shared.x12 import tokenize
from tests.db import outbox_rows

pytestmark = pytest.mark.stack
SECRET = "stack-test-secret"
DOS = date(2026, 9, 14)
POSTED = date(2026, 9, 15)


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SandboxGateway]:
    """The real sandbox gateway talking to the sandbox app in-process."""
    monkeypatch.setenv("CLAIMFLOW_CLEARINGHOUSE_SECRET", SECRET)
    monkeypatch.setenv("CLAIMFLOW_SANDBOX_DENIAL_RATE", "0")
    transport = httpx.ASGITransport(app=create_sandbox())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield SandboxGateway(base_url="http://sandbox", secret=SECRET, client=client)


class Organization:
    """One test organization: its replica, its events, its API and its batches."""

    def __init__(self, sessions: Any, gateway: SandboxGateway) -> None:
        self.id = uuid.uuid4()
        self.sessions = sessions
        self.gateway = gateway

    def context(self, subject: str, on: date, source: str = "coding") -> dict[str, Any]:
        return {
            "source": source,
            "subject": subject,
            "organization_id": self.id,
            "business_date": on,
            "correlation_id": str(uuid.uuid4()),
        }

    async def handle(self, handlers: Any, event_type: str, payload: Any, subject: str, on: date) -> None:
        _, event = build_event(event_type, payload, **self.context(subject, on))
        async with unit_of_work(self.sessions, self.id) as session:
            await session.execute(  # the running stack's sender leaves this organization's batches to the test
                pg_insert(paused_senders).values(organization_id=self.id, reason="test").on_conflict_do_nothing()
            )
            await handlers[event_type](session, event)

    async def replicate(self, entity_id: uuid.UUID, entity: Any) -> None:
        await self.handle(
            REFERENCE_HANDLERS,
            "reference.upserted",
            ReferenceUpserted(entity_id=str(entity_id), entity=entity),
            "x",
            POSTED,
        )

    async def send(self, reject: str | None = None) -> tuple[str, GatewayAnswer]:
        """Build, send and record the next batch; `reject` turns our claim's 277CA status into that A7 rejection."""
        batch = await prepare_batch(self.sessions, self.id, SubmissionSettings())
        assert batch is not None
        answer = await send_until_answered(self.sessions, self.gateway, batch, asyncio.Event())
        assert answer is not None
        if reject is not None:
            assert answer.ack_277ca is not None
            rejected = re.sub(
                r"STC\*A2:20\*(\d{8})\*WQ\*([0-9.]+)", rf"STC*A7:562*\1*U*\2********{reject}", answer.ack_277ca
            )
            answer = GatewayAnswer(answer.batch_id, answer.ack_999, rejected.replace("REF*1K", "REF*ZZ"))
        await record_answer(self.sessions, self.id, batch.control_number, answer)
        return batch.file_text, answer

    async def claim(self, charge_id: str) -> Any:
        async with unit_of_work(self.sessions, self.id) as session:
            return (await session.execute(select(claims).where(claims.c.charge_id == charge_id))).one()

    async def items(self, queue: str, status: str = "open") -> list[Any]:
        async with unit_of_work(self.sessions, self.id) as session:
            return list(
                (
                    await session.execute(
                        select(work_items).where(work_items.c.queue == queue, work_items.c.status == status)
                    )
                ).all()
            )

    async def submitted_events(self, claim_id: str) -> list[dict[str, Any]]:
        rows = await outbox_rows(
            load_env(),
            "submission",
            "SELECT value FROM submission.outbox WHERE message_key = $1 AND event_type = 'claim.submitted' ORDER BY id",
            claim_id,
        )
        return [orjson.loads(row["value"])["data"] for row in rows]

    async def api_key(self) -> dict[str, str]:
        key_id, secret, key_hash = generate_api_key()
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(infra.api_keys).values(
                    key_id=key_id,
                    organization_id=self.id,
                    key_hash=key_hash,
                    scopes=["read", "claims:write"],
                    practice_ids=[],
                )
            )
        return {"Authorization": f"Bearer {secret}"}


async def _setup(sessions: Any, gateway: SandboxGateway, charges: Any, **profile: Any) -> tuple[Organization, Any]:
    """An organization with a payer and a credentialed provider replicated, and a clean charge for them."""
    org = Organization(sessions, gateway)
    payer_id, provider_id = uuid.uuid4(), uuid.uuid4()
    terms = PayerProfile(effective_from=date(2026, 1, 1), **profile)
    await org.replicate(payer_id, PayerRef(name="Plan", x12_payer_id="SBX01", profiles=[terms]))
    base = charges.make(date_of_service=DOS)
    await org.replicate(
        provider_id,
        ProviderRef(
            practice_id=base.practice.practice_id,
            first_name="Ana",
            last_name="Rivera",
            npi=base.provider.npi,
            taxonomy=base.provider.taxonomy,
            license_type="LPC",
            credentialing=[Credentialing(payer_id=payer_id, effective_from=date(2026, 1, 1))],
        ),
    )
    charge = base.model_copy(
        update={
            "coverage": base.coverage.model_copy(update={"payer_id": payer_id}),
            "provider": base.provider.model_copy(update={"provider_id": provider_id}),
            "authorization": charges.authorization().model_copy(update={"payer_id": payer_id}),
        }
    )
    await org.handle(HANDLERS, "charge.created", charge, charge.charge_id, POSTED)
    return org, charge


def _segments(text: str, tag: str) -> list[Any]:
    return [segment for segment in tokenize(text)[1] if segment.tag == tag]


async def test_rejection_correction_replacement_and_void_of_one_claim(
    sessions: Any, gateway: SandboxGateway, charges: Any, tmp_path: Path
) -> None:
    org, charge = await _setup(sessions, gateway, charges)
    claim = await org.claim(charge.charge_id)
    claim_id = claim.claim_id
    assert claim.status == "queued"

    # A 277CA A7 rejection lands in the rejection queue with its STC reason.
    await org.send(reject="MEMBER ID INVALID")
    assert (await org.claim(charge.charge_id)).status == "rejected"
    (rejection,) = await org.items("rejection")
    assert rejection.claim_id == claim_id
    assert rejection.reason_code == "277CA-A7"
    assert "A7" in rejection.reason
    assert "562" in rejection.reason
    assert "MEMBER ID INVALID" in rejection.reason
    assert "resubmit" in rejection.action

    app = create_app()
    app.state.sessions = sessions
    headers = await org.api_key()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
        queue = (await http.get("/v1/work-queues/rejection", headers=headers)).json()["items"]
        assert [(item["claim_id"], item["claim_status"]) for item in queue] == [(claim_id, "rejected")]
        bad = await http.post(f"/v1/claims/{claim_id}/corrections", json={"member_id": ""}, headers=headers)
        assert bad.status_code == 422
        assert "member_id" in bad.text
        unknown = await http.post(f"/v1/claims/{claim_id}/corrections", json={"surprise": 1}, headers=headers)
        assert unknown.status_code == 422
        assert "surprise" in unknown.text

        # Corrected (a manual touch) and resubmitted as an original: the payer never took the claim in.
        fixed = await http.post(f"/v1/claims/{claim_id}/corrections", json={"member_id": "M0009"}, headers=headers)
        assert fixed.status_code == 202, fixed.text
        view = fixed.json()
        assert view["status"] == "queued"
        assert view["manually_touched"] is True
        assert [(a["attempt_number"], a["frequency_code"], a["rework_of_attempt"]) for a in view["attempts"]] == [
            (1, "1", None),
            (2, "1", 1),
        ]
        assert await org.items("rejection") == []
        assert [item.resolution for item in await org.items("rejection", "resolved")] == ["corrected as attempt 2"]

        # Rejected again for the same reason: a supervisor item.
        await org.send(reject="MEMBER ID INVALID")
        (repeat,) = await org.items("repeat_rejection")
        assert repeat.claim_id == claim_id
        assert "MEMBER ID INVALID" in repeat.reason

        # Third attempt is accepted; the 277CA carries the payer's claim number.
        assert (await http.post(f"/v1/claims/{claim_id}/corrections", json={}, headers=headers)).status_code == 202
        await org.send()
        sent = await org.claim(charge.charge_id)
        assert sent.status == "sent"
        assert sent.payer_claim_number

        # The payer adjudicates (remittance.posted), then remittance asks for a correction.
        posted = charges.posted(
            claim_id, payer_claim_number="PCN-0001", trace_number="EFT1", payment_date=date(2026, 10, 1)
        )
        await org.handle(REMITTANCE_HANDLERS, "remittance.posted", posted, claim_id, date(2026, 10, 1))
        adjudicated = await org.claim(charge.charge_id)
        assert (adjudicated.status, adjudicated.payer_claim_number) == ("adjudicated", "PCN-0001")
        request = CorrectionRequested(
            denial_id=uuid.uuid4(), claim_id=claim_id, root_cause="coding", requested_date=date(2026, 10, 2)
        )
        await org.handle(REMITTANCE_HANDLERS, "correction.requested", request, claim_id, date(2026, 10, 2))
        (correction,) = await org.items("correction")
        assert correction.reason_code == "DENIAL-coding"
        line = {
            "line_number": 1,
            "procedure_code": "90837",
            "units": 1,
            "diagnosis_pointers": [1, 2],
            "place_of_service": "11",
            "amount": "200.00",
        }
        replaced = await http.post(f"/v1/claims/{claim_id}/corrections", json={"lines": [line]}, headers=headers)
        assert replaced.status_code == 202, replaced.text
        assert await org.items("correction") == []

    # The replacement goes out as frequency 7 with REF*F8 and validates with pyx12.
    replacement_text, _ = await org.send()
    (clm,) = _segments(replacement_text, "CLM")
    assert clm.element(1) == claim_id
    assert clm.element(5) == "11:B:7"
    assert [s.element(2) for s in _segments(replacement_text, "REF") if s.element(1) == "F8"] == ["PCN-0001"]
    assert [s.element(1) for s in _segments(replacement_text, "SV1")] == ["HC:90837"]
    ok, output = charges.pyx12_verdict(replacement_text, tmp_path, "replacement.837")
    assert ok, output

    # The charge is voided: a frequency-8 attempt with REF*F8; authorization units are given back.
    await org.handle(
        HANDLERS,
        "charge.voided",
        ChargeVoided(charge_id=charge.charge_id, reason="duplicate visit"),
        claim_id,
        date(2026, 10, 5),
    )
    void_text, _ = await org.send()
    (clm,) = _segments(void_text, "CLM")
    assert clm.element(5) == "11:B:8"
    assert [s.element(2) for s in _segments(void_text, "REF") if s.element(1) == "F8"] == ["PCN-0001"]
    ok, output = charges.pyx12_verdict(void_text, tmp_path, "void.837")
    assert ok, output
    assert (await org.claim(charge.charge_id)).status == "voided"
    async with unit_of_work(sessions, org.id) as session:
        released = (await session.execute(select(authorization_usage.c.released_date))).scalars().all()
        attempts = (
            await session.execute(
                select(
                    claim_attempts.c.attempt_number, claim_attempts.c.frequency_code, claim_attempts.c.status
                ).order_by(claim_attempts.c.attempt_number)
            )
        ).all()
        assert len((await session.execute(select(batches))).all()) == 5
    assert released == [date(2026, 10, 5)]
    assert [tuple(a) for a in attempts] == [
        (1, "1", "rejected"),
        (2, "1", "rejected"),
        (3, "1", "sent"),
        (4, "7", "sent"),
        (5, "8", "sent"),
    ]

    # claim.submitted marks each rework attempt: frequency, the attempt reworked, manual touch, REF*F8 number.
    events = await org.submitted_events(claim_id)
    assert [
        (
            e["attempt_number"],
            e["frequency_code"],
            e["rework_of_attempt"],
            e["manually_touched"],
            e["payer_claim_number"],
        )
        for e in events
    ] == [
        (1, "1", None, False, None),
        (2, "1", 1, True, None),
        (3, "1", 2, True, None),
        (4, "7", 3, True, "PCN-0001"),
        (5, "8", 4, False, "PCN-0001"),
    ]


async def test_no_response_after_the_follow_up_days_and_timely_filing_risk_open_on_the_business_date(
    sessions: Any, gateway: SandboxGateway, charges: Any
) -> None:
    # Follow up 30 days after submission (2026-09-15); 80% of a 90-day window after 2026-09-14 is 72 days.
    org, charge = await _setup(sessions, gateway, charges, no_response_follow_up_days=30, timely_filing_days=90)
    await org.send()
    claim_id = (await org.claim(charge.charge_id)).claim_id
    app = create_app()
    app.state.sessions = sessions
    headers = await org.api_key()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:

        async def sweep(as_of: str) -> dict[str, int]:
            answer = await http.post("/v1/work-queues/sweep", json={"as_of": as_of}, headers=headers)
            assert answer.status_code == 200, answer.text
            return dict(answer.json()["opened"])

        assert await sweep("2026-10-15") == {"no_response": 0, "timely_filing_risk": 0}
        assert await sweep("2026-10-16") == {"no_response": 1, "timely_filing_risk": 0}
        assert await sweep("2026-10-17") == {"no_response": 0, "timely_filing_risk": 0}  # already open
        assert await sweep("2026-11-25") == {"no_response": 0, "timely_filing_risk": 0}  # 72 days: exactly 80%
        assert await sweep("2026-11-26") == {"no_response": 0, "timely_filing_risk": 1}
        queue = (await http.get("/v1/work-queues/no_response", headers=headers)).json()["items"]
        assert [(item["claim_id"], item["reason_code"], item["opened_date"]) for item in queue] == [
            (claim_id, "NO-835", "2026-10-16")
        ]
        assert "31 days" in queue[0]["reason"]
        bad = await http.post("/v1/work-queues/sweep", json={"as_of": "soon"}, headers=headers)
        assert bad.status_code == 422
        assert "as_of" in bad.text
    posted = charges.posted(
        claim_id,
        payer_claim_number="PCN-9",
        trace_number="EFT9",
        payment_date=date(2026, 11, 27),
        paid="150",
        patient="0",
        contractual="0",
    )
    await org.handle(REMITTANCE_HANDLERS, "remittance.posted", posted, claim_id, date(2026, 11, 27))
    assert await org.items("no_response") == []
    assert await org.items("timely_filing_risk") == []
