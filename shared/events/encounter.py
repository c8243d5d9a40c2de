"""Payloads of claimflow.patient-intake.v1: encounters as intake accepted them (minimum necessary)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.dates import CalendarDate
from shared.events.envelope import Payload
from shared.events.reference import Address

PlaceOfCare = Literal["in_person", "telehealth_video", "telehealth_audio"]
Relationship = Literal["self", "spouse", "child", "other"]


class PatientSnapshot(Payload):
    """What the 837P needs of the patient: name, birth date, sex, address."""

    patient_id: uuid.UUID
    first_name: str
    last_name: str
    birth_date: CalendarDate
    sex: Literal["F", "M", "U"]
    address: Address


class SubscriberSnapshot(Payload):
    """The insured person when the patient is a dependent."""

    first_name: str
    last_name: str
    birth_date: CalendarDate
    sex: Literal["F", "M", "U"]
    address: Address


class CoverageSnapshot(Payload):
    """The coverage billed for this visit, as of the date of service."""

    coverage_id: uuid.UUID
    payer_id: uuid.UUID
    x12_payer_id: str
    payer_name: str
    member_id: str
    group_number: str | None = None
    priority: Literal["primary", "secondary", "tertiary"] = "primary"
    relationship: Relationship = "self"
    subscriber: SubscriberSnapshot | None = None
    active_on_date_of_service: bool = True
    plan_start_date: CalendarDate | None = None
    plan_end_date: CalendarDate | None = None
    copay: Decimal | None = None
    coinsurance_percent: Decimal | None = None
    deductible: Decimal | None = None


class AuthorizationSnapshot(Payload):
    """The prior authorization found for the visit, with its units and dates."""

    authorization_id: uuid.UUID
    payer_id: uuid.UUID | None = None
    number: str
    units_approved: int
    units_used: int
    start_date: CalendarDate
    end_date: CalendarDate
    service_codes: list[str] = Field(default_factory=list)


class ProviderSnapshot(Payload):
    """The rendering provider of the visit."""

    provider_id: uuid.UUID
    npi: str
    first_name: str
    last_name: str
    taxonomy: str
    license_type: str


class PracticeSnapshot(Payload):
    """The billing provider (practice) of the visit."""

    practice_id: uuid.UUID
    name: str
    npi: str
    tin: str
    taxonomy: str
    address: Address


class Minutes(Payload):
    """Documented minutes by kind; each kind is counted separately (psychotherapy excludes E/M time)."""

    psychotherapy: int | None = Field(default=None, ge=0)
    evaluation_and_management: int | None = Field(default=None, ge=0)
    crisis: int | None = Field(default=None, ge=0)
    family: int | None = Field(default=None, ge=0)
    care_management: int | None = Field(default=None, ge=0)


InteractiveComplexityFactor = Literal[
    "maladaptive_communication", "caregiver_interference", "sentinel_event", "communication_barrier"
]
SameDayService = Literal["vaccine_administration", "annual_wellness_visit", "medicare_preventive"]


class EncounterFlags(Payload):
    """Documented facts the coder needs beyond minutes (DOMAIN.md 3.3, 3.5-3.7)."""

    interactive_complexity: InteractiveComplexityFactor | None = Field(
        default=None, description="The documented qualifying factor for +90785"
    )
    family_present: bool = Field(default=False, description="Family session with the patient present (90847)")
    patient_status: Literal["new", "established"] | None = Field(
        default=None, description="As the EHR documented it; coding applies the 3-year rule when absent"
    )
    longitudinal_care: bool = Field(default=False, description="Continuing focal point of care (+G2211)")
    separate_problem_visit: bool = Field(
        default=False, description="A significant, separately identifiable problem E/M with a preventive visit"
    )
    care_management_model: Literal["collaborative_care", "general_bhi"] | None = Field(
        default=None, description="For care-management minutes: CoCM (99492-99494, G2214) or general BHI (99484)"
    )
    same_day_services: list[SameDayService] = Field(
        default_factory=list, description="Other same-day services that keep +G2211 payable with modifier 25"
    )


class WorkQueueFlag(Payload):
    """A business problem found at intake that sends the visit to a work queue (the visit is still billed)."""

    queue: Literal["eligibility", "coding", "authorization"]
    reason_code: str
    reason: str


class EncounterFacts(Payload):
    """The visit as the EHR documented it, plus the master data downstream needs to bill it."""

    encounter_id: uuid.UUID
    ehr_encounter_id: str
    date_of_service: CalendarDate
    service_type: str = Field(description="psychotherapy, diagnostic_evaluation, medication_management, crisis, ...")
    place_of_care: PlaceOfCare = "in_person"
    patient_at_home: bool = False
    minutes: Minutes = Field(default_factory=Minutes)
    mdm_level: Literal["straightforward", "low", "moderate", "high"] | None = None
    diagnoses: list[str] = Field(min_length=1, max_length=12, description="ICD-10-CM codes, principal first")
    flags: EncounterFlags = Field(default_factory=EncounterFlags)
    practice: PracticeSnapshot
    provider: ProviderSnapshot
    patient: PatientSnapshot
    coverage: CoverageSnapshot | None = None
    authorization: AuthorizationSnapshot | None = None
    work_queue_flags: list[WorkQueueFlag] = Field(default_factory=list)


class EncounterReceived(EncounterFacts):
    """Emitted by intake when an encounter is accepted (valid, possibly flagged for a work queue)."""


class EncounterAmended(EncounterFacts):
    """Emitted by intake when the EHR amends an encounter (late minutes, corrected diagnoses)."""

    amendment_number: int = 1


class EncounterCancelled(Payload):
    """Emitted by intake when the EHR cancels an encounter."""

    encounter_id: uuid.UUID
    reason: str | None = None
