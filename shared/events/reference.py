"""Payloads of claimflow.reference.v1: master data intake owns and every service replicates."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from shared.events.envelope import Payload


class OrganizationRef(Payload):
    """An organization (tenant): a billing company or a practice billing for itself."""

    entity_type: Literal["organization"] = "organization"
    name: str


class ApiKeyRef(Payload):
    """An API key; only its id and hash travel, never the secret."""

    entity_type: Literal["api_key"] = "api_key"
    key_id: str
    key_hash: str = Field(description="sha256 hex of the secret part")
    scopes: list[str]
    practice_ids: list[uuid.UUID] = Field(default_factory=list, description="Empty means every practice")
    user_id: uuid.UUID | None = None
    revoked: bool = False


class Address(Payload):
    """A postal address as the 837P N3/N4 segments need it."""

    line1: str
    line2: str | None = None
    city: str
    state: str = Field(min_length=2, max_length=2)
    postal_code: str


class PracticeRef(Payload):
    """A practice: billing NPI, TIN, taxonomy and address."""

    entity_type: Literal["practice"] = "practice"
    name: str
    npi: str
    tin: str
    taxonomy: str
    address: Address


class Credentialing(Payload):
    """A provider's enrollment with one payer, effective-dated (an open end means still enrolled)."""

    payer_id: uuid.UUID
    effective_from: date
    effective_to: date | None = None


class ProviderRef(Payload):
    """A rendering clinician and the payers it is credentialed with."""

    entity_type: Literal["provider"] = "provider"
    practice_id: uuid.UUID
    first_name: str
    last_name: str
    npi: str
    taxonomy: str
    license_type: str = Field(description="MD, DO, NP, PA, PSYCHOLOGIST, LCSW, LPC, LMFT")
    credentialed_payer_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Payers enrolled with, without dates (kept for older producers)"
    )
    credentialing: list[Credentialing] = Field(default_factory=list, description="Dated payer enrollments")
    first_service_date: date | None = Field(
        default=None, description="Start with the practice; coding samples a new clinician's first days for review"
    )


class AuthorizationPolicy(Payload):
    """When the payer wants a prior authorization on file (DOMAIN.md section 4)."""

    mode: Literal["none", "all", "listed_codes", "after_visits"] = "none"
    codes: list[str] = Field(default_factory=list, description="Procedure codes needing auth (mode listed_codes)")
    unmanaged_visits: int | None = Field(
        default=None, ge=0, description="Visits allowed per benefit period before auth is needed (mode after_visits)"
    )


class VisitLimit(Payload):
    """A cap on sessions per benefit period for a set of codes (empty codes: every psychotherapy code)."""

    visits: int = Field(ge=0)
    period: Literal["calendar_year", "plan_year", "rolling_12_months"] = "calendar_year"
    codes: list[str] = Field(default_factory=list)


class TelehealthPolicy(Payload):
    """Place of service and modifiers the payer wants on telehealth lines (DOMAIN.md 3.8)."""

    accepted_pos: list[str] = Field(default_factory=lambda: ["02", "10"])
    video_modifier: str | None = Field(default="95", description="95, GT, or None when POS alone is enough")
    audio_only_covered: bool = True
    audio_only_modifier: str = Field(default="93", description="93, or FQ at FQHC/RHC")


# SBR09 Claim Filing Indicator Code (element 1032) of the 837P 005010X222A1: the code list of the X12 standard.
ClaimFilingIndicator = Literal[
    "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS",
    "FI", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ",
]  # fmt: skip


class PayerProfile(Payload):
    """The payer's rules the coder and the scrubber apply, in force from effective_from until the next profile."""

    effective_from: date
    payer_type: Literal["medicare", "medicaid", "commercial", "other"] = "commercial"
    claim_filing_indicator: ClaimFilingIndicator | None = Field(
        default=None,
        description="SBR09 of the 837P: MB Medicare Part B, MC Medicaid, BL Blue Cross Blue Shield, HM HMO, "
        "CI commercial insurance, ... (X12 code list); when absent, submission takes MB, MC or CI from payer_type",
    )
    timely_filing_days: int = Field(default=365, ge=1)
    payment_lag_business_days: int = Field(default=10, ge=0)
    no_response_follow_up_days: int = Field(default=30, ge=1)
    authorization: AuthorizationPolicy = Field(default_factory=AuthorizationPolicy)
    visit_limits: list[VisitLimit] = Field(default_factory=list)
    telehealth: TelehealthPolicy = Field(default_factory=TelehealthPolicy)
    credentialing_required: bool = True
    diagnostic_evaluation_repeat_days: int | None = Field(
        default=None, ge=0, description="Days without treatment before 90791/90792 may be billed again"
    )


class PayerRef(Payload):
    """A payer with its X12 id and effective-dated profiles."""

    entity_type: Literal["payer"] = "payer"
    name: str
    x12_payer_id: str
    carve_out_payer_id: uuid.UUID | None = Field(
        default=None, description="The behavioral-health payer this medical plan carves behavioral health out to"
    )
    behavioral_health_carve_out: bool = Field(
        default=False, description="This payer is itself a behavioral-health carve-out plan"
    )
    profiles: list[PayerProfile] = Field(default_factory=list)


class FeeScheduleEntryRef(Payload):
    """A practice's charge for one code (optionally per payer), effective-dated."""

    entity_type: Literal["fee_schedule_entry"] = "fee_schedule_entry"
    practice_id: uuid.UUID
    payer_id: uuid.UUID | None = None
    code: str
    modifier: str | None = None
    amount: Decimal
    effective_from: date
    effective_to: date | None = None


class UserRef(Payload):
    """A person of the organization, for work-queue assignment and audit."""

    entity_type: Literal["user"] = "user"
    name: str
    email: str
    role: Literal["admin", "biller", "senior_biller", "coder", "credentialing", "front_desk", "clinician", "viewer"]
    active: bool = True


ReferenceEntity = Annotated[
    OrganizationRef | ApiKeyRef | UserRef | PracticeRef | ProviderRef | PayerRef | FeeScheduleEntryRef,
    Field(discriminator="entity_type"),
]


class ReferenceUpserted(Payload):
    """Emitted by intake when a master-data entity is created or changed; the full current state."""

    entity_id: str
    entity: ReferenceEntity


class ReferenceDeleted(Payload):
    """Emitted by intake when a master-data entity is deleted (a tombstone follows on the compacted topic)."""

    entity_id: str
    entity_type: str
