"""Request models of the organization's own master data: users, practices, fee schedules, providers, payers."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from intake import master_domain
from intake.master_domain import FieldProblem
from intake.schemas import (
    EXAMPLE_ADDRESS,
    EXAMPLE_PAYER_ID,
    EXAMPLE_PRACTICE_ID,
    AddressIn,
    LicenseType,
    MasterIn,
    Modifier,
    Money,
    Npi,
    ProcedureCode,
    Reference,
    RequestModel,
    Role,
    Taxonomy,
    Text,
)
from shared.dates import CalendarDate
from shared.events.reference import ClaimFilingIndicator


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
    effective_from: CalendarDate
    effective_to: CalendarDate | None = None

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
    effective_from: CalendarDate
    effective_to: CalendarDate | None = None


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
    first_service_date: CalendarDate | None = None

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

    effective_from: CalendarDate
    payer_type: Literal["medicare", "medicaid", "commercial", "other"] = "commercial"
    claim_filing_indicator: ClaimFilingIndicator | None = Field(
        default=None,
        examples=["MB"],
        description="SBR09 claim filing indicator of the 837P (X12 code list): MB Medicare Part B, MC Medicaid, "
        "BL Blue Cross Blue Shield, HM HMO, CI commercial, ...; when omitted, claims take MB for a medicare, MC "
        "for a medicaid and CI for a commercial payer_type, and the claims of a payer of type other are held",
    )
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
                            "claim_filing_indicator": "CI",
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
