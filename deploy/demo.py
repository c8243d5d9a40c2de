"""Streams a demo history through the running stack: 2 practices, 90 days of encounters, the billing office's work on
what came back (patient payments, denials worked by root cause), then the KPI table."""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deploy.client import ClaimflowClient, Tenant, base_url, encounter_body, seed_payers, seed_practice, wait_until

console = Console()


async def stream_history(tenant: Tenant, *, days: int, encounters: int, seed: int, today: date) -> list[str]:
    """Post encounters day by day with the business clock following the dates of service; the encounter ids in the
    order posted (the n-th is the demo's visit number n, whatever ids the stack gave them)."""
    rng = random.Random(seed)
    start = today - timedelta(days=days - 1)
    schedule: dict[date, int] = {}
    for _ in range(encounters):
        day = start + timedelta(days=rng.randrange(days))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        day = max(day, start)
        schedule[day] = schedule.get(day, 0) + 1
    posted: list[str] = []
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("posting encounters", total=encounters)
        for offset in range(days):
            day = start + timedelta(days=offset)
            await tenant.set_business_date(day)
            for _ in range(schedule.get(day, 0)):
                number = len(posted)
                practice = tenant.practices[number % len(tenant.practices)]
                body = encounter_body(practice, rng, day, number)
                response = await tenant.request(
                    "POST", "intake", "/v1/encounters", json=body, headers={"Idempotency-Key": f"demo-{number}"}
                )
                if response.status_code not in (200, 202):
                    raise RuntimeError(f"intake refused a demo encounter: {response.status_code} {response.text}")
                posted.append(str(response.json()["encounter_id"]))
                progress.advance(task)
        await tenant.set_business_date(today)
    return posted


# The billing office's share of patients who pay their part, and how a denial is worked by its root cause
# (DOMAIN.md 5.3): corrected and sent again, appealed, or written off; other causes wait in the queue.
PATIENTS_WHO_PAY = 0.85
CORRECT = frozenset({"coding", "telehealth", "authorization_missing"})
APPEAL = frozenset({"medical_necessity", "authorization_denied"})
WRITE_OFF = frozenset({"duplicate", "timely_filing"})
# A denial paid this many days before today or fewer is still waiting for someone to look at it.
FRESH_DENIAL_DAYS = 3
# An appeal the payer has not answered after this many days is taken as upheld and the denial written off.
APPEAL_ANSWER_DAYS = 30


@dataclass
class OfficeWork:
    """What the billing office did with the history."""

    patient_payments: int = 0
    patient_dollars: Decimal = Decimal("0")
    patient_shares: int = 0
    corrected: int = 0
    appealed: int = 0
    written_off: int = 0
    left_open: int = 0


async def work_the_accounts(tenant: Tenant, *, encounter_ids: list[str], seed: int, today: date) -> OfficeWork:
    """Do what a practice's billing office does once the payers have answered: collect the patients' shares (copays
    at the next visit, the rest from statements) and work the denial queue by root cause. Every choice comes from the
    seed and the visit's number, so a seed gives the same office whatever ids the stack gave the visits."""
    number_of = {encounter_id: number for number, encounter_id in enumerate(encounter_ids)}
    work = OfficeWork()
    gate = asyncio.Semaphore(8)  # a few requests at a time, as a small office's software would

    async def collect(claim: dict[str, Any]) -> None:
        async with gate:
            balance = await _expect(tenant.request("GET", "remittance", f"/v1/claims/{claim['claim_id']}/balance"))
            owed = Decimal(str(balance["patient_open"]))
            if owed <= 0:
                return
            work.patient_shares += 1
            choice = random.Random(f"{seed}:{number_of.get(claim['charge_id'], claim['claim_id'])}:patient")
            if choice.random() >= PATIENTS_WHO_PAY:
                return
            copay = choice.random() < 0.6
            paid_on = date.fromisoformat(claim["adjudicated_date"]) + timedelta(
                days=choice.randint(0, 3) if copay else choice.randint(10, 30)
            )
            if paid_on > today:
                return  # the statement is out; the patient has not paid yet
            await _expect(
                tenant.request(
                    "POST",
                    "remittance",
                    "/v1/patient-payments",
                    json={
                        "claim_id": claim["claim_id"],
                        "amount": str(owed),
                        "method": "copay" if copay else "statement",
                        "posted_date": paid_on.isoformat(),
                    },
                    headers={"Idempotency-Key": f"demo-patient-{claim['claim_id']}"},
                )
            )
            work.patient_payments += 1
            work.patient_dollars += owed

    async def work_denial(denial: dict[str, Any]) -> None:
        async with gate:
            paid_on = date.fromisoformat(denial["payment_date"])
            cause, denial_id = denial["root_cause"], denial["denial_id"]
            choice = random.Random(f"{seed}:{number_of.get(denial.get('charge_id') or '', denial['claim_id'])}:denial")
            worked_on = min(paid_on + timedelta(days=choice.randint(1, FRESH_DENIAL_DAYS + 4)), today)
            if (today - paid_on).days <= FRESH_DENIAL_DAYS or cause not in CORRECT | APPEAL | WRITE_OFF:
                work.left_open += 1
                return
            path = f"/v1/denials/{denial_id}"
            if cause in CORRECT:
                note = f"corrected after the {cause.replace('_', ' ')} denial"
                await _expect(
                    tenant.request(
                        "POST",
                        "remittance",
                        f"{path}/correction",
                        json={"requested_date": worked_on.isoformat(), "note": note},
                    )
                )
                to_correct[denial["claim_id"]] = note
                return
            if cause in APPEAL:
                await _expect(
                    tenant.request(
                        "POST",
                        "remittance",
                        f"{path}/appeal",
                        json={"appealed_date": worked_on.isoformat(), "note": "records sent with the appeal"},
                    )
                )
                work.appealed += 1
                if (today - worked_on).days < APPEAL_ANSWER_DAYS:
                    return
                worked_on += timedelta(days=APPEAL_ANSWER_DAYS)
            await _expect(
                tenant.request(
                    "POST",
                    "remittance",
                    f"{path}/resolve",
                    json={
                        "outcome": "written_off",
                        "written_off_amount": str(denial["denied_amount"]),
                        "resolved_date": worked_on.isoformat(),
                        "note": "appeal upheld"
                        if cause in APPEAL
                        else f"{cause.replace('_', ' ')}: not billable again",
                    },
                )
            )
            work.written_off += 1

    async def send_corrected(claim_id: str, note: str) -> None:
        async with gate:
            await _expect(
                tenant.request(
                    "POST",
                    "submission",
                    f"/v1/claims/{claim_id}/corrections",
                    json={"note": note},
                    headers={"Idempotency-Key": f"demo-correction-{claim_id}"},
                )
            )
            work.corrected += 1

    async def corrections_queued() -> bool:
        queued = await _every(tenant, "submission", "/v1/work-queues/correction", {"status": "open"})
        return set(to_correct) <= {item["claim_id"] for item in queued}

    to_correct: dict[str, str] = {}
    denials, claims = await asyncio.gather(
        _every(tenant, "remittance", "/v1/denials", {"status": "open"}),
        _every(tenant, "submission", "/v1/claims", {"status": "adjudicated"}),
    )
    await asyncio.gather(
        *(work_denial(denial) for denial in denials),
        *(collect(claim) for claim in claims if claim["payer_priority"] == "primary"),
    )
    # Submission opens a correction for each request (from the event); the corrected claim resolves it.
    await wait_until(corrections_queued, timeout=60, what="submission to queue the requested corrections")
    await asyncio.gather(*(send_corrected(claim_id, note) for claim_id, note in sorted(to_correct.items())))
    return work


async def _expect(request: Any) -> Any:
    """The JSON of a successful answer; a refusal stops the demo with the service's reason."""
    response = await request
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()


async def _every(tenant: Tenant, service: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a listing, page after page (a bare list is one page)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await _expect(
            tenant.request(
                "GET", service, path, params={**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
            )
        )
        if isinstance(page, list):
            return items + page
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def wait_for_pipeline(tenant: Tenant, *, interval: float = 2.0) -> dict[str, Any]:
    """Wait until no claim is waiting to be sent and the KPIs stop changing (three polls `interval` seconds apart;
    after the billing office's work, whose events flow without waiting for a clearinghouse, a second is enough)."""
    history: list[Any] = []

    async def settled() -> dict[str, Any] | None:
        pending = 0
        for status in ("queued", "batched"):
            response = await tenant.request("GET", "submission", "/v1/claims", params={"status": status})
            pending += len(response.json()["items"]) if response.status_code == 200 else 1
        response = await tenant.request("GET", "analytics", "/v1/kpis")
        if response.status_code != 200 or pending:
            history.clear()
            return None
        history.append(response.json())
        return history[-1] if len(history) >= 3 and history[-1] == history[-2] == history[-3] else None

    with console.status("waiting for coding, submission, the clearinghouse and remittance to finish"):
        return await wait_until(settled, timeout=600, what="the demo pipeline to settle", interval=interval)


# How each KPI's numerator and denominator read (DOMAIN.md 6): {n} is the count, {usd} the dollars, {days} the
# numerator's lag days; keyed by name, or by name/variant where the variant says what was counted.
TERMS: dict[str, tuple[str, str]] = {
    "clean_claim_rate/first_pass": ("{n} claims clean on first pass ({usd})", "{n} claims adjudicated ({usd} billed)"),
    "clean_claim_rate/scrubber": ("{n} claims passed the scrubber ({usd})", "{n} claims scrubbed ({usd} billed)"),
    "clean_claim_rate/acceptance": ("{n} claims accepted ({usd})", "{n} claims answered ({usd} billed)"),
    "initial_denial_rate": ("{n} claims denied ({usd} denied)", "{n} claims adjudicated ({usd} billed)"),
    "denials_by_root_cause": ("{n} denials ({usd} denied)", "{n} denials in all ({usd} denied)"),
    "days_in_ar": ("{usd} in A/R ({n} charges posted)", "{usd} billed in 90 days = {per_day} a day"),
    "ar_over_days": ("{usd} in A/R on {n} charges", "{usd} in A/R on {n} charges in all"),
    "net_collection_rate": ("{usd} collected ({n} payments)", "{usd} billed less contractual ({n} charges)"),
    "lag": ("{days} days over {n} charges", "{n} charges ({usd} billed)"),
    "authorization_continuity": ("{n} visits authorized ({usd})", "{n} visits needing one ({usd} billed)"),
}
TARGETS = {
    "clean_claim_rate/first_pass": ">= 95%",
    "days_in_ar": "< 40 days",
    "initial_denial_rate": "< 5%",
    "ar_over_days/90": "< 15%",
    "net_collection_rate": ">= 95%",
    "charge_lag/median": "< 2 days",
}


def kpi_table(title: str, report: dict[str, Any]) -> Table:
    """The KPIs as a terminal table: each row's value, numerator and denominator with their units."""
    table = Table(title=title)
    for column in ("KPI", "value", "numerator", "denominator", "target"):
        table.add_column(column, no_wrap=column not in ("numerator", "denominator"))
    for kpi in report.get("kpis", []):
        name = kpi["name"] + (f"/{kpi['variant']}" if kpi.get("variant") else "")
        if not _headline(name, kpi):
            continue
        numerator, denominator = _terms(kpi)
        table.add_row(
            name.replace("denials_by_root_cause/", "denied: "),
            _value(kpi),
            numerator,
            denominator,
            TARGETS.get(name, ""),
        )
    return table


def _value(kpi: dict[str, Any]) -> str:
    """A KPI's value in its unit: percent for ratios, days for days."""
    value = kpi.get("value")
    if value is None:
        return "-"
    return f"{float(value):.1%}" if kpi.get("unit") == "ratio" else f"{float(value):.1f} days"


def _terms(kpi: dict[str, Any]) -> tuple[str, str]:
    """A KPI's numerator and denominator in words, with their units."""
    name, variant = kpi["name"], kpi.get("variant")
    key = f"{name}/{variant}" if f"{name}/{variant}" in TERMS else "lag" if name.endswith("_lag") else name
    wording = TERMS.get(key, ("{n} ({usd})", "{n} ({usd})"))
    numerator, denominator = kpi.get("numerator", {}), kpi.get("denominator", {})
    gross = float(denominator.get("amount") or 0)
    numbers = {
        "per_day": _dollars(gross / 90),
        "days": f"{float(numerator.get('amount') or 0):,.0f}",
    }
    return (
        _singular(wording[0].format(n=numerator.get("count", 0), usd=_dollars(numerator.get("amount")), **numbers)),
        _singular(wording[1].format(n=denominator.get("count", 0), usd=_dollars(denominator.get("amount")), **numbers)),
    )


def _singular(text: str) -> str:
    """'1 claims' as '1 claim' (and so for every noun the table counts)."""
    return re.sub(r"(?<![\d,.])1 (claim|denial|charge|payment|visit|day)s\b", r"1 \1", text)


def _dollars(amount: Any) -> str:
    """Dollars for the terminal: whole dollars, cents under $100."""
    value = float(amount or 0)
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


def _headline(name: str, kpi: dict[str, Any]) -> bool:
    """Whether a KPI belongs in the terminal summary: no per-bucket aging, no root cause without a denial."""
    if name.startswith("ar_aging/"):
        return False
    if name.startswith("denials_by_root_cause/"):
        return bool(kpi.get("numerator", {}).get("count"))
    return not name.endswith("/p90")


async def run(args: argparse.Namespace) -> int:
    """The demo."""
    client = ClaimflowClient()
    try:
        today = datetime.now(UTC).date()
        tenant = await client.create_tenant(f"Demo Behavioral Billing {datetime.now(UTC):%Y-%m-%d %H:%M:%S}")
        console.print(f"organization [bold]{tenant.organization_id}[/] created")
        await tenant.set_business_date(today - timedelta(days=args.days - 1))
        payer_ids = await seed_payers(tenant)
        for index, name in enumerate(("Lakeside Counseling", "Riverbend Psychiatry")):
            await seed_practice(
                tenant,
                name=name,
                seed=args.seed * 10 + index,
                payer_ids=payer_ids,
                coverage_start=today - timedelta(days=400),
            )
        posted = await stream_history(tenant, days=args.days, encounters=args.encounters, seed=args.seed, today=today)
        console.print(f"{len(posted)} encounters posted over {args.days} days")
        await wait_for_pipeline(tenant)
        with console.status("the billing office posts patient payments and works the denials"):
            work = await work_the_accounts(tenant, encounter_ids=posted, seed=args.seed, today=today)
        console.print(
            f"patients paid {work.patient_payments} of {work.patient_shares} shares (${work.patient_dollars:,.2f}); "
            f"denials: {work.corrected} corrected and sent again, {work.appealed} appealed, "
            f"{work.written_off} written off, {work.left_open} still open"
        )
        kpis = await wait_for_pipeline(tenant, interval=1.0)
        console.print(kpi_table(f"KPIs as of {kpis.get('as_of', today)} (all practices)", kpis))
        for practice in tenant.practices:
            response = await tenant.request(
                "GET", "analytics", "/v1/kpis", params={"practice_id": practice["practice_id"]}
            )
            if response.status_code == 200:
                console.print(kpi_table(practice["name"], response.json()))
        console.print("\n[bold]Services[/] (stop everything with `make down`):")
        for service in ("intake", "coding", "submission", "remittance", "analytics", "sandbox"):
            console.print(f"  {service:<11} {base_url(client.env, service)}/docs")
        console.print(f"\norganization id {tenant.organization_id}; admin API key {tenant.api_key}")
        return 0
    finally:
        await client.close()


def main() -> int:
    """Entry point of `python -m deploy.demo`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encounters", type=int, default=240)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        return asyncio.run(run(args))
    except (TimeoutError, RuntimeError) as error:
        console.print(f"[red]demo stopped:[/] {error}")
        return 1
    except httpx.TransportError as error:
        console.print(f"[red]demo stopped:[/] a service did not answer ({error}); check `make status`")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
