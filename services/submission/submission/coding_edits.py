"""Coding and claim-data edits of the scrubber (DOMAIN.md section 4): same-day pairs, add-ons and daily units,
ICD-10-CM diagnoses and pointers, service lines, provider and billing identifiers, and duplicates.

Each edit is a pure function `(ScrubInput) -> list[ScrubEdit]` over the claim's own content and its history;
`scrubber.SCRUBBER_EDITS` decides the order they run in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date

from shared import icd10
from shared.events.charge import ChargeLine
from shared.events.claim import ScrubEdit
from submission import rules
from submission.domain import npi_is_valid
from submission.scrub_input import ScrubInput, error_finding, warning_finding

MAX_DIAGNOSES = icd10.MAX_DIAGNOSES
MAX_POINTERS_PER_LINE = 4
TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")


def _has_bypass(lines: Sequence[ChargeLine], *codes: str) -> bool:
    """Whether a line of any of the codes carries a modifier that may bypass a modifier-indicator-1 pair."""
    return any(set(line.modifiers) & rules.BYPASS_MODIFIERS for line in lines if line.procedure_code in codes)


def edit_coding_pairs(scrub: ScrubInput, pairs: Sequence[rules.SameDayPair] = rules.SAME_DAY_PAIRS) -> list[ScrubEdit]:
    """Same-day pairs (DOMAIN.md 3.9), add-ons without their primary, and units over the daily maximum."""
    charge = scrub.charge
    dos = charge.date_of_service
    lines = charge.lines
    codes = set(scrub.codes)
    same_day_elsewhere = {
        code
        for visit in scrub.history.prior_visits
        if visit.date_of_service == dos and visit.provider_id == charge.provider.provider_id
        for code in visit.procedure_codes
    }
    edits: list[ScrubEdit] = []
    seen: set[frozenset[str]] = set()
    for pair in pairs:
        key = frozenset((pair.column_one, pair.column_two))
        if key in seen or not pair.in_force(dos):
            continue
        if pair.column_one in codes and pair.column_two in codes:
            if pair.modifier_indicator == 1 and _has_bypass(lines, pair.column_one, pair.column_two):
                continue
            seen.add(key)
            edits.append(
                error_finding("PAIR-SAME-DAY", f"{pair.column_one} and {pair.column_two} on one date: {pair.rationale}")
            )
        elif pair.modifier_indicator == 0 and (
            (pair.column_one in codes and pair.column_two in same_day_elsewhere)
            or (pair.column_two in codes and pair.column_one in same_day_elsewhere)
        ):
            seen.add(key)
            edits.append(
                error_finding(
                    "PAIR-SAME-DAY",
                    f"{pair.column_one} and {pair.column_two} by the same provider on one date (one of them on "
                    f"another claim): {pair.rationale}",
                )
            )
    modifier_25 = any("25" in line.modifiers for line in lines if line.procedure_code in rules.OFFICE_EM)
    if "G2211" in codes and modifier_25 and not codes & set(rules.G2211_MODIFIER_25_EXCEPTIONS):
        edits.append(
            error_finding(
                "PAIR-SAME-DAY",
                "+G2211 is not payable with an E/M carrying modifier 25 unless the other service is an annual "
                "wellness visit, vaccine administration or a Medicare preventive service",
            )
        )
    for code in sorted(codes & set(rules.ADD_ON_PRIMARIES)):
        if not codes & set(rules.ADD_ON_PRIMARIES[code]):
            edits.append(
                error_finding("ADD-ON-NO-PRIMARY", f"+{code} is an add-on code and the claim has no primary for it")
            )
    units = Counter[str]()
    for line in lines:
        units[line.procedure_code] += line.units
    for code, count in sorted(units.items()):
        maximum = rules.DAILY_MAX_UNITS.get(code)
        if maximum is not None and count > maximum:
            edits.append(
                error_finding(
                    "UNITS-DAILY-MAX", f"{code} is billed for {count} units; at most {maximum} per patient per day"
                )
            )
    return edits


def edit_diagnosis(scrub: ScrubInput) -> list[ScrubEdit]:
    """Diagnoses present (at most 12), each a billable ICD-10-CM code of the release in force on the date of service
    (shared.icd10, as intake checks them), every line pointing at 1–4 of them."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    count = len(charge.diagnoses)
    if count == 0 or not all(code.strip() for code in charge.diagnoses):
        edits.append(
            error_finding("DX-MISSING", "the claim has no diagnosis code; every claim needs a principal diagnosis")
        )
    if count > MAX_DIAGNOSES:
        edits.append(error_finding("DX-TOO-MANY", f"{count} diagnoses; a professional claim carries at most 12"))
    if charge.date_of_service < icd10.ICD10_START:
        edits.append(
            error_finding("DX-INVALID", "dates of service before 2015-10-01 need ICD-9, which is not accepted")
        )
    else:
        edits += _code_edits(charge.diagnoses, charge.date_of_service, scrub.code_sets)
    for line in charge.lines:
        pointers = line.diagnosis_pointers
        if not pointers or len(pointers) > MAX_POINTERS_PER_LINE:
            edits.append(error_finding("DX-POINTER", f"line {line.line_number} must point at 1 to 4 diagnoses"))
        elif any(pointer < 1 or pointer > count for pointer in pointers):
            edits.append(
                error_finding(
                    "DX-POINTER",
                    f"line {line.line_number} points at diagnosis {max(pointers)} but the claim has {count}",
                )
            )
    return edits


def _code_edits(diagnoses: Sequence[str], on: date, releases: Sequence[icd10.CodeRelease]) -> list[ScrubEdit]:
    """Each diagnosis against the release in force on the date of service: a non-code or a code of another release
    is invalid, a category not billable, a leaf of the nearest release (the one in force not loaded) a warning."""
    edits: list[ScrubEdit] = []
    pending = False
    for position, code in enumerate(diagnoses, start=1):
        if not code.strip():
            continue
        finding = icd10.diagnosis_finding(icd10.normalize_diagnosis(code), on, releases)
        if finding.outcome == "billable":
            continue
        if finding.reason_code == "DX-NOT-BILLABLE":
            edits.append(
                error_finding(
                    "DX-NOT-BILLABLE",
                    f"diagnosis {position} ({code}) is a category, not a billable code; use a more specific code",
                )
            )
        elif finding.reason_code == "DX-CODE-SET-PENDING" and finding.billable_in_release:
            pending = True
        else:
            why = finding.reason or "not an ICD-10-CM code"
            edits.append(error_finding("DX-INVALID", f"diagnosis {position} ({code}) is not valid: {why}"))
    if pending:
        edits.append(
            warning_finding(
                "DX-CODE-SET",
                "diagnoses were checked against the nearest ICD-10-CM code set; no code set for this date of service "
                "is loaded yet",
            )
        )
    return edits


def edit_lines(scrub: ScrubInput) -> list[ScrubEdit]:
    """A claim needs at least one service line with a positive charge."""
    charge = scrub.charge
    if not charge.lines:
        return [error_finding("LINES-MISSING", "the claim has no service lines")]
    return [
        error_finding("LINE-AMOUNT", f"line {line.line_number} has a charge of {line.amount}; charges must be positive")
        for line in charge.lines
        if line.amount <= 0
    ]


def edit_provider_data(scrub: ScrubInput) -> list[ScrubEdit]:
    """Rendering and billing NPIs pass the Luhn check; taxonomy codes well formed; a 9-digit TIN."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    if not npi_is_valid(charge.provider.npi):
        edits.append(
            error_finding("PROV-NPI", "the rendering provider's NPI fails the NPI check digit (Luhn, prefix 80840)")
        )
    if not npi_is_valid(charge.practice.npi):
        edits.append(
            error_finding("BILL-NPI", "the billing practice's NPI fails the NPI check digit (Luhn, prefix 80840)")
        )
    if not TAXONOMY.match(charge.provider.taxonomy.strip().upper()):
        edits.append(error_finding("PROV-TAXONOMY", "the rendering provider has no valid 10-character taxonomy code"))
    if not TAXONOMY.match(charge.practice.taxonomy.strip().upper()):
        edits.append(error_finding("BILL-TAXONOMY", "the billing practice has no valid 10-character taxonomy code"))
    tin = charge.practice.tin.replace("-", "")
    if len(tin) != 9 or not tin.isdigit():
        edits.append(error_finding("BILL-TIN", "the billing practice's tax id must be 9 digits"))
    return edits


def edit_duplicate(scrub: ScrubInput) -> list[ScrubEdit]:
    """The same service (patient, date, code, provider) has not already been billed to this payer."""
    charge = scrub.charge
    codes = set(scrub.codes)
    for visit in scrub.history.prior_visits:
        if visit.charge_id == charge.charge_id:
            continue
        if visit.date_of_service != charge.date_of_service or visit.provider_id != charge.provider.provider_id:
            continue
        repeated = sorted(codes & set(visit.procedure_codes))
        if repeated:
            return [
                error_finding(
                    "DUPLICATE",
                    f"{', '.join(repeated)} for this patient, provider and date is already billed on claim "
                    f"{visit.claim_id}; correct that claim instead of sending a new one",
                )
            ]
    return []
