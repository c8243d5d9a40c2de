"""The demo's KPI table and its billing office, without the stack: each table row names the units of its numerator and
denominator, and the office's choices follow from the seed and the visit numbers alone."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console

from deploy.demo import kpi_table, work_the_accounts

TODAY = date(2026, 12, 1)


def kpi(name: str, variant: str | None, value: str | None, unit: str, numerator: tuple, denominator: tuple) -> dict:
    """One KPI as the analytics API answers it."""
    return {
        "name": name,
        "variant": variant,
        "value": value,
        "unit": unit,
        "numerator": {"count": numerator[0], "amount": numerator[1]},
        "denominator": {"count": denominator[0], "amount": denominator[1]},
    }


REPORT = {
    "kpis": [
        kpi("clean_claim_rate", "first_pass", "0.9231", "ratio", (120, "18000.00"), (130, "19500.00")),
        kpi("clean_claim_rate", "acceptance", "1.0000", "ratio", (130, "19500.00"), (130, "19500.00")),
        kpi("initial_denial_rate", None, "0.0500", "ratio", (6, "900.00"), (120, "18000.00")),
        kpi("denials_by_root_cause", "coding", "0.5000", "ratio", (3, "450.00"), (6, "900.00")),
        kpi("days_in_ar", None, "106.0", "days", (106, "5050.00"), (240, "4290.00")),
        kpi("ar_over_days", "90", "0.1200", "ratio", (8, "606.00"), (106, "5050.00")),
        kpi("net_collection_rate", None, "0.8812", "ratio", (210, "25000.00"), (240, "28370.00")),
        kpi("charge_lag", "median", "1.0", "days", (240, "310"), (240, "36000.00")),
        kpi("initial_denial_rate", "dollars", "0.0096", "ratio", (1, "150.00"), (11, "15600.00")),
        kpi("denials_by_root_cause", "telehealth", "1.0000", "ratio", (1, "150.00"), (1, "150.00")),
    ]
}


def rendered_rows() -> dict[str, str]:
    """The table as text, one line per KPI keyed by its first cell."""
    console = Console(record=True, width=250)
    console.print(kpi_table("KPIs", REPORT))
    lines = console.export_text().splitlines()
    return {line.split("│")[1].strip(): line for line in lines if line.count("│") > 2}


def test_each_row_of_the_demo_kpi_table_names_the_units_of_its_numerator_and_denominator():
    rows = rendered_rows()
    # Days in A/R reads on its own: 106.0 days = $5,050 of A/R over $4,290 billed in 90 days, $47.67 a day.
    days = rows["days_in_ar"]
    assert "106.0 days" in days
    assert "$5,050 in A/R (106 charges posted)" in days
    assert "$4,290 billed in 90 days = $47.67 a day" in days
    assert "< 40 days" in days
    assert "106 / $5,050" not in days
    # Rates are percents of claims, with the dollars they stand for.
    first_pass = rows["clean_claim_rate/first_pass"]
    assert "92.3%" in first_pass
    assert "120 claims clean on first pass ($18,000)" in first_pass
    assert "130 claims adjudicated ($19,500 billed)" in first_pass
    assert "6 claims denied ($900 denied)" in rows["initial_denial_rate"]
    assert "3 denials ($450 denied)" in rows["denied: coding"]
    assert "$606 in A/R on 8 charges" in rows["ar_over_days/90"]
    assert "$25,000 collected (210 payments)" in rows["net_collection_rate"]
    assert "$28,370 billed less contractual (240 charges)" in rows["net_collection_rate"]
    # A lag's numerator is days: 310 days over 240 charges.
    assert "1.0 days" in rows["charge_lag/median"]
    assert "310 days over 240 charges" in rows["charge_lag/median"]
    # One of a thing is singular.
    assert "1 claim denied ($150 denied)" in rows["initial_denial_rate/dollars"]
    assert "1 denial ($150 denied)" in rows["denied: telehealth"]


class FakeStack:
    """The answers a small organization's stack gives the billing office, and the requests the office sends."""

    def __init__(self, claim_ids: list[str], encounter_ids: list[str]) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        paid_on = TODAY - timedelta(days=60)
        self.claims = [
            {
                "claim_id": claim_id,
                "charge_id": encounter_id,
                "payer_priority": "primary",
                "adjudicated_date": paid_on.isoformat(),
            }
            for claim_id, encounter_id in zip(claim_ids, encounter_ids, strict=True)
        ]
        causes = ["coding", "medical_necessity", "duplicate", "unclassified", "medical_necessity", "coding"]
        self.denials = [
            {
                "denial_id": str(uuid.uuid5(uuid.NAMESPACE_URL, claim_id)),
                "claim_id": claim_id,
                "charge_id": encounter_id,
                "root_cause": causes[number % len(causes)],
                "denied_amount": "150.00",
                "payment_date": (TODAY - timedelta(days=10 + 20 * number)).isoformat(),
            }
            for number, (claim_id, encounter_id) in enumerate(zip(claim_ids[:6], encounter_ids[:6], strict=True))
        ]
        self.claim_number = {claim_id: number for number, claim_id in enumerate(claim_ids)}

    async def request(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        request = httpx.Request(method, f"http://{service}{path}")
        if method == "GET":
            if path == "/v1/claims":
                body: Any = {"items": self.claims, "next_cursor": None}
            elif path == "/v1/denials":
                body = self.denials
            elif path.endswith("/balance"):
                number = self.claim_number[path.split("/")[3]]
                body = {"patient_open": "20.00" if number % 5 else "0.00"}
            else:  # the correction queue: every requested correction is open
                body = [{"claim_id": d["claim_id"]} for d in self.denials]
            return httpx.Response(200, json=body, request=request)
        self.sent.append((service, path, kwargs.get("json")))
        return httpx.Response(201, json={}, request=request)

    def story(self) -> list[tuple[str, str, Any]]:
        """What was sent, with each claim and denial id replaced by its visit number (sorted)."""

        def named(text: str) -> str:
            for claim_id, number in self.claim_number.items():
                text = text.replace(claim_id, f"visit-{number}")
                text = text.replace(str(uuid.uuid5(uuid.NAMESPACE_URL, claim_id)), f"denial-{number}")
            return text

        return sorted((service, named(path), named(str(body))) for service, path, body in self.sent)


async def office(seed: int) -> tuple[FakeStack, Any]:
    """The office's work on a fresh stack whose ids are new each time."""
    encounter_ids = [str(uuid.uuid4()) for _ in range(40)]
    stack = FakeStack([f"CF{uuid.uuid4().hex[:16].upper()}" for _ in range(40)], encounter_ids)
    work = await work_the_accounts(stack, encounter_ids=encounter_ids, seed=seed, today=TODAY)  # type: ignore[arg-type]
    return stack, work


async def test_the_billing_office_does_the_same_for_a_seed_whatever_ids_the_stack_gave_the_visits():
    first, first_work = await office(7)
    again, again_work = await office(7)
    other, _ = await office(8)

    assert first.story() == again.story()
    assert first_work == again_work
    assert first.story() != other.story()
    # 32 of the 40 visits leave a $20 share; most are paid, each at most once, never after today.
    payments = [body for service, path, body in first.sent if path == "/v1/patient-payments"]
    assert first_work.patient_shares == 32
    assert 20 <= len(payments) == first_work.patient_payments <= 32
    assert first_work.patient_dollars == Decimal("20.00") * len(payments)
    assert len({p["claim_id"] for p in payments}) == len(payments)
    assert all(date.fromisoformat(p["posted_date"]) <= TODAY for p in payments)


async def test_the_billing_office_works_each_denial_by_its_root_cause():
    stack, work = await office(7)
    paths = [path for _, path, _ in stack.story()]
    # Visits 0 and 5 (coding): a correction asked for in remittance, then a corrected claim sent through submission.
    assert "/v1/denials/denial-0/correction" in paths
    assert "/v1/claims/visit-0/corrections" in paths
    assert "/v1/claims/visit-5/corrections" in paths
    # Visit 1 (medical necessity, paid 30 days ago): appealed; visit 4 (paid 90 days ago): appealed, then written off
    # after 30 days without an answer.
    assert "/v1/denials/denial-1/appeal" in paths
    assert "/v1/denials/denial-1/resolve" not in paths
    assert {"/v1/denials/denial-4/appeal", "/v1/denials/denial-4/resolve"} <= set(paths)
    # Visit 2 (duplicate): written off, never sent again; visit 3 (unclassified) waits for a person.
    assert "/v1/denials/denial-2/resolve" in paths
    assert "/v1/claims/visit-2/corrections" not in paths
    assert not any("denial-3" in path or "visit-3/corrections" in path for path in paths)
    assert (work.corrected, work.appealed, work.written_off, work.left_open) == (2, 2, 2, 1)
    resolved = [body for _, path, body in stack.sent if path.endswith("/resolve")]
    assert all(body["outcome"] == "written_off" and body["written_off_amount"] == "150.00" for body in resolved)
    assert all(date.fromisoformat(body["resolved_date"]) <= TODAY for body in resolved)
