"""HTTP contract of the analytics service."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class Tally(BaseModel):
    """A count of claims or charges and their dollars."""

    count: int
    amount: Decimal


class KpiView(BaseModel):
    """One KPI as of D with its definition, numerator and denominator."""

    name: str
    variant: str | None = None
    value: Decimal | None = Field(description="Ratio (0..1) or days; null when the cohort is empty")
    unit: str
    definition: str
    numerator: Tally
    denominator: Tally
    period_start: date | None
    period_end: date


class KpiReport(BaseModel):
    """The KPIs of an organization (or a slice of it) as of a business date."""

    organization_id: uuid.UUID
    as_of: date
    window_days: int
    practice_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    program: str | None = None
    kpis: list[KpiView]


class TimelineEntry(BaseModel):
    """One event seen for a claim, dated by the business date its fact is about."""

    event_id: str
    event_type: str
    business_date: date
    practice_id: uuid.UUID | None
    charge_id: str | None
    facts: dict[str, Any]


class ClaimTimeline(BaseModel):
    """The events seen for a claim, in business-date order."""

    claim_id: str
    events: list[TimelineEntry]
