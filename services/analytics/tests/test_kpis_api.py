"""Integration: lifecycle events through the handlers into Postgres, KPIs read back through the HTTP API."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from analytics import repository
from analytics.facts import extend_ledger
from analytics.gauges import GaugeRefresher
from analytics.ledger import Ledger
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.tests.api_support import ADDRESS, api_key_for, feed, kpi, replicate
from shared.db import unit_of_work
from shared.events.reference import PracticeRef

pytestmark = pytest.mark.stack


async def test_worked_example_reads_back_through_the_api_even_when_events_arrive_twice_and_out_of_order(
    sessions, client, worked
):
    await feed(sessions, list(reversed(worked.events)) + worked.events)
    key = await api_key_for(sessions, worked.organization_id)

    response = await client.get(
        "/v1/kpis", params={"as_of": "2026-10-31", "window_days": 60}, headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    first_pass = kpi(report, "clean_claim_rate", "first_pass")
    assert Decimal(first_pass["value"]) == Decimal("0.5")
    assert (first_pass["numerator"]["count"], first_pass["denominator"]["count"]) == (1, 2)
    assert "first adjudication" in first_pass["definition"]
    days = kpi(report, "days_in_ar")
    assert Decimal(days["value"]) == Decimal("66.6")
    assert Decimal(days["numerator"]["amount"]) == Decimal("370")
    assert Decimal(days["denominator"]["amount"]) == Decimal("500")


async def test_as_of_defaults_to_the_latest_business_date_and_practice_slices(sessions, client, worked):
    await feed(sessions, worked.events)
    key = await api_key_for(sessions, worked.organization_id)
    headers = {"Authorization": f"Bearer {key}"}

    idle_practice = uuid.uuid4()
    await replicate(
        sessions,
        worked.organization_id,
        idle_practice,
        PracticeRef(name="Idle", npi="1234567893", tin="1", taxonomy="x", address=ADDRESS),
    )

    report = (await client.get("/v1/kpis", headers=headers)).json()
    other = (await client.get("/v1/kpis", params={"practice_id": str(idle_practice)}, headers=headers)).json()

    assert report["as_of"] == "2026-10-02"
    assert Decimal(kpi(report, "days_in_ar")["numerator"]["amount"]) == Decimal("370")
    # A practice of the organization without facts has empty KPIs.
    assert kpi(other, "days_in_ar")["numerator"]["count"] == 0


async def test_claim_timeline_lists_events_in_business_date_order_and_hides_other_organizations(
    sessions, client, worked
):
    await feed(sessions, list(reversed(worked.events)))
    key = await api_key_for(sessions, worked.organization_id)
    stranger = await api_key_for(sessions, uuid.uuid4())

    mine = await client.get("/v1/claims/C2/timeline", headers={"Authorization": f"Bearer {key}"})
    theirs = await client.get("/v1/claims/C2/timeline", headers={"Authorization": f"Bearer {stranger}"})

    assert mine.status_code == 200, mine.text
    types = [e["event_type"] for e in mine.json()["events"]]
    assert types[:2] == ["charge.created", "claim.submitted"]
    assert set(types[2:]) == {"remittance.posted", "claim.denied"}
    assert theirs.status_code == 404


async def test_an_organization_without_events_and_without_as_of_gets_404(sessions, client):
    key = await api_key_for(sessions, uuid.uuid4())

    response = await client.get("/v1/kpis", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_gauge_refresher_publishes_days_in_ar_as_of_the_latest_business_date(sessions, worked):
    await feed(sessions, worked.events)
    refresher = GaugeRefresher(sessions)

    await refresher.refresh()

    labels = {"organization": str(worked.organization_id), "practice": "all"}
    # As of 2026-10-02 the 90 days hold all three charges: A/R 370 over 500 / 90.
    assert REGISTRY.get_sample_value("claimflow_days_in_ar", labels) == 66.6
    assert worked.organization_id in refresher.versions


async def test_a_ledger_read_a_few_rows_at_a_time_is_the_ledger_of_every_row(sessions, worked):
    await feed(sessions, list(reversed(worked.events)))

    async def read(size: int) -> tuple[Ledger, int]:
        ledger, batches = Ledger(), 0
        async with unit_of_work(sessions, worked.organization_id) as session:
            async for batch in repository.fact_batches(session, date(2026, 12, 31), size=size):
                assert 0 < len(batch) <= size
                extend_ledger(ledger, batch)
                batches += 1
        return ledger, batches

    (in_pairs, pairs), (at_once, _) = await read(2), await read(1_000_000)
    expected = worked.ledger()

    assert pairs == (len(worked.events) + 1) // 2
    assert in_pairs == at_once
    # The same records as the worked example's events give (the database returns them in business-date order).
    for name in ("charges", "attempts", "acknowledgements", "adjudications", "denials", "visits", "write_offs"):
        assert sorted(getattr(in_pairs, name), key=repr) == sorted(getattr(expected, name), key=repr), name
    assert in_pairs.fact_counts() == expected.fact_counts()
    assert len(in_pairs.charges) == 3  # the worked example's three charges
    assert in_pairs.adjudications


async def test_organizations_come_most_recently_active_first_and_at_most_as_many_as_asked(
    sessions, worked_organizations
) -> None:
    earlier, later = worked_organizations(2)
    for organization in (earlier, later):
        await feed(sessions, organization.events)
    async with unit_of_work(sessions, None) as session:
        everyone = list(await repository.organization_versions(session, 1_000_000))
        one = await repository.organization_versions(session, 1)
        counted = await repository.organizations_with_facts(session)

    assert everyone.index(later.organization_id) < everyone.index(earlier.organization_id)
    assert len(one) == 1
    assert counted == len(everyone)


async def test_an_organization_falling_out_of_the_gauges_coverage_has_its_series_removed(
    sessions, worked_organizations, monkeypatch
) -> None:
    first, second = worked_organizations(2)
    for organization in (first, second):
        await feed(sessions, organization.events)
    covered = [second.organization_id]
    listed = repository.organization_versions

    async def most_recent(session: AsyncSession, most: int) -> dict[uuid.UUID, tuple[int, date]]:
        everyone = await listed(session, 1_000_000)
        return {o: everyone[o] for o in covered[:most]}

    monkeypatch.setattr(repository, "organization_versions", most_recent)
    refresher = GaugeRefresher(sessions, max_organizations=1)

    def days_in_ar(organization: Any) -> float | None:
        labels = {"organization": str(organization.organization_id), "practice": "all"}
        return REGISTRY.get_sample_value("claimflow_days_in_ar", labels)

    await refresher.refresh()
    assert (days_in_ar(first), days_in_ar(second)) == (None, 66.6)
    covered[:] = [first.organization_id, second.organization_id]
    await refresher.refresh()
    assert (days_in_ar(first), days_in_ar(second)) == (66.6, None)
    assert REGISTRY.get_sample_value("claimflow_business_gauge_organizations", {"coverage": "published"}) == 1
    assert set(refresher.versions) == {first.organization_id}


async def test_kpis_come_as_csv_with_the_same_numbers_as_json(sessions, client, worked):
    await feed(sessions, worked.events)
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, worked.organization_id)}"}
    params = {"as_of": "2026-10-31", "window_days": 60}

    as_json = (await client.get("/v1/kpis", params=params, headers=headers)).json()
    as_csv = await client.get("/v1/kpis", params={**params, "format": "csv"}, headers=headers)
    dotted = await client.get("/v1/kpis.csv", params=params, headers=headers)

    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert dotted.text == as_csv.text
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(as_json["kpis"])
    days = next(r for r in rows if r["name"] == "days_in_ar")
    assert (days["value"], days["numerator_amount"], days["denominator_amount"]) == ("66.6", "370", "500")
    first_pass = next(r for r in rows if r["name"] == "clean_claim_rate" and r["variant"] == "first_pass")
    assert (first_pass["numerator_count"], first_pass["denominator_count"]) == ("1", "2")


async def test_kpi_parameters_are_checked_with_problem_details(sessions, client):
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, uuid.uuid4())}"}

    response = await client.get("/v1/kpis", params={"as_of": "2026-13-01", "window_days": 0}, headers=headers)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"query.as_of", "query.window_days"} <= fields


async def test_search_finds_claims_by_status_patient_and_date_page_by_page(sessions, client, worked):
    await feed(sessions, list(reversed(worked.events)))
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, worked.organization_id)}"}

    denied = (await client.get("/v1/claims", params={"status": "denied"}, headers=headers)).json()
    paid = (await client.get("/v1/claims", params={"status": "paid"}, headers=headers)).json()
    october = (await client.get("/v1/claims", params={"date_from": "2026-10-01"}, headers=headers)).json()
    first = (await client.get("/v1/claims", params={"limit": 2}, headers=headers)).json()
    second = (
        await client.get("/v1/claims", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers)
    ).json()
    by_patient = (await client.get("/v1/claims", params={"patient_id": str(worked.patient_id)}, headers=headers)).json()
    nobody = (await client.get("/v1/claims", params={"patient_id": str(uuid.uuid4())}, headers=headers)).json()

    assert [c["claim_id"] for c in denied["items"]] == ["C2"]
    assert [c["claim_id"] for c in paid["items"]] == ["C1"]
    assert [c["claim_id"] for c in october["items"]] == ["C3"]
    assert october["items"][0]["status"] == "submitted"
    assert [c["claim_id"] for c in first["items"] + second["items"]] == ["C1", "C2", "C3"]
    assert second["next_cursor"] is None
    assert len(by_patient["items"]) == 3
    assert nobody["items"] == []


async def test_search_rejects_a_reversed_date_range_and_an_unknown_status(sessions, client):
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, uuid.uuid4())}"}

    reversed_range = await client.get(
        "/v1/claims", params={"date_from": "2026-10-02", "date_to": "2026-10-01"}, headers=headers
    )
    unknown = await client.get("/v1/claims", params={"status": "lost"}, headers=headers)

    assert reversed_range.status_code == 422
    assert reversed_range.json()["errors"][0]["field"] == "date_to"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "query.status"


async def test_search_and_timeline_of_one_organization_are_invisible_to_another(sessions, client, worked):
    await feed(sessions, worked.events)
    stranger = {"Authorization": f"Bearer {await api_key_for(sessions, uuid.uuid4())}"}

    search = await client.get("/v1/claims", headers=stranger)
    timeline = await client.get("/v1/claims/C1/timeline", headers=stranger)

    assert search.status_code == 200
    assert search.json()["items"] == []
    assert timeline.status_code == 404


async def test_the_timeline_runs_from_the_encounter_to_the_appeal_in_business_date_order(sessions, client, lifecycle):
    encounter_id = uuid.uuid4()
    charge_id = str(encounter_id)
    lifecycle.encounter(encounter_id, date_of_service=date(2026, 10, 1))
    lifecycle.charge(charge_id, billed="150", posted=date(2026, 10, 2), date_of_service=date(2026, 10, 1))
    lifecycle.submit("CLM1", charge_id, on=date(2026, 10, 3))
    lifecycle.acknowledge("CLM1", kind="999", status_code="A", outcome="accepted", on=date(2026, 10, 4))
    lifecycle.remit("CLM1", charge_id, on=date(2026, 10, 20), status="4", adjustments=(("CO", "197", "150", "denial"),))
    lifecycle.appeal("CLM1", on=date(2026, 10, 22))
    lifecycle.request_correction("CLM1", on=date(2026, 10, 23))
    await feed(sessions, list(reversed(lifecycle.events)))
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, lifecycle.organization_id)}"}

    timeline = (await client.get("/v1/claims/CLM1/timeline", headers=headers)).json()

    assert [e["event_type"] for e in timeline["events"]] == [
        "encounter.received",
        "charge.created",
        "claim.submitted",
        "claim.acknowledged",
        "remittance.posted",
        "denial.appealed",
        "correction.requested",
    ]
    received = timeline["events"][0]["facts"]
    assert "first_name" not in str(received)
    assert "birth_date" not in str(received)


async def test_a_dashboard_link_opens_the_page_for_15_minutes_and_shows_the_api_values(sessions, client, worked):
    await feed(sessions, worked.events)
    headers = {"Authorization": f"Bearer {await api_key_for(sessions, worked.organization_id)}"}

    link = await client.post("/v1/dashboard-links", json={"as_of": "2026-10-31"}, headers=headers)
    assert link.status_code == 201, link.text
    body = link.json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    page = await client.get("/v1/dashboard", params={"token": body["token"]})
    tampered = await client.get("/v1/dashboard", params={"token": body["token"][:-2] + "xx"})
    unknown_field = await client.post("/v1/dashboard-links", json={"organization_id": "x"}, headers=headers)

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    # As of 10-31 with the default window: days in A/R 66.6 (370 over 500 / 90).
    assert 'data-kpi="days_in_ar" data-value="66.6"' in page.text
    assert "66.6 days" in page.text
    assert tampered.status_code == 401
    assert unknown_field.status_code == 422
    assert unknown_field.json()["errors"][0]["field"] == "organization_id"


ROOT = Path(__file__).resolve().parents[3]


async def test_the_kpis_command_refuses_a_practice_that_is_not_the_organizations(sessions, worked):
    await feed(sessions, worked.events)
    foreign = uuid.uuid4()
    await replicate(
        sessions,
        uuid.uuid4(),
        foreign,
        PracticeRef(name="Theirs", npi="1234567893", tin="1", taxonomy="x", address=ADDRESS),
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'services' / 'analytics'}{os.pathsep}{ROOT}", "COLUMNS": "200"}
    argv = ["-m", "analytics.cli", "kpis", "--organization", str(worked.organization_id), "--practice", str(foreign)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 2, (out.decode(), err.decode())
    assert f"--practice: no practice {foreign} in this organization" in " ".join(out.decode().split())


async def test_the_kpis_command_prints_a_table_per_practice(sessions, worked):
    await feed(sessions, worked.events)
    root = ROOT
    env = {**os.environ, "PYTHONPATH": f"{root / 'services' / 'analytics'}{os.pathsep}{root}", "COLUMNS": "200"}
    argv = ["-m", "analytics.cli", "kpis", "--organization", str(worked.organization_id)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        "--as-of",
        "2026-10-31",
        "--window-days",
        "60",
        env=env,
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "KPIs as of 2026-10-31" in text
    rows = [line for line in text.splitlines() if str(worked.practice_id)[:8] in line or "All" in line]
    assert len(rows) == 2
    # first_pass 1 of 2 and 66.6 days in A/R for the organization and for its single practice.
    assert all("50.0%" in row and "66.6" in row for row in rows)
