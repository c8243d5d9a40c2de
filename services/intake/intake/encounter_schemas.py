"""HTTP contract of encounters: native JSON (FHIR Bundles map onto the same model)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from intake.schemas import RequestModel
from shared.events.encounter import (
    InteractiveComplexityFactor,
    Minutes,
    PlaceOfCare,
    SameDayService,
)


class EncounterFlagsIn(RequestModel):
    """Documented facts beyond minutes: interactive complexity factor, family present, new or established..."""

    interactive_complexity: InteractiveComplexityFactor | None = None
    family_present: bool = False
    patient_status: Literal["new", "established"] | None = None
    longitudinal_care: bool = False
    separate_problem_visit: bool = False
    care_management_model: Literal["collaborative_care", "general_bhi"] | None = None
    same_day_services: list[SameDayService] = Field(default_factory=list, max_length=3)


class EncounterIn(RequestModel):
    """One visit as the EHR documented it."""

    ehr_encounter_id: str = Field(min_length=1, max_length=80, examples=["EHR-000123"])
    practice_id: uuid.UUID
    provider_id: uuid.UUID
    patient_id: uuid.UUID
    date_of_service: date
    service_type: Literal[
        "psychotherapy",
        "diagnostic_evaluation",
        "medication_management",
        "crisis",
        "family",
        "group",
        "care_management",
        "office_visit",
        "preventive",
    ] = "psychotherapy"
    place_of_care: PlaceOfCare = "in_person"
    patient_at_home: bool = False
    minutes: Minutes = Field(default_factory=Minutes)
    mdm_level: Literal["straightforward", "low", "moderate", "high"] | None = None
    diagnoses: list[str] = Field(min_length=1, max_length=12, examples=[["F41.1"]])
    flags: EncounterFlagsIn = Field(default_factory=EncounterFlagsIn)


class EncounterAccepted(BaseModel):
    """An accepted encounter: follow it by id; flags say which work queue it went to."""

    encounter_id: uuid.UUID
    ehr_encounter_id: str
    status: str
    received_date: date
    work_queue_flags: list[dict[str, str]] = Field(default_factory=list)
