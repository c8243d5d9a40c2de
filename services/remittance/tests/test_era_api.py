"""Integration: signed 835 deliveries through the ASGI app into Postgres, the outbox and the work queues."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from remittance.api import delivery_signature
from remittance.config import RemittanceSettings
from remittance.handlers import HANDLERS, REFERENCE_HANDLERS
from remittance.main import create_app
from remittance.models import denials, postings, unmatched_remittances
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.remittance.tests.support import outbox_events
from shared.auth import generate_api_key
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalogue import build_event
from shared.events.claim import ClaimLine, ClaimSubmitted
from shared.events.reference import ApiKeyRef, ReferenceUpserted
from shared.settings import load_settings

pytestmark = pytest.mark.stack

SETTINGS = load_settings(RemittanceSettings)


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the remittance runtime role."""
    engine = create_engine(SETTINGS, pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The remittance API in process, with its lifespan running."""
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://remittance") as http,
    ):
        yield http


async def submit_claim(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, claim_id: str, billed: str = "150"
) -> None:
    """A claim.submitted applied through the handler, as the consumer would."""
    payload = ClaimSubmitted(
        claim_id=claim_id,
        charge_id=f"charge-{claim_id}",
        payer_id=uuid.uuid4(),
        provider_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        program="outpatient_therapy",
        date_of_service=date(2026, 9, 20),
        charge_posted_date=date(2026, 9, 21),
        billed_amount=Decimal(billed),
        attempt_number=1,
        frequency_code="1",
        submitted_date=date(2026, 9, 22),
        scrub_passed=True,
        batch_control_number="000000001",
        lines=[ClaimLine(line_number=1, procedure_code="90834", units=1, amount=Decimal(billed))],
    )
    _, event = build_event(
        "claim.submitted",
        payload,
        source="test",
        subject=claim_id,
        organization_id=organization_id,
        business_date=date(2026, 9, 22),
        correlation_id=f"journey-{claim_id}",
        practice_id=uuid.uuid4(),
    )
    async with unit_of_work(sessions, organization_id) as session:
        await HANDLERS["claim.submitted"](session, event)


async def read_key(sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID) -> str:
    """A read key of the organization, replicated the way the reference topic delivers it."""
    key_id, secret, key_hash = generate_api_key()
    _, event = build_event(
        "reference.upserted",
        ReferenceUpserted(entity_id=key_id, entity=ApiKeyRef(key_id=key_id, key_hash=key_hash, scopes=["read"])),
        source="test",
        subject=key_id,
        organization_id=organization_id,
        business_date=date(2026, 10, 15),
        correlation_id=key_id,
    )
    async with unit_of_work(sessions, organization_id) as session:
        await REFERENCE_HANDLERS["reference.upserted"](session, event)
    return secret


async def deliver(
    client: httpx.AsyncClient, organization_id: uuid.UUID, body: str, *, signature: str | None = None
) -> httpx.Response:
    """POST an 835 the way the sandbox clearinghouse does."""
    submitter = str(organization_id)
    raw = body.encode()
    secret = SETTINGS.clearinghouse_secret.get_secret_value()
    return await client.post(
        "/v1/era/clearinghouse",
        content=raw,
        headers={
            "X-Claimflow-Submitter": submitter,
            "X-Claimflow-Signature": signature or delivery_signature(secret, submitter, raw),
            "Content-Type": "application/edi-x12",
        },
    )


async def count(sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, table: Any) -> int:
    """Rows of a tenant table for the organization."""
    async with unit_of_work(sessions, organization_id) as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def organization_id() -> uuid.UUID:
    """A fresh organization per test."""
    return uuid.uuid4()


@pytest.fixture
def ids() -> dict[str, str]:
    """Claim ids and a trace number unique to the test."""
    tag = uuid.uuid4().hex[:10].upper()
    return {"paid": f"P{tag}", "denied": f"D{tag}", "late": f"L{tag}", "trace": f"EFT{tag}"}


async def test_a_signed_835_posts_known_claims_emits_events_and_queues_the_unknown_one(
    sessions, client, organization_id, ids, eras
) -> None:
    if not SETTINGS.clearinghouse_secret.get_secret_value():
        pytest.skip("no clearinghouse secret in the stack configuration")
    await submit_claim(sessions, organization_id, ids["paid"])
    await submit_claim(sessions, organization_id, ids["denied"])
    body = eras.text(
        [
            eras.paid.format(claim=ids["paid"]),
            eras.denied.format(claim=ids["denied"]),
            eras.cost_share.format(claim=ids["late"]),
        ],
        payment="100",
        trace=ids["trace"],
    )

    response = await deliver(client, organization_id, body)

    assert response.status_code == 200, response.text
    receipt = response.json()
    assert sorted(c["claim_id"] for c in receipt["claims_posted"]) == sorted([ids["paid"], ids["denied"]])
    assert [(u["claim_id"], u["reason"]) for u in receipt["unmatched"]] == [(ids["late"], "unknown_claim")]
    assert receipt["discrepancies"] == []
    events = await outbox_events(ids["paid"], ids["denied"])
    by_type = {(e["type"], e["subject"]): e for e in events}
    posted = by_type[("remittance.posted", ids["paid"])]
    assert posted["topic"] == "claimflow.remittance.v1"
    assert posted["businessdate"] == "2026-10-15"
    assert posted["correlationid"] == f"journey-{ids['paid']}"
    assert posted["data"]["first_adjudication"] is True
    assert posted["data"]["is_denial"] is False
    assert (posted["data"]["paid_amount"], posted["data"]["contractual_amount"]) == ("100.00", "30.00")
    assert posted["data"]["trace_number"] == ids["trace"]
    denied = by_type[("claim.denied", ids["denied"])]
    assert denied["topic"] == "claimflow.denial.v1"
    assert denied["data"]["root_cause"] == "authorization_missing"
    assert denied["data"]["reason_codes"] == ["CO-197"]
    assert denied["data"]["initial"] is True
    assert Decimal(denied["data"]["denied_amount"]) == Decimal("150")
    assert by_type[("remittance.posted", ids["denied"])]["data"]["is_denial"] is True
    assert len(events) == 3

    again = await deliver(client, organization_id, body)

    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert await count(sessions, organization_id, postings) == 2
    assert await count(sessions, organization_id, denials) == 1
    assert len(await outbox_events(ids["paid"], ids["denied"])) == 3

    await submit_claim(sessions, organization_id, ids["late"])

    late = await outbox_events(ids["late"])
    assert [e["type"] for e in late] == ["remittance.posted"]
    assert late[0]["data"]["patient_responsibility"] == "150.00"
    assert late[0]["businessdate"] == "2026-10-15"
    async with unit_of_work(sessions, organization_id) as session:
        status = await session.scalar(
            select(unmatched_remittances.c.status).where(unmatched_remittances.c.claim_id == ids["late"])
        )
    assert status == "posted"


async def test_a_reversal_emits_remittance_reversed_and_is_not_a_first_adjudication(
    sessions, client, organization_id, ids, eras
) -> None:
    if not SETTINGS.clearinghouse_secret.get_secret_value():
        pytest.skip("no clearinghouse secret in the stack configuration")
    await submit_claim(sessions, organization_id, ids["paid"])
    first = eras.text([eras.paid.format(claim=ids["paid"])], payment="100", trace=ids["trace"])
    assert (await deliver(client, organization_id, first)).status_code == 200
    reversal = eras.text(
        [eras.reversal.format(claim=ids["paid"]), eras.paid.format(claim=ids["paid"])],
        payment="0",
        trace=ids["trace"] + "R",
    )

    response = await deliver(client, organization_id, reversal)

    assert response.status_code == 200, response.text
    events = await outbox_events(ids["paid"])
    assert [e["type"] for e in events] == ["remittance.posted", "remittance.reversed", "remittance.posted"]
    reversed_event = events[1]["data"]
    assert reversed_event["paid_amount"] == "-100.00"
    assert reversed_event["reversed_posting_id"] is not None
    assert reversed_event["first_adjudication"] is False
    assert events[2]["data"]["first_adjudication"] is False


async def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(
    sessions, client, organization_id, ids, eras
) -> None:
    body = eras.text([eras.paid.format(claim=ids["paid"])], payment="100", trace=ids["trace"])
    bad = await deliver(client, organization_id, body, signature="sha256=" + "0" * 64)
    missing = await client.post("/v1/era/clearinghouse", content=body.encode())
    assert (bad.status_code, missing.status_code) == (401, 401)
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert await count(sessions, organization_id, postings) == 0


async def test_a_4010_file_is_refused_with_422_saying_what_and_where(sessions, client, organization_id, eras) -> None:
    if not SETTINGS.clearinghouse_secret.get_secret_value():
        pytest.skip("no clearinghouse secret in the stack configuration")
    body = eras.text([eras.paid.format(claim="X1")], payment="100", version="004010X091A1")

    response = await deliver(client, organization_id, body)

    assert response.status_code == 422
    problem = response.json()
    assert "004010X091A1" in problem["detail"]
    assert "segment 2 (GS)" in problem["detail"]


async def test_denials_and_files_are_read_per_organization_and_another_org_gets_404(
    sessions, client, organization_id, ids, eras
) -> None:
    if not SETTINGS.clearinghouse_secret.get_secret_value():
        pytest.skip("no clearinghouse secret in the stack configuration")
    await submit_claim(sessions, organization_id, ids["denied"])
    body = eras.text([eras.denied.format(claim=ids["denied"])], payment="0", trace=ids["trace"])
    file_id = (await deliver(client, organization_id, body)).json()["file_id"]
    mine = {"Authorization": f"Bearer {await read_key(sessions, organization_id)}"}
    theirs = {"Authorization": f"Bearer {await read_key(sessions, uuid.uuid4())}"}

    listed = (await client.get("/v1/denials", headers=mine)).json()["items"]
    own_file = await client.get(f"/v1/remittances/{file_id}", headers=mine)
    other_file = await client.get(f"/v1/remittances/{file_id}", headers=theirs)
    other_denials = (await client.get("/v1/denials", headers=theirs)).json()["items"]

    assert [(d["claim_id"], d["root_cause"], d["owner"]) for d in listed] == [
        (ids["denied"], "authorization_missing", "intake")
    ]
    assert own_file.status_code == 200
    assert [p["claim_id"] for p in own_file.json()["postings"]] == [ids["denied"]]
    assert other_file.status_code == 404
    assert other_denials == []
