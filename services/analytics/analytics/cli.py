"""Analytics commands for billing managers and operators.

    python -m analytics.cli kpis --organization <id> [--as-of 2026-10-31] [--practice <id>] [--window-days 30]
    python -m analytics.cli rebuild [--no-swap]

`kpis` prints the headline KPIs per practice (and for the whole organization) as a table; `rebuild` replays the
lifecycle topics from the beginning into the analytics_rebuild schema and swaps it live.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from analytics import repository, service
from analytics.config import AnalyticsSettings
from analytics.dashboard import format_value
from analytics.domain import DEFAULT_WINDOW_DAYS, KpiValue, Scope
from analytics.models import infra
from analytics.rebuild import rebuild as rebuild_read_model
from analytics.report import all_kpis
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.problems import Problem
from shared.replica import refuse_unknown_references
from shared.settings import load_settings

app = typer.Typer(help="Claimflow analytics: KPI tables and read-model replay.", no_args_is_help=True)
console = Console()

# Columns of the terminal table (short headers so it fits a terminal): KPI name, variant, header.
COLUMNS: tuple[tuple[str, str | None, str], ...] = (
    ("clean_claim_rate", "first_pass", "Clean 1st pass"),
    ("clean_claim_rate", "scrubber", "Clean scrub"),
    ("clean_claim_rate", "acceptance", "Accepted"),
    ("initial_denial_rate", None, "Denials"),
    ("days_in_ar", None, "Days A/R"),
    ("ar_over_days", "90", "A/R >90"),
    ("net_collection_rate", None, "Net coll."),
    ("charge_lag", "median", "Chg lag"),
    ("authorization_continuity", None, "Auth cont."),
)


def _cell(values: list[KpiValue], name: str, variant: str | None) -> str:
    """One KPI as a table cell with its counts."""
    value = next(v for v in values if v.name == name and v.variant == variant)
    shown = format_value(value.value, value.unit).replace(" days", "")
    return f"{shown}\n{value.numerator.count}/{value.denominator.count}"


class UnknownPractice(Exception):
    """The practice asked for is not one of the organization's."""


async def _kpi_rows(
    organization_id: uuid.UUID, as_of: date | None, practice: uuid.UUID | None, window_days: int
) -> tuple[date, list[tuple[str, list[KpiValue]]]] | None:
    """(D, [(practice label, KPIs)]): the whole organization first, then each practice."""
    engine = create_engine(load_settings(AnalyticsSettings), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine), organization_id) as session:
            try:
                await refuse_unknown_references(session, infra, frozenset(), practice=("practice", practice))
            except Problem as refused:
                raise UnknownPractice(refused.errors[0]["reason"]) from None
            day = as_of or await repository.latest_business_date(session, organization_id)
            if day is None:
                return None
            ledger = await service.ledger_as_of(session, day)
            names = dict(await repository.practice_names(session))
    finally:
        await engine.dispose()
    practices = {c.practice_id for c in ledger.charges if c.practice_id} | set(names)
    chosen = [practice] if practice else sorted(practices, key=lambda p: names.get(p, str(p)))
    rows = [] if practice else [("All practices", all_kpis(ledger, as_of=day, window_days=window_days))]
    for practice_id in chosen:
        scope = Scope(practice_id=practice_id)
        rows.append(
            (
                names.get(practice_id, str(practice_id)),
                all_kpis(ledger, as_of=day, window_days=window_days, scope=scope),
            )
        )
    return day, rows


@app.command()
def kpis(
    organization: Annotated[uuid.UUID, typer.Option(help="Organization id")],
    as_of: Annotated[str | None, typer.Option(help="Business date D (YYYY-MM-DD); default: the latest")] = None,
    practice: Annotated[uuid.UUID | None, typer.Option(help="Only this practice")] = None,
    window_days: Annotated[int, typer.Option(min=1, max=366, help="KPI window in days")] = DEFAULT_WINDOW_DAYS,
) -> None:
    """Print the KPI table of an organization, one row per practice."""
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        console.print(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(code=2) from None
    try:
        computed = asyncio.run(_kpi_rows(organization, day, practice, window_days))
    except OSError as error:
        console.print(f"the analytics database is unreachable ({error}); start the stack with `make up`")
        raise typer.Exit(code=1) from None
    except UnknownPractice as error:
        console.print(f"--practice: {error}")
        raise typer.Exit(code=2) from None
    if computed is None:
        console.print("no business events for this organization yet; pass --as-of")
        raise typer.Exit(code=1)
    shown_day, rows = computed
    table = Table(
        title=f"KPIs as of {shown_day.isoformat()} ({window_days}-day window; lags and A/R in days)",
        caption="each cell: value, then numerator/denominator counts",
    )
    table.add_column("Practice")
    for _, _, label in COLUMNS:
        table.add_column(label, justify="right")
    for label, values in rows:
        table.add_row(label, *(_cell(values, name, variant) for name, variant, _ in COLUMNS))
    console.print(table)


@app.command()
def rebuild(
    swap: Annotated[bool, typer.Option(help="Make the rebuilt read model live when done")] = True,
) -> None:
    """Replay the lifecycle topics from the beginning into analytics_rebuild and (by default) swap it live."""
    try:
        result = asyncio.run(rebuild_read_model(load_settings(AnalyticsSettings), swap=swap, progress=console.print))
    except (OSError, KafkaError) as error:
        console.print(f"rebuild stopped, nothing was swapped: {error}; check that `make up` has the stack running")
        raise typer.Exit(code=1) from None
    skipped = sum(result.skipped.values())
    console.print(
        f"{result.events_read} events read, {result.facts_stored} facts, {result.claims_indexed} claims indexed, "
        f"{skipped} skipped, {len(result.organizations)} organizations; "
        + ("swapped live" if result.swapped else "left in analytics_rebuild (not swapped)")
    )


if __name__ == "__main__":
    app()
