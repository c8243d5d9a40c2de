"""HTTP contract of encounters: native JSON (FHIR Bundles map onto the same model), batches, amendments, queues."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from intake.schemas import RequestModel
from shared.dates import CalendarDate
from shared.events.encounter import (
    InteractiveComplexityFactor,
    PlaceOfCare,
    SameDayService,
)

ServiceType = Literal[
    "psychotherapy",
    "diagnostic_evaluation",
    "medication_management",
    "crisis",
    "family",
    "group",
    "care_management",
    "office_visit",
    "preventive",
]
MdmLevel = Literal["straightforward", "low", "moderate", "high"]
MAX_MINUTES = 24 * 60


class MinutesIn(RequestModel):
    """Documented minutes by kind; each kind is counted separately (psychotherapy excludes E/M time)."""

    psychotherapy: int | None = Field(default=None, ge=0, le=MAX_MINUTES, examples=[53])
    evaluation_and_management: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    crisis: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    family: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    care_management: int | None = Field(default=None, ge=0, le=MAX_MINUTES)


class EncounterFlagsIn(RequestModel):
    """Documented facts beyond minutes: interactive complexity factor, family present, new or established..."""

    interactive_complexity: InteractiveComplexityFactor | None = None
    family_present: bool = False
    patient_status: Literal["new", "established"] | None = None
    longitudinal_care: bool = False
    separate_problem_visit: bool = False
    care_management_model: Literal["collaborative_care", "general_bhi"] | None = None
    same_day_services: list[SameDayService] = Field(default_factory=list, max_length=3)


ENCOUNTER_EXAMPLE: dict[str, Any] = {
    "ehr_encounter_id": "EHR-000123",
    "practice_id": "6f1c2a8e-3b7d-4c55-9a51-0c7e5d1f2a10",
    "provider_id": "0b8d4f3e-2a61-4e0f-8c9a-7d5b3e1f4c22",
    "patient_id": "9a2e6c1d-5f84-4b3a-a0d7-3e8f1b2c4d33",
    "date_of_service": "2026-05-04",
    "service_type": "psychotherapy",
    "place_of_care": "telehealth_video",
    "patient_at_home": True,
    "minutes": {"psychotherapy": 53},
    "diagnoses": ["F41.1", "F33.1"],
    "flags": {"interactive_complexity": "caregiver_interference", "patient_status": "established"},
}


class EncounterIn(RequestModel):
    """One visit as the EHR documented it."""

    model_config = {"json_schema_extra": {"examples": [ENCOUNTER_EXAMPLE]}}

    ehr_encounter_id: str = Field(
        min_length=1, max_length=80, examples=["EHR-000123"], description="The EHR's own id, unique per practice"
    )
    practice_id: uuid.UUID
    provider_id: uuid.UUID = Field(description="The rendering provider")
    patient_id: uuid.UUID
    date_of_service: CalendarDate
    service_type: ServiceType = "psychotherapy"
    place_of_care: PlaceOfCare = "in_person"
    patient_at_home: bool = False
    minutes: MinutesIn = Field(default_factory=MinutesIn)
    mdm_level: MdmLevel | None = None
    diagnoses: list[str] = Field(
        min_length=1,
        max_length=12,
        examples=[["F41.1"]],
        description="ICD-10-CM codes, principal first; validated against the code set in force on the date of service",
    )
    flags: EncounterFlagsIn = Field(default_factory=EncounterFlagsIn)


class EncounterAmendmentIn(RequestModel):
    """What the EHR corrects after the fact; fields left out keep their value (minutes and flags merge by kind)."""

    model_config = {
        "json_schema_extra": {
            "examples": [{"reason": "late psychotherapy minutes", "minutes": {"psychotherapy": 45}}],
        }
    }

    reason: str | None = Field(default=None, max_length=500, examples=["late psychotherapy minutes"])
    date_of_service: CalendarDate | None = None
    provider_id: uuid.UUID | None = None
    service_type: ServiceType | None = None
    place_of_care: PlaceOfCare | None = None
    patient_at_home: bool | None = None
    minutes: MinutesIn | None = None
    mdm_level: MdmLevel | None = None
    diagnoses: list[str] | None = Field(default=None, min_length=1, max_length=12)
    flags: EncounterFlagsIn | None = None


class CancellationIn(RequestModel):
    """Why the EHR withdraws a visit (entered in error, did not happen...)."""

    reason: str = Field(min_length=1, max_length=500, examples=["entered in error"])


class ResolutionIn(RequestModel):
    """A note on how an eligibility problem was fixed (coverage is re-checked when resolving)."""

    note: str = Field(min_length=1, max_length=500, examples=["coverage dates corrected after calling the payer"])


class WorkQueueFlagOut(BaseModel):
    """A business problem that sent the visit to a work queue (the visit is still billed once fixed)."""

    queue: Literal["eligibility", "coding", "authorization"]
    reason_code: str = Field(examples=["COVERAGE-INACTIVE"])
    reason: str = Field(examples=["coverage is not active on 2026-05-04 (plan dates 2025-01-01 to 2026-03-31)"])


class EncounterAccepted(BaseModel):
    """An accepted encounter: follow it by id; flags say which work queue it went to."""

    encounter_id: uuid.UUID
    ehr_encounter_id: str
    status: Literal["received", "amended", "cancelled"]
    received_date: CalendarDate
    work_queue_flags: list[WorkQueueFlagOut] = Field(default_factory=list)


class EncounterView(EncounterAccepted):
    """An encounter as intake holds it now (after any amendments)."""

    practice_id: uuid.UUID
    patient_id: uuid.UUID
    date_of_service: CalendarDate
    service_type: str
    amendment_number: int = Field(description="0 until the EHR amends the encounter")
    diagnoses: list[str]


class EncounterBatchIn(RequestModel):
    """Up to 500 encounters; each is validated and stored on its own, so a bad one does not lose the others."""

    model_config = {"json_schema_extra": {"examples": [{"encounters": [ENCOUNTER_EXAMPLE]}]}}

    encounters: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=500,
        description="Encounters in the native JSON shape (POST /v1/encounters); at most 500 per call",
    )


class ItemProblem(BaseModel):
    """Why one batch item was refused (the same problem POST /v1/encounters would answer)."""

    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BatchItemResult(BaseModel):
    """The outcome of one batch item: 202 received, 200 already received, 4xx refused (nothing stored)."""

    index: int
    status: int = Field(examples=[202])
    encounter_id: uuid.UUID | None = None
    ehr_encounter_id: str | None = None
    work_queue_flags: list[WorkQueueFlagOut] = Field(default_factory=list)
    problem: ItemProblem | None = None


class BatchResult(BaseModel):
    """A result per item, in the order they were sent."""

    received: int = Field(description="Items stored by this call (202)")
    already_received: int = Field(description="Items whose EHR encounter id was already stored (200)")
    refused: int = Field(description="Items refused (4xx); nothing of them was stored")
    results: list[BatchItemResult]


class FhirBundleAccepted(EncounterAccepted):
    """The encounter of a FHIR transaction Bundle, with the patient and coverage it was matched to or created."""

    patient_id: uuid.UUID
    coverage_id: uuid.UUID | None = None


class EligibilityItem(BaseModel):
    """An encounter waiting in the eligibility work queue, with its reasons."""

    encounter_id: uuid.UUID
    ehr_encounter_id: str
    practice_id: uuid.UUID
    patient_id: uuid.UUID
    date_of_service: CalendarDate
    received_date: CalendarDate
    reasons: list[WorkQueueFlagOut]


class EligibilityPage(BaseModel):
    """A page of the eligibility work queue; pass next_cursor back for the next page."""

    items: list[EligibilityItem]
    next_cursor: str | None = None
