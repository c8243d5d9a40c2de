"""HTTP contract of intake: request models forbid unknown fields; responses are separate models."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.encounter import (
    Relationship,
)
from shared.events.reference import Address, PayerProfile


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are an error, so clients cannot set server-owned fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizationIn(RequestModel):
    """A new organization (platform operator only)."""

    name: str = Field(min_length=1, max_length=200, examples=["Lakeside Behavioral Billing"])


class ApiKeyIn(RequestModel):
    """A new API key for the caller's organization."""

    scopes: list[Literal["encounters:write", "read", "admin"]] = Field(min_length=1, examples=[["encounters:write"]])
    practice_ids: list[uuid.UUID] = Field(default_factory=list)
    label: str | None = Field(default=None, max_length=200)


class ApiKeyCreated(BaseModel):
    """The key's secret is shown once, here."""

    key_id: str
    api_key: str
    scopes: list[str]
    organization_id: uuid.UUID


class OrganizationCreated(BaseModel):
    """A new organization with its first admin key."""

    organization_id: uuid.UUID
    name: str
    admin_key: ApiKeyCreated


class PracticeIn(RequestModel):
    """A practice (billing provider)."""

    name: str = Field(min_length=1, max_length=120, examples=["Lakeside Counseling"])
    npi: str = Field(pattern=r"^\d{10}$", examples=["1234567893"])
    tin: str = Field(pattern=r"^\d{9}$", examples=["123456789"])
    taxonomy: str = Field(pattern=r"^[0-9A-Z]{9}X$", examples=["101YM0800X"])
    address: Address


class ProviderIn(RequestModel):
    """A rendering clinician of a practice."""

    practice_id: uuid.UUID
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    npi: str = Field(pattern=r"^\d{10}$")
    taxonomy: str = Field(pattern=r"^[0-9A-Z]{9}X$")
    license_type: Literal["MD", "DO", "NP", "PA", "PSYCHOLOGIST", "LCSW", "LPC", "LMFT"]
    credentialed_payer_ids: list[uuid.UUID] = Field(default_factory=list)


class PayerIn(RequestModel):
    """A payer and its effective-dated profiles."""

    name: str = Field(min_length=1, max_length=60)
    x12_payer_id: str = Field(min_length=2, max_length=80)
    carve_out_payer_id: uuid.UUID | None = None
    profiles: list[PayerProfile] = Field(default_factory=list)


class PatientIn(RequestModel):
    """A patient of a practice."""

    practice_id: uuid.UUID
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    address: Address


class SubscriberIn(RequestModel):
    """The insured person when the patient is a dependent."""

    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    address: Address


class CoverageIn(RequestModel):
    """A patient's insurance with a payer."""

    patient_id: uuid.UUID
    payer_id: uuid.UUID
    member_id: str = Field(min_length=1, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    priority: Literal["primary", "secondary", "tertiary"] = "primary"
    relationship: Relationship = "self"
    subscriber: SubscriberIn | None = None
    start_date: date
    end_date: date | None = None
    copay: Decimal | None = Field(default=None, ge=0)


class Created(BaseModel):
    """Id of a created master-data record."""

    id: uuid.UUID
    entity_type: str


class ClockIn(RequestModel):
    """Pin the organization's business date (demo and test deployments only)."""

    business_date: date


class ClockOut(BaseModel):
    """The organization's business date."""

    business_date: date
    pinned: bool
