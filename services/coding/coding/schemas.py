"""HTTP contract of the coding service."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.dates import CalendarDate

Modifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$", description="A two-character procedure modifier")]


class ChargeView(BaseModel):
    """A charge as billing staff see it, with the rules behind each line and the holds in its way."""

    charge_id: str
    encounter_id: uuid.UUID | None
    practice_id: uuid.UUID
    patient_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    status: str = Field(description="created, held, released, rejected or voided")
    date_of_service: CalendarDate
    charge_posted_date: CalendarDate
    program: str
    total_amount: Decimal
    lines: list[dict[str, Any]]
    hold_reasons: list[dict[str, Any]]
    notes: list[str] = Field(default_factory=list)
    revision: int = 1
    review_sampled: bool = False
    resolution: dict[str, Any] | None = None
    care_management_month: CalendarDate | None = None


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class OverrideLineIn(RequestModel):
    """A service line a coder sets on a held charge."""

    procedure_code: str = Field(pattern=r"^[0-9A-Z]{5}$", examples=["90834"])
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4, examples=[["95"]])
    units: int = Field(default=1, ge=1, le=99)
    place_of_service: str | None = Field(default=None, pattern=r"^\d{2}$", description="Defaults to the visit's POS")
    diagnosis_pointers: list[int] | None = Field(default=None, min_length=1, max_length=4)


class ResolveHoldIn(RequestModel):
    """A person's decision on a held charge."""

    action: Literal["release", "override", "reject"] = Field(
        description="release: bill the proposed lines; override: bill `lines` instead; reject: do not bill"
    )
    reason: str = Field(min_length=3, max_length=500, examples=["documentation supports 45 minutes"])
    lines: list[OverrideLineIn] | None = Field(default=None, min_length=1, max_length=12)


class MonthOutcomeView(BaseModel):
    """How one patient-month of care management was closed (or the minutes so far, while open)."""

    patient_id: uuid.UUID
    month: str
    status: str = Field(description="open, charged, held or no_charge")
    charge_id: str | None = None
    reason: str | None = None
    collaborative_minutes: int = 0
    bhi_minutes: int = 0
    closed_date: CalendarDate | None = None
