"""A small pipeline through the real stack: an independent KPI calculation from the raw topics, replay, dashboard.

The independent calculation reads the Kafka topics from the beginning as plain JSON and computes the first_pass
clean claim rate and days in A/R with straightforward code written here from DOMAIN.md section 6, not the
service's. One of the claims is voided once adjudicated (a frequency-8 attempt the sandbox payer accepts), so both
calculations leave it out of the first_pass cohort and its charge out of A/R and gross charges. The replay rebuilds
the read model from the topics, swaps it live and must give identical KPIs.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from analytics.config import AnalyticsSettings
from analytics.rebuild import rebuild

from deploy.browser import screenshot
from deploy.client import ClaimflowClient, Tenant, base_url, encounter_body, seed_payers, seed_practice, wait_until
from deploy.stack import load_env

pytestmark = pytest.mark.stack

ENCOUNTERS = 5  # one per seeded patient, so the duplicate edit never holds one
LIFECYCLE = (
    "claimflow.charge.v1",
    "claimflow.claim-submitted.v1",
    "claimflow.claim-acknowledged.v1",
    "claimflow.remittance.v1",
    "claimflow.denial.v1",
)


@pytest.fixture(scope="module")
async def pipeline() -> AsyncIterator[tuple[Tenant, list[str]]]:
    """An organization whose encounters of 2026-10-01 went all the way to paid or denied claims."""
    client = ClaimflowClient(load_env())
    tenant = await client.create_tenant(f"analytics-{uuid.uuid4().hex[:8]}")
    await tenant.set_business_date(date(2026, 10, 1))
    payer_ids = await seed_payers(tenant)
    await seed_practice(tenant, name="Pipeline Practice", seed=7, payer_ids=payer_ids, providers=2, patients=5)
    await tenant.sandbox(
        "PUT",
        "/v1/behaviour",
        json={"submitter": tenant.organization_id, "payment_lag_business_days": 0, "denial_rate": 0.4},
    )
    rng = random.Random(11)
    for number in range(ENCOUNTERS):
        body = encounter_body(tenant.practices[0], rng, date(2026, 10, 1), number, minutes=53)
        body["place_of_care"] = "in_person"
        body["patient_at_home"] = False
        body["patient_id"] = tenant.practices[0]["patient_ids"][number]
        response = await tenant.request("POST", "intake", "/v1/encounters", json=body)
        assert response.status_code == 202, response.text

    seen: list[tuple[str, str]] = []

    async def adjudicated() -> list[str] | None:
        found = await tenant.request("GET", "analytics", "/v1/claims", params={"limit": 200})
        items = found.json()["items"] if found.status_code == 200 else []
        seen[:] = [(c["claim_id"], c["status"]) for c in items]
        report = await tenant.request("GET", "analytics", "/v1/kpis")
        if len(items) != ENCOUNTERS or report.status_code != 200:
            return None
        first_pass = next(k for k in report.json()["kpis"] if k["variant"] == "first_pass")
        return [c["claim_id"] for c in items] if first_pass["denominator"]["count"] == ENCOUNTERS else None

    try:
        claims = await wait_until(adjudicated, timeout=120, what=f"analytics to see {ENCOUNTERS} claims adjudicated")
    except TimeoutError as error:
        raise AssertionError(f"{error}; claims analytics saw (id, status): {seen}") from None

    # Billing staff void one adjudicated claim (a paid one when there is one): submission sends a frequency-8
    # attempt, the sandbox payer accepts it and takes its payment back.
    voided = next((claim_id for claim_id, status in seen if status == "paid"), claims[0])
    response = await tenant.request(
        "POST", "submission", f"/v1/claims/{voided}/void", json={"reason": "billed in error"}
    )
    assert response.status_code == 202, response.text

    async def void_accepted() -> bool:
        found = await tenant.request("GET", "analytics", f"/v1/claims/{voided}/timeline")
        events = found.json()["events"] if found.status_code == 200 else []
        report = await tenant.request("GET", "analytics", "/v1/kpis")
        first_pass = next(k for k in report.json()["kpis"] if k["variant"] == "first_pass")
        accepted = any(
            e["event_type"] == "claim.acknowledged"
            and e["facts"]["attempt_number"] > 1
            and e["facts"]["kind"] == "277CA"
            for e in events
        )
        return accepted and first_pass["denominator"]["count"] == ENCOUNTERS - 1

    await wait_until(void_accepted, timeout=120, what=f"analytics to see the void of {voided} accepted")
    yield tenant, claims
    await client.close()


async def raw_events(organization_id: str) -> list[dict[str, Any]]:
    """Every event of the organization on the lifecycle topics, read from the beginning as plain JSON."""
    env = load_env()
    consumer = AIOKafkaConsumer(bootstrap_servers=env.get("CLAIMFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:39092"))
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic in LIFECYCLE for p in range(4)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events = []
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                for message in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    try:  # poison messages of the fault tests are on the topics too; the services dead-letter them
                        event = json.loads(message.value)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(event, dict) and event.get("organizationid") == organization_id:
                        events.append(event)
        return events
    finally:
        await consumer.stop()


async def publish(topic: str, event: dict[str, Any]) -> None:
    """Put one event on a topic as the outbox relay does, keyed by its subject."""
    env = load_env()
    producer = AIOKafkaProducer(bootstrap_servers=env.get("CLAIMFLOW_KAFKA_BOOTSTRAP", "127.0.0.1:39092"))
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(event).encode(), key=event["subject"].encode())
    finally:
        await producer.stop()


def accepted_voids(events: list[dict[str, Any]], d: date) -> set[str]:
    """Claims whose void (frequency 8) the payer accepted by D: their newest attempt sent by D is a void, and its
    answers by D reject nothing and include a 277CA A2 or A5 (DOMAIN.md 6)."""
    newest: dict[str, dict[str, Any]] = {}
    answers: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        data, kind = event["data"], event["type"]
        if kind == "claim.submitted" and date.fromisoformat(data["submitted_date"]) <= d:
            known = newest.get(data["claim_id"])
            if known is None or data["attempt_number"] > known["attempt_number"]:
                newest[data["claim_id"]] = data
        elif kind == "claim.acknowledged" and date.fromisoformat(data["acknowledged_date"]) <= d:
            answers[(data["claim_id"], data["attempt_number"])].append(data)
    voided = set()
    for claim_id, attempt in newest.items():
        found = answers[(claim_id, attempt["attempt_number"])]
        if (
            attempt["frequency_code"] == "8"
            and not any(a["outcome"] == "rejected" for a in found)
            and any(a["acknowledgement"] == "277CA" and a["status_code"][:2] in ("A2", "A5") for a in found)
        ):
            voided.add(claim_id)
    return voided


def withdrawn_claims(events: list[dict[str, Any]], d: date) -> set[str]:
    """Claims withdrawn by D (`claim.voided`) while the payer did not hold them: no attempt sent by the withdrawal,
    or the newest one rejected by then, and no void (frequency 8) ever sent for them."""
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rejected: set[tuple[str, int, date]] = set()
    withdrawals: list[tuple[str, date]] = []
    for event in events:
        data, kind = event["data"], event["type"]
        if kind == "claim.submitted":
            attempts[data["claim_id"]].append(data)
        elif kind == "claim.acknowledged" and data["outcome"] == "rejected":
            rejected.add((data["claim_id"], data["attempt_number"], date.fromisoformat(data["acknowledged_date"])))
        elif kind == "claim.voided" and date.fromisoformat(data["voided_date"]) <= d:
            withdrawals.append((data["claim_id"], date.fromisoformat(data["voided_date"])))
    withdrawn = set()
    for claim_id, on in withdrawals:
        sent = [a for a in attempts[claim_id] if date.fromisoformat(a["submitted_date"]) <= d]
        if any(a["frequency_code"] == "8" for a in sent):
            continue
        before = [a for a in sent if date.fromisoformat(a["submitted_date"]) <= on]
        newest = max((a["attempt_number"] for a in before), default=None)
        if newest is None or any(c == claim_id and n == newest and day <= on for c, n, day in rejected):
            withdrawn.add(claim_id)
    return withdrawn


def independent_first_pass(events: list[dict[str, Any]], d: date) -> tuple[int, int]:
    """(clean, cohort) of DOMAIN.md's first_pass clean claim rate, 30-day window, straight from the events."""
    start = d - timedelta(days=29)
    voided = accepted_voids(events, d)
    first_sent: dict[str, dict[str, Any]] = {}
    held, touched_charges, rejected, first_paid = set(), set(), set(), {}
    for event in events:
        data, kind = event["data"], event["type"]
        if kind == "claim.submitted" and data["payer_priority"] == "primary":
            known = first_sent.get(data["claim_id"])
            if known is None or data["attempt_number"] < known["attempt_number"]:
                first_sent[data["claim_id"]] = data
        elif kind == "claim.held":
            held.add(data["claim_id"])
        elif kind in ("charge.created", "charge.released") and (data["manually_touched"] or kind == "charge.released"):
            touched_charges.add(data["charge_id"])
        elif kind == "claim.acknowledged" and data["outcome"] == "rejected" and data["attempt_number"] == 1:
            rejected.add(data["claim_id"])
        elif kind == "remittance.posted":
            day = date.fromisoformat(data["payment_date"])
            if day <= d and (data["claim_id"] not in first_paid or day < first_paid[data["claim_id"]][0]):
                first_paid[data["claim_id"]] = (day, data)
    clean = cohort = 0
    for claim_id, sent in first_sent.items():
        if not start <= date.fromisoformat(sent["submitted_date"]) <= d or claim_id not in first_paid:
            continue
        if claim_id in voided:
            continue
        cohort += 1
        posting = first_paid[claim_id][1]
        denied = (
            posting["claim_status_code"] == "4"
            or posting["is_denial"]
            or any(a["adjustment_class"] in ("denial", "denial_patient") for a in posting["adjustments"])
        )
        if not (
            claim_id in held
            or claim_id in rejected
            or not sent["scrub_passed"]
            or sent["manually_touched"]
            or sent["charge_id"] in touched_charges
            or denied
        ):
            clean += 1
    return clean, cohort


def independent_days_in_ar(events: list[dict[str, Any]], d: date) -> tuple[Decimal, Decimal, Decimal]:
    """(A/R at D, gross charges of the 90 days, days in A/R) straight from the events."""
    billed: dict[str, tuple[date, Decimal]] = {}
    voided: set[str] = set()
    claim_charge: dict[str, str] = {}
    claims_of_charge: dict[str, set[str]] = defaultdict(set)
    reductions: dict[str, Decimal] = defaultdict(Decimal)
    for event in events:
        data, kind = event["data"], event["type"]
        if kind in ("charge.created", "charge.released"):
            billed[data["charge_id"]] = (date.fromisoformat(data["charge_posted_date"]), Decimal(data["total_amount"]))
        elif kind == "charge.voided" and date.fromisoformat(event["businessdate"]) <= d:
            voided.add(data["charge_id"])
        elif kind in ("claim.submitted", "claim.held"):
            day = data["submitted_date"] if kind == "claim.submitted" else data["held_date"]
            if date.fromisoformat(day) <= d:
                claims_of_charge[data["charge_id"]].add(data["claim_id"])
            claim_charge[data["claim_id"]] = data["charge_id"]
    no_longer_billed = accepted_voids(events, d) | withdrawn_claims(events, d)
    voided |= {charge for charge, claims in claims_of_charge.items() if claims and claims <= no_longer_billed}
    for event in events:
        data, kind = event["data"], event["type"]
        charge = data.get("charge_id") or claim_charge.get(data.get("claim_id", ""))
        if kind in ("remittance.posted", "remittance.reversed") and date.fromisoformat(data["payment_date"]) <= d:
            amount = Decimal(data["paid_amount"]) + Decimal(data["contractual_amount"])
            negated = Decimal(data["charge_amount"]) < 0 or Decimal(data["paid_amount"]) < 0
            reductions[charge] += -amount if kind == "remittance.reversed" and not negated else amount
        elif kind in ("patient-payment.posted", "balance.written-off"):
            posted = data["posted_date"] if kind == "patient-payment.posted" else data["written_off_date"]
            if date.fromisoformat(posted) <= d:
                reductions[charge] += Decimal(data["amount"])
    receivable = gross = Decimal(0)
    for charge_id, (posted, amount) in billed.items():
        if posted > d or charge_id in voided:
            continue
        receivable += amount - reductions[charge_id]
        if posted >= d - timedelta(days=89):
            gross += amount
    days = (receivable * 90 / gross).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return receivable, gross, days


def kpi(report: dict[str, Any], name: str, variant: str | None = None) -> dict[str, Any]:
    """One KPI of an API report."""
    return next(k for k in report["kpis"] if k["name"] == name and k["variant"] == variant)


async def test_an_independent_calculation_from_the_raw_topics_matches_the_api(pipeline):
    tenant, _ = pipeline
    report = (await tenant.request("GET", "analytics", "/v1/kpis")).json()
    d = date.fromisoformat(report["as_of"])
    events = await raw_events(tenant.organization_id)

    clean, cohort = independent_first_pass(events, d)
    receivable, gross, days = independent_days_in_ar(events, d)

    first_pass = kpi(report, "clean_claim_rate", "first_pass")
    # One claim's void was accepted: it left the cohort.
    assert cohort == ENCOUNTERS - 1
    assert (first_pass["numerator"]["count"], first_pass["denominator"]["count"]) == (clean, cohort)
    assert abs(Decimal(first_pass["value"]) - Decimal(clean) / Decimal(cohort)) <= Decimal("0.001")
    days_in_ar = kpi(report, "days_in_ar")
    assert Decimal(days_in_ar["numerator"]["amount"]) == receivable
    assert Decimal(days_in_ar["denominator"]["amount"]) == gross
    assert abs(Decimal(days_in_ar["value"]) - days) <= days * Decimal("0.001")


async def test_replay_rebuilds_the_read_model_and_gives_identical_kpis(pipeline):
    tenant, claims = pipeline
    params = {"as_of": "2026-10-31", "window_days": 60}
    before = (await tenant.request("GET", "analytics", "/v1/kpis", params=params)).json()
    search_before = (await tenant.request("GET", "analytics", "/v1/claims")).json()
    # A relay that crashed between publishing and marking its outbox row sends the event again: the replay reads
    # both copies and must keep one fact.
    submitted = next(e for e in await raw_events(tenant.organization_id) if e["type"] == "claim.submitted")
    await publish("claimflow.claim-submitted.v1", submitted)

    result = await rebuild(AnalyticsSettings(), swap=True)

    after = (await tenant.request("GET", "analytics", "/v1/kpis", params=params)).json()
    search_after = (await tenant.request("GET", "analytics", "/v1/claims")).json()
    assert result.swapped
    assert result.facts_stored < result.events_read
    assert uuid.UUID(tenant.organization_id) in result.organizations
    assert uuid.UUID(tenant.organization_id) not in result.carried_organizations
    assert after == before
    assert search_after == search_before
    assert sorted(c["claim_id"] for c in search_after["items"]) == sorted(claims)


async def test_the_dashboard_page_shows_the_api_kpis_and_renders_in_chromium(pipeline, tmp_path: Path):
    tenant, _ = pipeline
    report = (await tenant.request("GET", "analytics", "/v1/kpis")).json()
    link = await tenant.request("POST", "analytics", "/v1/dashboard-links", json={"as_of": report["as_of"]})
    assert link.status_code == 201, link.text
    url = (
        base_url(tenant.client.env, "analytics") + "/v1/dashboard?" + str(httpx.QueryParams(token=link.json()["token"]))
    )

    page = (await tenant.client.http.get(url)).text
    shot = screenshot(url, tmp_path / "dashboard.png")

    for name, variant in (("clean_claim_rate", "first_pass"), ("days_in_ar", None), ("net_collection_rate", None)):
        value = kpi(report, name, variant)["value"]
        key = f"{name}/{variant}" if variant else name
        assert f'data-kpi="{key}" data-value="{Decimal(value) if value is not None else ""}"' in page
    assert "Pipeline Practice" in page
    image = shot.read_bytes()
    assert image.startswith(b"\x89PNG")
    assert len(image) > 20_000, "the screenshot is suspiciously small for a page of tiles and charts"
