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


class ProviderRef(Payload):
    """A rendering clinician and the payers it is credentialed with."""

    entity_type: Literal["provider"] = "provider"
    practice_id: uuid.UUID
    first_name: str
    last_name: str
    npi: str
    taxonomy: str
    license_type: str
    credentialed_payer_ids: list[uuid.UUID] = Field(default_factory=list)


class PayerProfile(Payload):
    """The payer's rules the coder and the scrubber apply (effective-dated; extended later)."""

    effective_from: date
    timely_filing_days: int = 365
    payment_lag_business_days: int = 10
    no_response_follow_up_days: int = 30
    telehealth_modifier: str | None = "95"
    requires_authorization: Literal["none", "all", "listed_codes", "after_visits"] = "none"


class PayerRef(Payload):
    """A payer with its X12 id and current profile."""

    entity_type: Literal["payer"] = "payer"
    name: str
    x12_payer_id: str
    carve_out_payer_id: uuid.UUID | None = None
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


ReferenceEntity = Annotated[
    OrganizationRef | ApiKeyRef | PracticeRef | ProviderRef | PayerRef | FeeScheduleEntryRef,
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
