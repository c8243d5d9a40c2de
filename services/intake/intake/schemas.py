"""HTTP contract of intake's master data: request models forbid unknown fields (nested too); responses are separate.

Request models mirror the reference payloads of shared/events/reference.py field for field, so the record intake
stores is exactly what it replicates; the payload models ignore extras, these refuse them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from intake import master_domain
from intake.master_domain import FieldProblem
from shared.events import reference
from shared.events.encounter import Relationship
from shared.events.envelope import Payload

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


class UserIn(MasterIn):
    """A person of the organization, for work-queue assignment and audit."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Dana Reyes", "email": "dana@lakeside.example", "role": "biller"}]}
    )

    name: Text = Field(min_length=1, max_length=120)
    email: Annotated[Text, AfterValidator(str.lower)] = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: Role
    active: bool = True


class PracticeIn(MasterIn):
    """A practice (billing provider): billing NPI, TIN, taxonomy and address."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Lakeside Counseling",
                    "npi": "1234567893",
                    "tin": "123456789",
                    "taxonomy": "261QM0801X",
                    "address": EXAMPLE_ADDRESS,
                }
            ]
        }
    )

    name: Text = Field(min_length=1, max_length=120)
    npi: Npi
    tin: str = Field(pattern=r"^[0-9]{9}$", examples=["123456789"])
    taxonomy: Taxonomy
    address: AddressIn

    def rule_problems(self) -> list[FieldProblem]:
        """The billing NPI passes its check digit."""
        return master_domain.npi_problems(self.npi)


class FeeScheduleEntryIn(MasterIn):
    """A practice's charge for one code (optionally for one payer), in force between two dates."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "practice_id": EXAMPLE_PRACTICE_ID,
                    "payer_id": None,
                    "code": "90837",
                    "modifier": None,
                    "amount": "180.00",
                    "effective_from": "2026-01-01",
                    "effective_to": None,
                }
            ]
        }
    )

    practice_id: uuid.UUID
    payer_id: uuid.UUID | None = None
    code: ProcedureCode
    modifier: Modifier | None = None
    amount: Money
    effective_from: date
    effective_to: date | None = None

    def references(self) -> list[Reference]:
        """The practice and, when given, the payer."""
        found = [Reference("practice_id", "practice", self.practice_id)]
        if self.payer_id is not None:
            found.append(Reference("payer_id", "payer", self.payer_id))
        return found

    def rule_problems(self) -> list[FieldProblem]:
        """The range ends on or after it starts."""
        return master_domain.date_order_problems(
            self.effective_from, self.effective_to, "effective_from", "effective_to"
        )


class CredentialingIn(RequestModel):
    """A provider's enrollment with one payer, effective-dated (an open end means still enrolled)."""

    payer_id: uuid.UUID
    effective_from: date
    effective_to: date | None = None


class ProviderIn(MasterIn):
    """A rendering clinician of a practice and the payers it is credentialed with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "practice_id": EXAMPLE_PRACTICE_ID,
                    "first_name": "Alex",
                    "last_name": "Morgan",
                    "npi": "1234567893",
                    "taxonomy": "1041C0700X",
                    "license_type": "LCSW",
                    "credentialing": [{"payer_id": EXAMPLE_PAYER_ID, "effective_from": "2026-01-01"}],
                    "first_service_date": "2026-01-05",
                }
            ]
        }
    )

    practice_id: uuid.UUID
    first_name: Text = Field(min_length=1, max_length=60)
    last_name: Text = Field(min_length=1, max_length=60)
    npi: Npi
    taxonomy: Taxonomy
    license_type: LicenseType
    credentialed_payer_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="Payers enrolled with, without dates (older clients)"
    )
    credentialing: list[CredentialingIn] = Field(default_factory=list, max_length=200)
    first_service_date: date | None = None

    def references(self) -> list[Reference]:
        """The practice and every payer the provider is credentialed with."""
        found = [Reference("practice_id", "practice", self.practice_id)]
        found += [
            Reference(f"credentialed_payer_ids.{index}", "payer", payer_id)
            for index, payer_id in enumerate(self.credentialed_payer_ids)
        ]
        found += [
            Reference(f"credentialing.{index}.payer_id", "payer", period.payer_id)
            for index, period in enumerate(self.credentialing)
        ]
        return found

    def rule_problems(self) -> list[FieldProblem]:
        """The NPI passes its check digit; enrollment periods are ordered and do not overlap per payer."""
        return master_domain.npi_problems(self.npi) + master_domain.credentialing_problems(
            [(p.payer_id, p.effective_from, p.effective_to) for p in self.credentialing]
        )


class AuthorizationPolicyIn(RequestModel):
    """When the payer wants a prior authorization on file."""

    mode: Literal["none", "all", "listed_codes", "after_visits"] = "none"
    codes: list[ProcedureCode] = Field(default_factory=list, max_length=200)
    unmanaged_visits: int | None = Field(default=None, ge=0, le=1000)


class VisitLimitIn(RequestModel):
    """A cap on sessions per benefit period for a set of codes (empty codes: every psychotherapy code)."""

    visits: int = Field(ge=0, le=1000)
    period: Literal["calendar_year", "plan_year", "rolling_12_months"] = "calendar_year"
    codes: list[ProcedureCode] = Field(default_factory=list, max_length=200)


class TelehealthPolicyIn(RequestModel):
    """Place of service and modifiers the payer wants on telehealth lines."""

    accepted_pos: list[Annotated[str, Field(pattern=r"^[0-9]{2}$")]] = Field(
        default_factory=lambda: ["02", "10"], max_length=20
    )
    video_modifier: Modifier | None = "95"
    audio_only_covered: bool = True
    audio_only_modifier: Modifier = "93"


class PayerProfileIn(RequestModel):
    """The payer's rules in force from effective_from until the next profile starts."""

    effective_from: date
    payer_type: Literal["medicare", "medicaid", "commercial", "other"] = "commercial"
    timely_filing_days: int = Field(default=365, ge=1, le=3650)
    payment_lag_business_days: int = Field(default=10, ge=0, le=365)
    no_response_follow_up_days: int = Field(default=30, ge=1, le=365)
    authorization: AuthorizationPolicyIn = Field(default_factory=AuthorizationPolicyIn)
    visit_limits: list[VisitLimitIn] = Field(default_factory=list, max_length=50)
    telehealth: TelehealthPolicyIn = Field(default_factory=TelehealthPolicyIn)
    credentialing_required: bool = True
    diagnostic_evaluation_repeat_days: int | None = Field(default=None, ge=0, le=3650)


class PayerIn(MasterIn):
    """A payer with its X12 id, carve-out and effective-dated profiles."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Health",
                    "x12_payer_id": "ACME1",
                    "carve_out_payer_id": None,
                    "behavioral_health_carve_out": False,
                    "profiles": [
                        {
                            "effective_from": "2026-01-01",
                            "timely_filing_days": 180,
                            "no_response_follow_up_days": 30,
                            "authorization": {"mode": "after_visits", "unmanaged_visits": 12},
                            "visit_limits": [{"visits": 30, "period": "calendar_year"}],
                            "telehealth": {"accepted_pos": ["02", "10"], "video_modifier": "95"},
                            "credentialing_required": True,
                        }
                    ],
                }
            ]
        }
    )

    name: Text = Field(min_length=1, max_length=60)
    x12_payer_id: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z-]{1,79}$", examples=["ACME1"])
    carve_out_payer_id: uuid.UUID | None = None
    behavioral_health_carve_out: bool = False
    profiles: list[PayerProfileIn] = Field(default_factory=list, max_length=100)

    def references(self) -> list[Reference]:
        """The behavioral-health carve-out payer, when there is one."""
        if self.carve_out_payer_id is None:
            return []
        return [Reference("carve_out_payer_id", "payer", self.carve_out_payer_id)]

    def rule_problems(self) -> list[FieldProblem]:
        """No two profiles start on the same day."""
        return master_domain.profile_date_problems([p.effective_from for p in self.profiles])


class PatientIn(MasterIn):
    """A patient of a practice (not replicated: it travels only inside encounter snapshots)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "practice_id": EXAMPLE_PRACTICE_ID,
                    "first_name": "Jamie",
                    "last_name": "Doe",
                    "birth_date": "1985-04-12",
                    "sex": "F",
                    "address": EXAMPLE_ADDRESS,
                    "ehr_patient_id": "MRN-001234",
                }
            ]
        }
    )

    practice_id: uuid.UUID
    first_name: Text = Field(min_length=1, max_length=60)
    last_name: Text = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    address: AddressIn
    ehr_patient_id: Text | None = Field(
        default=None, min_length=1, max_length=80, description="The EHR's own patient id, unique per practice"
    )

    def references(self) -> list[Reference]:
        """The practice."""
        return [Reference("practice_id", "practice", self.practice_id)]


class SubscriberIn(RequestModel):
    """The insured person when the patient is a dependent."""

    first_name: Text = Field(min_length=1, max_length=60)
    last_name: Text = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    address: AddressIn


class CoverageIn(MasterIn):
    """A patient's insurance with a payer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "patient_id": EXAMPLE_PATIENT_ID,
                    "payer_id": EXAMPLE_PAYER_ID,
                    "member_id": "M000123",
                    "group_number": "G-77",
                    "priority": "primary",
                    "relationship": "self",
                    "start_date": "2026-01-01",
                    "end_date": None,
                    "copay": "20.00",
                    "coinsurance_percent": "10",
                    "deductible": "500.00",
                }
            ]
        }
    )

    patient_id: uuid.UUID
    payer_id: uuid.UUID
    member_id: Text = Field(min_length=1, max_length=80)
    group_number: Text | None = Field(default=None, max_length=50)
    priority: Literal["primary", "secondary", "tertiary"] = "primary"
    relationship: Relationship = "self"
    subscriber: SubscriberIn | None = None
    start_date: date
    end_date: date | None = None
    copay: Money | None = None
    coinsurance_percent: Decimal | None = Field(default=None, ge=0, le=100, max_digits=5, decimal_places=2)
    deductible: Money | None = None

    def references(self) -> list[Reference]:
        """The patient and the payer."""
        return [Reference("patient_id", "patient", self.patient_id), Reference("payer_id", "payer", self.payer_id)]

    def rule_problems(self) -> list[FieldProblem]:
        """A dependent names the subscriber; plan dates are ordered."""
        return master_domain.coverage_problems(
            relationship=self.relationship,
            has_subscriber=self.subscriber is not None,
            start_date=self.start_date,
            end_date=self.end_date,
        )


class AuthorizationIn(MasterIn):
    """A prior authorization: number, payer, covered codes, units approved and used, start and end dates."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "patient_id": EXAMPLE_PATIENT_ID,
                    "payer_id": EXAMPLE_PAYER_ID,
                    "number": "AUTH-2026-0001",
                    "service_codes": ["90834", "90837"],
                    "units_approved": 12,
                    "units_used": 0,
                    "start_date": "2026-01-01",
                    "end_date": "2026-06-30",
                }
            ]
        }
    )

    patient_id: uuid.UUID
    payer_id: uuid.UUID
    number: Text = Field(min_length=1, max_length=50)
    service_codes: list[ProcedureCode] = Field(min_length=1, max_length=100)
    units_approved: int = Field(ge=0, le=10_000)
    units_used: int = Field(default=0, ge=0, le=10_000)
    start_date: date
    end_date: date

    def references(self) -> list[Reference]:
        """The patient and the payer."""
        return [Reference("patient_id", "patient", self.patient_id), Reference("payer_id", "payer", self.payer_id)]

    def rule_problems(self) -> list[FieldProblem]:
        """Units used within approval; end on or after start."""
        return master_domain.authorization_problems(
            units_approved=self.units_approved,
            units_used=self.units_used,
            start_date=self.start_date,
            end_date=self.end_date,
        )


class Created(BaseModel):
    """Id of a created master-data record."""

    id: uuid.UUID
    entity_type: str


class MasterOut(BaseModel):
    """Base of master-data responses: the record's id with its attributes."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID


class UserOut(UserIn, MasterOut):
    """A user of the organization."""

    model_config = ConfigDict(extra="ignore")


class PracticeOut(PracticeIn, MasterOut):
    """A practice."""

    model_config = ConfigDict(extra="ignore")


class FeeScheduleEntryOut(FeeScheduleEntryIn, MasterOut):
    """A fee schedule entry."""

    model_config = ConfigDict(extra="ignore")


class ProviderOut(ProviderIn, MasterOut):
    """A provider."""

    model_config = ConfigDict(extra="ignore")


class PayerOut(PayerIn, MasterOut):
    """A payer with its profiles."""

    model_config = ConfigDict(extra="ignore")


class PatientOut(PatientIn, MasterOut):
    """A patient."""

    model_config = ConfigDict(extra="ignore")


class CoverageOut(CoverageIn, MasterOut):
    """A coverage."""

    model_config = ConfigDict(extra="ignore")


class AuthorizationOut(AuthorizationIn, MasterOut):
    """A prior authorization."""

    model_config = ConfigDict(extra="ignore")


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


class UserQuery(ListQuery):
    """Filters of the user list."""

    role: Role | None = None
    email: Text | None = Field(default=None, max_length=254)
    active: bool | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60)


class PracticeQuery(ListQuery):
    """Filters of the practice list."""

    npi: Npi | None = None
    tin: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60)


class FeeScheduleQuery(ListQuery):
    """Filters of the fee schedule list."""

    practice_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    code: ProcedureCode | None = None
    modifier: Modifier | None = None
    active_on: date | None = Field(default=None, description="Entries in force on this date")


class ProviderQuery(ListQuery):
    """Filters of the provider list."""

    practice_id: uuid.UUID | None = None
    npi: Npi | None = None
    license_type: LicenseType | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60, description="Last name prefix")


class PayerQuery(ListQuery):
    """Filters of the payer list."""

    x12_payer_id: str | None = Field(default=None, pattern=r"^[0-9A-Za-z][0-9A-Za-z-]{1,79}$")
    behavioral_health_carve_out: bool | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60)


class PatientQuery(ListQuery):
    """Filters of the patient list."""

    practice_id: uuid.UUID | None = None
    ehr_patient_id: Text | None = Field(default=None, min_length=1, max_length=80)
    birth_date: date | None = None
    name_prefix: Text | None = Field(default=None, min_length=1, max_length=60, description="Last name prefix")


class CoverageQuery(ListQuery):
    """Filters of the coverage list."""

    practice_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    member_id: Text | None = Field(default=None, min_length=1, max_length=80)
    priority: Literal["primary", "secondary", "tertiary"] | None = None
    active_on: date | None = Field(default=None, description="Coverages whose plan dates include this date")


class AuthorizationQuery(ListQuery):
    """Filters of the authorization list."""

    practice_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    number: Text | None = Field(default=None, min_length=1, max_length=50)
    active_on: date | None = Field(default=None, description="Authorizations whose dates include this date")


@dataclass(frozen=True)
class MasterKind:
    """One kind of master data: its HTTP models, who may write it, how it is scoped, replicated and audited."""

    entity_type: str
    plural: str
    request: type[MasterIn]
    response: type[MasterOut]
    query: type[ListQuery]
    write_scope: Scope
    replicated_as: type[Payload] | None = None
    audited: bool = False
    practice_scoped: bool = True
    immutable: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    name_field: str | None = None
    date_range: tuple[str, str] | None = None


KINDS: dict[str, MasterKind] = {
    kind.entity_type: kind
    for kind in (
        MasterKind(
            "user",
            "users",
            UserIn,
            UserOut,
            UserQuery,
            "admin",
            replicated_as=reference.UserRef,
            practice_scoped=False,
            unique=(("email",),),
            name_field="name",
        ),
        MasterKind(
            "practice",
            "practices",
            PracticeIn,
            PracticeOut,
            PracticeQuery,
            "admin",
            replicated_as=reference.PracticeRef,
            name_field="name",
        ),
        MasterKind(
            "fee_schedule_entry",
            "fee-schedules",
            FeeScheduleEntryIn,
            FeeScheduleEntryOut,
            FeeScheduleQuery,
            "admin",
            replicated_as=reference.FeeScheduleEntryRef,
            immutable=("practice_id",),
            date_range=("effective_from", "effective_to"),
        ),
        MasterKind(
            "provider",
            "providers",
            ProviderIn,
            ProviderOut,
            ProviderQuery,
            "admin",
            replicated_as=reference.ProviderRef,
            immutable=("practice_id",),
            unique=(("practice_id", "npi"),),
            name_field="last_name",
        ),
        MasterKind(
            "payer",
            "payers",
            PayerIn,
            PayerOut,
            PayerQuery,
            "admin",
            replicated_as=reference.PayerRef,
            practice_scoped=False,
            name_field="name",
        ),
        MasterKind(
            "patient",
            "patients",
            PatientIn,
            PatientOut,
            PatientQuery,
            "encounters:write",
            audited=True,
            immutable=("practice_id",),
            unique=(("practice_id", "ehr_patient_id"),),
            name_field="last_name",
        ),
        MasterKind(
            "coverage",
            "coverages",
            CoverageIn,
            CoverageOut,
            CoverageQuery,
            "encounters:write",
            audited=True,
            immutable=("patient_id",),
            date_range=("start_date", "end_date"),
        ),
        MasterKind(
            "authorization",
            "authorizations",
            AuthorizationIn,
            AuthorizationOut,
            AuthorizationQuery,
            "encounters:write",
            audited=True,
            immutable=("patient_id",),
            date_range=("start_date", "end_date"),
        ),
    )
}


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

    business_date: date = Field(examples=["2026-10-01"])


class ClockOut(BaseModel):
    """The organization's business date."""

    business_date: date
    pinned: bool


def example_of(model: type[BaseModel]) -> dict[str, Any] | None:
    """The first request example a model declares, if any."""
    extra = model.model_config.get("json_schema_extra")
    if isinstance(extra, dict):
        examples = extra.get("examples")
        if isinstance(examples, list) and examples and isinstance(examples[0], dict):
            return dict(examples[0])
    return None
