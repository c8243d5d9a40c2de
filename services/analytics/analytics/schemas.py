"""HTTP contract of the analytics service."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.dates import CalendarDate


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
    period_start: CalendarDate | None
    period_end: CalendarDate


class KpiReport(BaseModel):
    """The KPIs of an organization (or a slice of it) as of a business date."""

    organization_id: uuid.UUID
    as_of: CalendarDate
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
    business_date: CalendarDate
    practice_id: uuid.UUID | None
    charge_id: str | None
    facts: dict[str, Any]


class ClaimTimeline(BaseModel):
    """The events seen for a claim, in business-date order."""

    claim_id: str
    events: list[TimelineEntry]


class ClaimSearchItem(BaseModel):
    """One claim as billing staff find it: ids, date of service, billed amount and current status."""

    claim_id: str
    charge_id: str
    practice_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    program: str
    payer_priority: str
    date_of_service: CalendarDate
    billed: Decimal
    status: str
    status_date: CalendarDate
    first_submitted_date: CalendarDate | None


class ClaimSearchPage(BaseModel):
    """A page of claims; pass next_cursor back as cursor for the next page (null on the last one)."""

    items: list[ClaimSearchItem]
    next_cursor: str | None


class DashboardLinkRequest(BaseModel):
    """What a signed dashboard link shows: optionally one practice and a fixed business date."""

    model_config = ConfigDict(extra="forbid")

    practice_id: uuid.UUID | None = None
    as_of: CalendarDate | None = None
    lifetime_minutes: int | None = Field(
        default=None,
        ge=1,
        le=527_040,
        description="How long the link lives (default 15 minutes); at most the configured maximum (default 7 days)",
    )


class DashboardLink(BaseModel):
    """A dashboard URL carrying a signed token, valid until expires_at."""

    url: str
    token: str
    expires_at: datetime
