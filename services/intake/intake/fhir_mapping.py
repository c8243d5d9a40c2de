"""FHIR R4 transaction Bundles to the native encounter model: parsing, paths for errors, pure mapping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from intake import domain
from shared.dates import CalendarDate
from shared.events.reference import Address
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


def fhir_path(location: Sequence[int | str]) -> str:
    """A pydantic error location as a FHIR path: entry[2].resource.code.coding[0].code."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "Bundle"


def refuse(*errors: tuple[str, str]) -> Problem:
    """A 422 naming FHIR paths."""
    return Problem(
        422,
        "FHIR Bundle is invalid",
        "; ".join(f"{path}: {reason}" for path, reason in errors),
        errors=[{"field": path, "reason": reason} for path, reason in errors],
        problem_type="urn:claimflow:problem:validation",
    )


def parse_bundle(document: Any) -> Bundle:
    """An R4 Bundle, or a 422 naming the FHIR path of each problem."""
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise refuse(("resourceType", "must be 'Bundle'"))
    for index, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str) or kind not in ACCEPTED_TYPES:
            raise refuse(
                (f"entry[{index}].resource.resourceType", f"must be one of {', '.join(sorted(ACCEPTED_TYPES))}")
            )
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as error:
        raise refuse(*[(fhir_path(e["loc"]), e["msg"]) for e in error.errors()[:20]]) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise refuse(("Bundle", f"not a valid FHIR R4 Bundle ({type(error).__name__})")) from None
    if bundle.type != "transaction":
        raise refuse(("type", "must be 'transaction'"))
    return bundle


@dataclass
class Located:
    """A resource of the Bundle with its FHIR path."""

    path: str
    resource: Any


@dataclass
class BundleContent:
    """The Bundle's resources by type, and how references resolve to them."""

    by_type: dict[str, list[Located]] = field(default_factory=dict)
    by_reference: dict[str, Located] = field(default_factory=dict)

    def one(self, kind: str) -> Located:
        """The single resource of a type, or a 422."""
        found = self.by_type.get(kind, [])
        if len(found) != 1:
            raise refuse(("entry", f"the Bundle must hold exactly one {kind} (found {len(found)})"))
        return found[0]

    def resolve(self, reference: Any) -> Located | None:
        """The Bundle entry a Reference points at (by fullUrl or Type/id)."""
        target = getattr(reference, "reference", None)
        return self.by_reference.get(target) if target else None


def index_bundle(bundle: Bundle) -> BundleContent:
    """Resources of a Bundle by type and reference."""
    content = BundleContent()
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if resource is None:
            raise refuse((f"entry[{index}].resource", "every entry needs a resource"))
        located = Located(f"entry[{index}].resource", resource)
        kind = resource.get_resource_type()
        content.by_type.setdefault(kind, []).append(located)
        if entry.fullUrl:
            content.by_reference[entry.fullUrl] = located
        if resource.id:
            content.by_reference[f"{kind}/{resource.id}"] = located
    return content


def identifier_of(holder: Any, system: str | None = None) -> str | None:
    """An identifier value of a resource or Reference (of one system when given)."""
    identifiers = getattr(holder, "identifier", None)
    if identifiers is None:
        return None
    if not isinstance(identifiers, list):
        identifiers = [identifiers]
    for identifier in identifiers:
        if identifier.value and (system is None or identifier.system == system):
            return str(identifier.value)
    return None


def npi_of(reference: Any, content: BundleContent) -> str | None:
    """The NPI of a Reference: its own identifier, or the identifier of the Bundle entry it points at."""
    npi = identifier_of(reference, NPI_SYSTEM)
    target = content.resolve(reference)
    return npi or (identifier_of(target.resource, NPI_SYSTEM) if target else None)


def fhir_date(value: Any) -> date | None:
    """The calendar date of a FHIR date or dateTime as written (no time-zone shift)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


class PersonIn(BaseModel):
    """Demographics taken from a FHIR Patient or RelatedPerson."""

    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: CalendarDate
    sex: str
    address: Address


def person(located: Located) -> dict[str, Any]:
    """Name, birth date, sex and address of a Patient or RelatedPerson, or a 422 naming the path."""
    resource = located.resource
    name = (resource.name or [None])[0]
    address = (resource.address or [None])[0]
    attributes = {
        "first_name": (name.given or [""])[0] if name else "",
        "last_name": (name.family or "") if name else "",
        "birth_date": resource.birthDate,
        "sex": SEX.get(resource.gender or "unknown", "U"),
        "address": {
            "line1": (address.line or [""])[0] if address else "",
            "line2": (address.line or ["", None])[1] if address and len(address.line or []) > 1 else None,
            "city": (address.city or "") if address else "",
            "state": (address.state or "") if address else "",
            "postal_code": (address.postalCode or "") if address else "",
        },
    }
    fhir_names = {
        "first_name": "name[0].given[0]",
        "last_name": "name[0].family",
        "birth_date": "birthDate",
        "address": "address[0]",
    }
    try:
        return PersonIn.model_validate(attributes).model_dump(mode="json")
    except ValidationError as error:
        problems = []
        for e in error.errors():
            top = str(e["loc"][0])
            problems.append((f"{located.path}.{fhir_names.get(top, top)}", e["msg"]))
        raise refuse(*problems) from None


@dataclass
class MappedEncounter:
    """A Bundle's Encounter as native fields, with the FHIR path of each field for error messages."""

    fields: dict[str, Any]
    paths: dict[str, str]


def map_encounter(content: BundleContent, practice_path: str) -> MappedEncounter:
    """Native encounter fields from the Encounter and its Conditions (practice, provider, patient ids added later)."""
    located = content.one("Encounter")
    encounter, path = located.resource, located.path
    paths = {"ehr_encounter_id": f"{path}.identifier", "date_of_service": f"{path}.period.start"}
    if encounter.status in REFUSED_STATUSES:
        raise refuse((f"{path}.status", f"an encounter with status '{encounter.status}' cannot be billed"))
    ehr_encounter_id = identifier_of(encounter)
    if not ehr_encounter_id:
        raise refuse((paths["ehr_encounter_id"], "the EHR's encounter identifier is required"))
    date_of_service = fhir_date(encounter.period.start if encounter.period else None)
    if date_of_service is None:
        raise refuse((paths["date_of_service"], "the date of service is required"))
    place = CLASS_TO_PLACE.get(encounter.class_fhir.code or "")
    if place is None:
        raise refuse((f"{path}.class.code", "must be AMB (in person) or VR (virtual)"))
    fields: dict[str, Any] = {
        "ehr_encounter_id": ehr_encounter_id,
        "date_of_service": date_of_service.isoformat(),
        "place_of_care": place,
    }
    for coding in (encounter.serviceType.coding or []) if encounter.serviceType else []:
        if coding.code in LENGTH_KIND or coding.code in domain.LIKELY_CODES:
            fields["service_type"] = coding.code
            paths["service_type"] = f"{path}.serviceType"
    minutes: dict[str, int] = {}
    flags: dict[str, Any] = {}
    for index, extension in enumerate(encounter.extension or []):
        if extension.url != BILLING_EXTENSION:
            continue
        for sub_index, detail in enumerate(extension.extension or []):
            value = _extension_value(detail)
            detail_path = f"{path}.extension[{index}].extension[{sub_index}]"
            name = detail.url or ""
            if name.startswith("minutes."):
                minutes[name.removeprefix("minutes.")] = value
                paths[f"minutes.{name.removeprefix('minutes.')}"] = detail_path
            elif name in {"service_type", "place_of_care", "patient_at_home", "mdm_level"}:
                fields[name] = value
                paths[name] = detail_path
            elif name == "same_day_services":
                flags.setdefault(name, []).append(value)
                paths[f"flags.{name}"] = detail_path
            else:
                flags[name] = value
                paths[f"flags.{name}"] = detail_path
    kind = LENGTH_KIND.get(str(fields.get("service_type", "psychotherapy")))
    if not minutes and kind and encounter.length is not None and encounter.length.value is not None:
        minutes[kind] = int(encounter.length.value)
        paths[f"minutes.{kind}"] = f"{path}.length"
    fields["minutes"] = minutes
    fields["flags"] = flags
    fields["diagnoses"], diagnosis_paths = _diagnoses(content, located)
    paths.update({f"diagnoses.{i}": p for i, p in enumerate(diagnosis_paths)})
    paths["practice_id"] = practice_path
    return MappedEncounter(fields, paths)


def _extension_value(extension: Any) -> Any:
    """The value[x] of an extension, whatever its type."""
    for name in ("valueCode", "valueString", "valueBoolean", "valueInteger", "valueUnsignedInt", "valuePositiveInt"):
        value = getattr(extension, name, None)
        if value is not None:
            return value
    return None


def _diagnoses(content: BundleContent, encounter: Located) -> tuple[list[str], list[str]]:
    """ICD-10-CM codes in Encounter.diagnosis rank order (else Condition order), with their FHIR paths."""
    ranked = []
    for index, diagnosis in enumerate(encounter.resource.diagnosis or []):
        target = content.resolve(diagnosis.condition)
        if target is None or target.resource.get_resource_type() != "Condition":
            raise refuse((f"{encounter.path}.diagnosis[{index}].condition", "must reference a Condition of the Bundle"))
        ranked.append((diagnosis.rank or 10_000 + index, target))
    conditions = [c for _, c in sorted(ranked, key=lambda r: r[0])] if ranked else content.by_type.get("Condition", [])
    if not conditions:
        raise refuse(("entry", "the Bundle holds no Condition with an ICD-10-CM code"))
    codes, paths = [], []
    for condition in conditions:
        codings = condition.resource.code.coding if condition.resource.code else None
        for index, coding in enumerate(codings or []):
            if coding.system == ICD10CM_SYSTEM and coding.code:
                codes.append(str(coding.code))
                paths.append(f"{condition.path}.code.coding[{index}].code")
                break
        else:
            raise refuse((f"{condition.path}.code.coding", f"needs a coding with system {ICD10CM_SYSTEM}"))
    return codes, paths


def _cents(amount: Any) -> str:
    """A money amount with two decimals (JSON numbers lose trailing zeros)."""
    return str(Decimal(str(amount)).quantize(Decimal("0.01")))


def cost_share_of(coverage: Any) -> dict[str, str | None]:
    """Copay, coinsurance percent and deductible from Coverage.costToBeneficiary (copay, copaypct, deductible)."""
    shares: dict[str, str | None] = {"copay": None, "coinsurance_percent": None, "deductible": None}
    for cost in coverage.costToBeneficiary or []:
        codes = {c.code for c in (cost.type.coding or [])} if cost.type else set()
        money = cost.valueMoney.value if cost.valueMoney else None
        quantity = cost.valueQuantity.value if cost.valueQuantity else None
        if "copay" in codes and money is not None:
            shares["copay"] = _cents(money)
        elif "copaypct" in codes and quantity is not None:
            shares["coinsurance_percent"] = str(quantity)
        elif "deductible" in codes and money is not None:
            shares["deductible"] = _cents(money)
    return shares


def preferred_identifier(resource: Any) -> str | None:
    """The medical record number (identifier type MR) of a Patient, else its first identifier."""
    for identifier in resource.identifier or []:
        codings = identifier.type.coding if identifier.type else []
        if identifier.value and any(c.code == "MR" for c in codings or []):
            return str(identifier.value)
    return identifier_of(resource)


def native_to_fhir_path(location: Sequence[int | str], paths: dict[str, str]) -> str:
    """The FHIR path of a native field (the longest mapped prefix), else the native name."""
    parts = [str(p) for p in location]
    for length in range(len(parts), 0, -1):
        mapped = paths.get(".".join(parts[:length]))
        if mapped:
            return mapped
    return ".".join(parts) or "Bundle"
