"""FHIR R4 transaction Bundles in: the patient and coverage found or created, then the encounter received."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.common import create_master, find_masters
from intake.encounter_schemas import EncounterIn, FhirBundleAccepted
from intake.encounters import receive_encounter
from intake.fhir_mapping import (
    BundleContent,
    cost_share_of,
    fhir_date,
    identifier_of,
    index_bundle,
    map_encounter,
    native_to_fhir_path,
    npi_of,
    parse_bundle,
    person,
    preferred_identifier,
    refuse,
)
from shared import icd10
from shared.auth import Principal
from shared.problems import Problem

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
BILLING_EXTENSION = "urn:claimflow:fhir:encounter-billing"
ACCEPTED_TYPES = {"Patient", "Coverage", "Encounter", "Condition", "Practitioner", "Organization", "RelatedPerson"}
CLASS_TO_PLACE = {"AMB": "in_person", "VR": "telehealth_video"}
SEX = {"female": "F", "male": "M", "other": "U", "unknown": "U"}
RELATIONSHIP = {"self": "self", "spouse": "spouse", "child": "child"}
PRIORITY = {1: "primary", 2: "secondary", 3: "tertiary"}
# Encounter.length counts toward the minutes of the service's own kind when no minutes extension is sent.
LENGTH_KIND = {
    "psychotherapy": "psychotherapy",
    "crisis": "crisis",
    "family": "family",
    "care_management": "care_management",
    "office_visit": "evaluation_and_management",
    "medication_management": "evaluation_and_management",
}
REFUSED_STATUSES = {"planned", "cancelled", "entered-in-error"}


async def _one_master(
    session: AsyncSession, entity_type: str, path: str, what: str, **attributes: str
) -> tuple[uuid.UUID, dict[str, Any]]:
    """The single master record matching an identifier, or a 422 naming the FHIR path."""
    found = await find_masters(session, entity_type, **attributes)
    if not found:
        raise refuse((path, f"no {entity_type} with {what} in this organization"))
    return found[0]


async def _coverage(
    session: AsyncSession, principal: Principal, content: BundleContent, patient_id: uuid.UUID
) -> uuid.UUID | None:
    """Reuse or create the Bundle's Coverage of the patient (None when the Bundle has none)."""
    coverages = content.by_type.get("Coverage", [])
    if not coverages:
        return None
    located = content.one("Coverage")
    coverage, path = located.resource, located.path
    payor = (coverage.payor or [None])[0]
    target = content.resolve(payor) if payor else None
    x12_payer_id = identifier_of(payor) or (identifier_of(target.resource) if target else None)
    if not x12_payer_id:
        raise refuse((f"{path}.payor[0]", "needs the payer's X12 id as identifier (or an Organization with one)"))
    payer_id, _ = await _one_master(
        session, "payer", f"{path}.payor[0]", f"X12 payer id {x12_payer_id}", x12_payer_id=x12_payer_id
    )
    if not coverage.subscriberId:
        raise refuse((f"{path}.subscriberId", "the member id is required"))
    start = fhir_date(coverage.period.start if coverage.period else None)
    if start is None:
        raise refuse((f"{path}.period.start", "the plan start date is required"))
    end = fhir_date(coverage.period.end if coverage.period else None)
    relationship_code = (coverage.relationship.coding or [None])[0] if coverage.relationship else None
    relationship = RELATIONSHIP.get(relationship_code.code if relationship_code else "self", "other")
    subscriber = None
    if relationship != "self":
        subscriber_entry = content.resolve(coverage.subscriber)
        if subscriber_entry is None:
            raise refuse((f"{path}.subscriber", "a dependent's coverage must reference the subscriber in the Bundle"))
        subscriber = person(subscriber_entry)
    priority = PRIORITY.get(coverage.order or 1)
    if priority is None:
        raise refuse((f"{path}.order", "must be 1, 2 or 3"))
    group_number = None
    for plan_class in coverage.class_fhir or []:
        if any(c.code == "group" for c in plan_class.type.coding or []):
            group_number = plan_class.value
    cost_share = cost_share_of(coverage)
    member_id = str(coverage.subscriberId)
    existing = await find_masters(
        session, "coverage", patient_id=str(patient_id), payer_id=str(payer_id), member_id=member_id
    )
    if existing:
        return existing[0][0]
    return await create_master(
        session,
        principal,
        "coverage",
        {
            "patient_id": str(patient_id),
            "payer_id": str(payer_id),
            "member_id": member_id,
            "group_number": group_number,
            "priority": priority,
            "relationship": relationship,
            "subscriber": subscriber,
            "start_date": start.isoformat(),
            "end_date": end.isoformat() if end else None,
            **cost_share,
        },
    )


async def _patient(
    session: AsyncSession, principal: Principal, content: BundleContent, practice_id: uuid.UUID
) -> tuple[uuid.UUID, str]:
    """Reuse the practice's patient with the Bundle Patient's EHR identifier, or create it; (id, FHIR path)."""
    located = content.one("Patient")
    ehr_patient_id = preferred_identifier(located.resource)
    if not ehr_patient_id:
        raise refuse((f"{located.path}.identifier", "the EHR's patient identifier is required"))
    found = await find_masters(session, "patient", practice_id=str(practice_id), ehr_patient_id=ehr_patient_id)
    if found:
        return found[0][0], located.path
    attributes = {"practice_id": str(practice_id), **person(located), "ehr_patient_id": ehr_patient_id}
    return await create_master(session, principal, "patient", attributes), located.path


async def receive_bundle(
    session: AsyncSession,
    principal: Principal,
    document: Any,
    correlation_id: str,
    releases: Sequence[icd10.CodeRelease],
) -> tuple[FhirBundleAccepted, bool]:
    """Map a transaction Bundle onto the native model, reusing or creating patient and coverage; (result, created?)."""
    content = index_bundle(parse_bundle(document))
    encounter = content.one("Encounter")
    provider_path = f"{encounter.path}.serviceProvider"
    practice_npi = npi_of(encounter.resource.serviceProvider, content) if encounter.resource.serviceProvider else None
    if not practice_npi:
        raise refuse((provider_path, f"needs the practice's NPI ({NPI_SYSTEM})"))
    practice_id, _ = await _one_master(session, "practice", provider_path, f"NPI {practice_npi}", npi=practice_npi)
    mapped = map_encounter(content, provider_path)
    rendering = None
    for index, participant in enumerate(encounter.resource.participant or []):
        npi = npi_of(participant.individual, content) if participant.individual else None
        if npi:
            rendering = (f"{encounter.path}.participant[{index}].individual", npi)
            break
    if rendering is None:
        raise refuse((f"{encounter.path}.participant", f"needs the rendering provider's NPI ({NPI_SYSTEM})"))
    mapped.paths["provider_id"] = rendering[0]
    provider_id, _ = await _one_master(
        session, "provider", rendering[0], f"NPI {rendering[1]}", practice_id=str(practice_id), npi=rendering[1]
    )
    try:
        patient_id, patient_path = await _patient(session, principal, content, practice_id)
        mapped.paths["patient_id"] = patient_path
        coverage_id = await _coverage(session, principal, content, patient_id)
        body = EncounterIn.model_validate(
            {**mapped.fields, "practice_id": practice_id, "provider_id": provider_id, "patient_id": patient_id}
        )
        accepted, created = await receive_encounter(session, principal, body, correlation_id, releases)
    except ValidationError as error:
        raise refuse(*[(native_to_fhir_path(e["loc"], mapped.paths), e["msg"]) for e in error.errors()]) from None
    except Problem as problem:
        if problem.status != 422:
            raise
        raise refuse(
            *[(native_to_fhir_path(str(e["field"]).split("."), mapped.paths), e["reason"]) for e in problem.errors]
        ) from None
    return FhirBundleAccepted(**accepted.model_dump(), patient_id=patient_id, coverage_id=coverage_id), created
