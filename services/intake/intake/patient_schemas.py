"""Request models of patient data: patients, coverages (with the subscriber) and authorizations."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field

from intake import master_domain
from intake.master_domain import FieldProblem
from intake.schemas import (
    EXAMPLE_ADDRESS,
    EXAMPLE_PATIENT_ID,
    EXAMPLE_PAYER_ID,
    EXAMPLE_PRACTICE_ID,
    AddressIn,
    MasterIn,
    Money,
    ProcedureCode,
    Reference,
    RequestModel,
    Text,
)
from shared.dates import CalendarDate
from shared.events.encounter import Relationship


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
    birth_date: CalendarDate
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
    birth_date: CalendarDate
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
    start_date: CalendarDate
    end_date: CalendarDate | None = None
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
    start_date: CalendarDate
    end_date: CalendarDate

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
