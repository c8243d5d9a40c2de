"""HTTP contract of intake's master data: request models forbid unknown fields (nested too); responses are separate.

Request models mirror the reference payloads of shared/events/reference.py field for field, so the record intake
stores is exactly what it replicates; the payload models ignore extras, these refuse them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from intake import master_domain
from intake.master_domain import FieldProblem
from shared.dates import CalendarDate

Text = Annotated[str, AfterValidator(master_domain.usable_text)]
ProcedureCode = Annotated[
    str, Field(pattern=r"^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$", examples=["90837"], description="CPT or HCPCS code")
]
Modifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$", examples=["95"])]
Npi = Annotated[str, Field(pattern=r"^[0-9]{10}$", examples=["1234567893"], description="10 digits, Luhn-checked")]
Taxonomy = Annotated[str, Field(pattern=r"^[0-9A-Z]{9}X$", examples=["101YM0800X"])]
Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2, examples=["150.00"])]
Role = Literal["admin", "biller", "senior_biller", "coder", "credentialing", "front_desk", "clinician", "viewer"]
LicenseType = Literal["MD", "DO", "NP", "PA", "PSYCHOLOGIST", "LCSW", "LPC", "LMFT"]
Scope = Literal["encounters:write", "claims:write", "read", "admin"]

EXAMPLE_ADDRESS: Any = {"line1": "100 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}
EXAMPLE_PRACTICE_ID = "6f1c1f3e-1d2b-4c7a-9a57-0e5b8f7c2a10"
EXAMPLE_PAYER_ID = "0b8e6a43-55d1-4a3c-9f0e-2f4a6f1b9c21"
EXAMPLE_PATIENT_ID = "3d2a9c5e-7b14-4f0a-8c3e-5a6b7c8d9e01"


@dataclass(frozen=True)
class Reference:
    """An id inside a request that must name a live record of the caller's organization."""

    field: str
    entity_type: str
    entity_id: uuid.UUID


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are an error, so clients cannot set server-owned fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MasterIn(RequestModel):
    """Base of master-data request bodies: the references they hold and the rules across their fields."""

    def references(self) -> list[Reference]:
        """Ids this record points at (checked against the caller's organization)."""
        return []

    def rule_problems(self) -> list[FieldProblem]:
        """Rules spanning several fields (dates in order, units within approval...)."""
        return []


class AddressIn(RequestModel):
    """A postal address as the 837P N3/N4 segments need it."""

    line1: Text = Field(min_length=1, max_length=55)
    line2: Text | None = Field(default=None, max_length=55)
    city: Text = Field(min_length=1, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$", examples=["IL"])
    postal_code: str = Field(pattern=r"^[0-9]{5}(-?[0-9]{4})?$", examples=["62701"])


class Created(BaseModel):
    """Id of a created master-data record."""

    id: uuid.UUID
    entity_type: str


class MasterOut(BaseModel):
    """Base of master-data responses: the record's id with its attributes."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list; pass next_cursor back as `cursor` for the next page (null: this was the last)."""

    items: list[ItemT]
    next_cursor: str | None = None


class ListQuery(BaseModel):
    """Paging of every list endpoint."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200, description="Page size (at most 200)")
    cursor: str | None = Field(
        default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of the previous page"
    )


class OrganizationIn(RequestModel):
    """A new organization (platform operator only)."""

    name: Text = Field(min_length=1, max_length=200, examples=["Lakeside Behavioral Billing"])


class ApiKeyIn(RequestModel):
    """A new API key for the caller's organization."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"scopes": ["encounters:write", "read"], "practice_ids": [], "label": "EHR connector"}]
        }
    )

    scopes: list[Scope] = Field(min_length=1, max_length=3, examples=[["encounters:write"]])
    practice_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="Practices the key is limited to; empty means all"
    )
    label: Text | None = Field(default=None, max_length=200)
    user_id: uuid.UUID | None = Field(default=None, description="The user of the organization the key belongs to")


class ApiKeyCreated(BaseModel):
    """The key's secret is shown once, here; an idempotent replay answers without it (it is never stored)."""

    key_id: str
    api_key: str | None = Field(description="The secret to send as 'Authorization: Bearer <key>'; shown once")
    scopes: list[str]
    organization_id: uuid.UUID
    practice_ids: list[uuid.UUID] = Field(default_factory=list)
    user_id: uuid.UUID | None = None
    label: str | None = None


class ApiKeyOut(BaseModel):
    """An issued key as administrators see it: never the secret nor its hash."""

    key_id: str
    scopes: list[str]
    practice_ids: list[uuid.UUID]
    user_id: uuid.UUID | None = None
    label: str | None = None
    revoked: bool
    created_at: datetime


class ApiKeyQuery(ListQuery):
    """Filters of the API key list."""

    revoked: bool | None = None
    user_id: uuid.UUID | None = None


class OrganizationCreated(BaseModel):
    """A new organization with its first admin key."""

    organization_id: uuid.UUID
    name: str
    admin_key: ApiKeyCreated


class ClockIn(RequestModel):
    """Pin the organization's business date (demo and test deployments only)."""

    business_date: CalendarDate = Field(examples=["2026-10-01"])


class ClockOut(BaseModel):
    """The organization's business date."""

    business_date: CalendarDate
    pinned: bool


def example_of(model: type[BaseModel]) -> dict[str, Any] | None:
    """The first request example a model declares, if any."""
    extra = model.model_config.get("json_schema_extra")
    if isinstance(extra, dict):
        examples = extra.get("examples")
        if isinstance(examples, list) and examples and isinstance(examples[0], dict):
            return dict(examples[0])
    return None
