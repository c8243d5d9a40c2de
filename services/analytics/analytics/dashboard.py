"""The billing managers' dashboard page: KPI tiles with targets and inline-SVG trend charts. Pure: no I/O here."""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from analytics.domain import KpiValue, Scope
from analytics.ledger import Ledger
from analytics.report import HEADLINES, TARGETS, Target

TREND_POINTS = 12
TREND_STEP_DAYS = 7
STATUS_COLOURS = {"good": "#1b7f3b", "warning": "#b26a00", "alert": "#b3261e", "unknown": "#6b6b6b"}


@dataclass(frozen=True)
class Tile:
    """One headline KPI: its value as of D, its target and its weekly trend."""

    key: str
    target: Target
    kpi: KpiValue
    trend: list[tuple[date, Decimal | None]]


def tiles(ledger: Ledger, *, as_of: date, window_days: int, scope: Scope) -> list[Tile]:
    """The headline KPIs with targets, each with a weekly trend ending at D (same ledger, earlier dates)."""
    days = [as_of - timedelta(days=TREND_STEP_DAYS * n) for n in range(TREND_POINTS - 1, -1, -1)]
    result = []
    for (name, variant), target in TARGETS.items():
        compute = HEADLINES[(name, variant)]
        points = [compute(ledger, day, window_days, scope) for day in days]
        key = f"{name}/{variant}" if variant else name
        result.append(
            Tile(key, target, points[-1], [(day, point.value) for day, point in zip(days, points, strict=True)])
        )
    return result


def format_value(value: Decimal | None, unit: str) -> str:
    """A KPI value as a manager reads it: ratios as percentages with one decimal, days with one decimal."""
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    return f"{value:.1f} days"


def _sparkline(trend: list[tuple[date, Decimal | None]], colour: str) -> str:
    """An inline SVG line of the trend (gaps where the cohort was empty)."""
    width, height, pad = 240, 60, 4
    known = [v for _, v in trend if v is not None]
    if not known:
        return f'<svg width="{width}" height="{height}" role="img" aria-label="no data"></svg>'
    low, high = min(known), max(known)
    span = (high - low) or Decimal(1)
    step = (width - 2 * pad) / max(len(trend) - 1, 1)
    points = []
    for index, (_, value) in enumerate(trend):
        if value is None:
            continue
        x = pad + index * step
        y = pad + float((high - value) / span) * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
    circles = "".join(f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2"/>' for p in points)
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="trend">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
        f'<g fill="{colour}">{circles}</g></svg>'
    )


def _target_text(target: Target, unit: str) -> str:
    comparison = "≥" if target.higher_is_better else "<"
    text = f"target {comparison} {format_value(target.goal, unit)}"
    if target.alert is not None:
        text += f", alert {'<' if target.higher_is_better else '>'} {format_value(target.alert, unit)}"
    return text


def render_page(
    *,
    organization_id: uuid.UUID,
    practices: list[tuple[uuid.UUID, str]],
    practice_id: uuid.UUID | None,
    as_of: date,
    window_days: int,
    tiles: list[Tile],
    token: str | None,
) -> str:
    """The whole HTML page (no scripts, no external assets)."""
    cards = []
    for tile in tiles:
        status = tile.target.status(tile.kpi.value)
        colour = STATUS_COLOURS[status]
        value = "" if tile.kpi.value is None else str(tile.kpi.value)
        cards.append(
            f'<section class="tile {status}" data-kpi="{html.escape(tile.key)}" data-value="{value}">'
            f"<h2>{html.escape(tile.target.label)}</h2>"
            f'<p class="value" style="color:{colour}">{format_value(tile.kpi.value, tile.kpi.unit)}</p>'
            f'<p class="target">{html.escape(_target_text(tile.target, tile.kpi.unit))}</p>'
            f'<p class="counts">{tile.kpi.numerator.count} / {tile.kpi.denominator.count} · '
            f"${tile.kpi.numerator.amount:,.2f} / ${tile.kpi.denominator.amount:,.2f}</p>"
            f"{_sparkline(tile.trend, colour)}"
            f'<p class="trend-range">{tile.trend[0][0].isoformat()} → {tile.trend[-1][0].isoformat()}, weekly</p>'
            "</section>"
        )
    links = []
    for option_id, option_name in [(None, "All practices"), *practices]:
        query: dict[str, str] = {"as_of": as_of.isoformat(), "window_days": str(window_days)}
        if token:
            query["token"] = token
        if option_id is not None:
            query["practice_id"] = str(option_id)
        current = ' aria-current="page"' if option_id == practice_id else ""
        links.append(f'<a href="?{html.escape(urlencode(query))}"{current}>{html.escape(option_name)}</a>')
    selected = dict(practices).get(practice_id, "All practices") if practice_id else "All practices"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Claimflow revenue cycle: {html.escape(selected)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; background: #f6f7f9; color: #1d1d1f; }}
header p {{ color: #555; margin: 4px 0; }}
nav a {{ margin-right: 12px; color: #0b57d0; }} nav a[aria-current] {{ font-weight: bold; color: #1d1d1f; }}
main {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 16px; margin-top: 16px; }}
.tile {{ background: #fff; border-radius: 8px; padding: 12px 16px; border-top: 6px solid #6b6b6b; }}
.tile.good {{ border-color: #1b7f3b; }} .tile.warning {{ border-color: #b26a00; }}
.tile.alert {{ border-color: #b3261e; }}
.tile h2 {{ font-size: 15px; margin: 0; }} .value {{ font-size: 30px; margin: 6px 0; font-weight: 600; }}
.target, .counts, .trend-range {{ font-size: 12px; color: #555; margin: 2px 0; }}
</style></head>
<body><header><h1>Revenue cycle: {html.escape(selected)}</h1>
<p>Organization {organization_id} · as of {as_of.isoformat()} · {window_days}-day window</p>
<nav>{"".join(links)}</nav></header>
<main>{"".join(cards)}</main></body></html>
"""
