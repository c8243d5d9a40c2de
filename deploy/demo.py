"""Streams a demo history through the running stack: 2 practices, 90 days of encounters, then the KPI table."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deploy.client import ClaimflowClient, Tenant, base_url, encounter_body, seed_payers, seed_practice, wait_until

console = Console()


async def stream_history(tenant: Tenant, *, days: int, encounters: int, seed: int, today: date) -> int:
    """Post encounters day by day with the business clock following the dates of service."""
    rng = random.Random(seed)
    start = today - timedelta(days=days - 1)
    schedule: dict[date, int] = {}
    for _ in range(encounters):
        day = start + timedelta(days=rng.randrange(days))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        day = max(day, start)
        schedule[day] = schedule.get(day, 0) + 1
    posted = 0
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("posting encounters", total=encounters)
        for offset in range(days):
            day = start + timedelta(days=offset)
            await tenant.set_business_date(day)
            for _ in range(schedule.get(day, 0)):
                practice = tenant.practices[posted % len(tenant.practices)]
                body = encounter_body(practice, rng, day, posted)
                response = await tenant.request(
                    "POST", "intake", "/v1/encounters", json=body, headers={"Idempotency-Key": f"demo-{posted}"}
                )
                if response.status_code not in (200, 202):
                    raise RuntimeError(f"intake refused a demo encounter: {response.status_code} {response.text}")
                posted += 1
                progress.advance(task)
        await tenant.set_business_date(today)
    return posted


async def wait_for_pipeline(tenant: Tenant) -> dict[str, Any]:
    """Wait until no claim is waiting to be sent and the KPIs stop changing (three polls in a row)."""
    history: list[Any] = []

    async def settled() -> dict[str, Any] | None:
        pending = 0
        for status in ("queued", "batched"):
            response = await tenant.request("GET", "submission", "/v1/claims", params={"status": status})
            pending += len(response.json()) if response.status_code == 200 else 1
        response = await tenant.request("GET", "analytics", "/v1/kpis")
        if response.status_code != 200 or pending:
            history.clear()
            return None
        history.append(response.json())
        return history[-1] if len(history) >= 3 and history[-1] == history[-2] == history[-3] else None

    with console.status("waiting for coding, submission, the clearinghouse and remittance to finish"):
        return await wait_until(settled, timeout=600, what="the demo pipeline to settle", interval=2.0)


def kpi_table(title: str, report: dict[str, Any]) -> Table:
    """The KPIs as a terminal table."""
    table = Table(title=title)
    for column in ("KPI", "value", "numerator", "denominator", "target"):
        table.add_column(column, no_wrap=True)
    targets = {
        "clean_claim_rate/first_pass": ">= 95%",
        "days_in_ar": "< 40",
        "initial_denial_rate": "< 5%",
        "ar_over_days/90": "< 15%",
        "net_collection_rate": "> 95%",
    }
    for kpi in report.get("kpis", []):
        name = kpi["name"] + (f"/{kpi['variant']}" if kpi.get("variant") else "")
        if not _headline(name, kpi):
            continue
        value = kpi.get("value")
        shown = (
            "-" if value is None else (f"{float(value):.1%}" if kpi.get("unit") == "ratio" else f"{float(value):.1f}")
        )
        numerator, denominator = kpi.get("numerator", {}), kpi.get("denominator", {})
        table.add_row(
            name.replace("denials_by_root_cause/", "denied: "),
            shown,
            _tally(numerator),
            _tally(denominator),
            targets.get(name, ""),
        )
    return table


def _tally(tally: dict[str, Any]) -> str:
    """A count with its dollars, whole dollars for the terminal."""
    amount = tally.get("amount")
    return f"{tally.get('count', '')} / ${float(amount or 0):,.0f}"


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
        console.print(f"{posted} encounters posted over {args.days} days")
        kpis = await wait_for_pipeline(tenant)
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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
