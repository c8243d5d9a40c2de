"""Payloads of claimflow.charge.v1: coded encounters (or care-management months) ready to bill."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import Field

from shared.dates import CalendarDate
from shared.events.encounter import (
    AuthorizationSnapshot,
    CoverageSnapshot,
    PatientSnapshot,
    PracticeSnapshot,
    ProviderSnapshot,
)
from shared.events.envelope import Payload


class ChargeLine(Payload):
    """One service line with the rules that produced it."""

    line_number: int = Field(ge=1)
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: int = Field(ge=1)
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=4)
    place_of_service: str = Field(min_length=2, max_length=2)
    amount: Decimal
    rule_ids: list[str] = Field(default_factory=list)
    explanation: str = ""
    program: str | None = Field(default=None, description="Service line of the line (same as the charge's)")


class HoldReason(Payload):
    """Why a charge (or claim) cannot go out without a person's review."""

    rule_id: str
    reason: str


class ChargeOverride(Payload):
    """A person's decision on a held charge: codes confirmed or replaced, with the reason."""

    action: str = Field(description="release (coded lines confirmed) or override (lines replaced)")
    reason: str
    resolved_by: str | None = Field(default=None, description="API key id or user id of the reviewer")
    resolved_date: CalendarDate
    original_codes: list[str] = Field(default_factory=list, description="Codes the engine proposed")


class ChargeFacts(Payload):
    """Billing facts shared by charge events."""

    charge_id: str = Field(description="The encounter id, or patient + month for a care-management charge")
    encounter_id: uuid.UUID | None = None
    date_of_service: CalendarDate
    charge_posted_date: CalendarDate
    program: str = Field(description="Service line: outpatient_therapy, psychiatry, crisis, ...")
    practice: PracticeSnapshot
    provider: ProviderSnapshot
    patient: PatientSnapshot
    coverage: CoverageSnapshot | None = None
    authorization: AuthorizationSnapshot | None = None
    diagnoses: list[str] = Field(min_length=1, max_length=12)
    lines: list[ChargeLine] = Field(default_factory=list)
    total_amount: Decimal = Decimal("0")
    manually_touched: bool = False
    review_sampled: bool = Field(default=False, description="Held for prospective review of a new clinician")
    hold_reasons: list[HoldReason] = Field(default_factory=list, description="Holds resolved before release")
    override: ChargeOverride | None = None
    notes: list[str] = Field(default_factory=list, description="Coding notes: add-ons not billed and why")
    revision: int = Field(default=1, ge=1, description="Re-coded charges of an amended encounter count up")
    care_management_month: str | None = Field(default=None, description="yyyy-mm of a care-management charge")


class ChargeCreated(ChargeFacts):
    """Emitted by coding when an encounter is coded into billable lines."""


class ChargeHeld(Payload):
    """Emitted by coding when an encounter cannot be coded safely and waits for review."""

    charge_id: str
    encounter_id: uuid.UUID | None = None
    date_of_service: CalendarDate
    reasons: list[HoldReason]
    program: str | None = None
    lines: list[ChargeLine] = Field(default_factory=list, description="Lines the engine proposes, if any")
    review_sampled: bool = False
    revision: int = Field(default=1, ge=1)


class ChargeReleased(ChargeFacts):
    """Emitted by coding when a held charge is resolved by a person (codes overridden or confirmed)."""

    reviewer_note: str | None = None
    resolution: str | None = Field(default=None, description="confirmed (as coded) or overridden (codes replaced)")


class ChargeVoided(Payload):
    """Emitted by coding when a charge is withdrawn (encounter cancelled or re-coded differently)."""

    charge_id: str
    reason: str
    encounter_id: uuid.UUID | None = None
    replaced_by: str | None = Field(default=None, description="Charge id of the re-coded charge, if any")
