"""A person's claim correction checked before anything is stored, as intake checks the same facts on a visit:
diagnoses against the ICD-10-CM release in force on the claim's date of service (shared.icd10), and lines whose
numbers are distinct and whose diagnosis pointers point at the claim's diagnoses.

What passes here may still be held by the scrubber (a category diagnosis, a pair of codes): like intake, a
correction refuses what is no claim data at all and lets the scrubber judge whether the claim can go out.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from shared import icd10
from shared.problems import Problem


def checked_correction(
    changes: dict[str, Any], *, date_of_service: date, diagnoses: list[str], lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """The correction with its diagnoses in dotted form, or a 422 naming every field that is wrong.

    `diagnoses` and `lines` are the claim's current ones, kept where the correction does not replace them."""
    problems: list[tuple[str, str]] = []
    checked = dict(changes)
    if changes.get("diagnoses") is not None:
        codes, _, found = icd10.diagnosis_list_problems(
            changes["diagnoses"], date_of_service, icd10.configured_code_sets()
        )
        problems += found
        checked["diagnoses"] = codes
        diagnoses = codes
    corrected = changes.get("lines")
    if corrected is not None:
        repeated = {n for n, times in Counter(line["line_number"] for line in corrected).items() if times > 1}
        for index, line in enumerate(corrected):
            if line["line_number"] in repeated:
                problems.append((f"lines.{index}.line_number", f"line {line['line_number']} is listed twice"))
            problems += _pointer_problems(f"lines.{index}.diagnosis_pointers", line["diagnosis_pointers"], diagnoses)
    elif changes.get("diagnoses") is not None:
        problems += _kept_pointer_problems(lines, diagnoses)
    if problems:
        raise Problem(
            422,
            "Request is invalid",
            "; ".join(f"{field}: {reason}" for field, reason in problems),
            errors=[{"field": field, "reason": reason} for field, reason in problems],
            problem_type="urn:claimflow:problem:validation",
        )
    return checked


def _pointer_problems(field: str, pointers: list[int], diagnoses: list[str]) -> list[tuple[str, str]]:
    """A line's pointers name diagnoses of the claim (1 to its count), each once."""
    problems = []
    seen: set[int] = set()
    for index, pointer in enumerate(pointers):
        if not 1 <= pointer <= len(diagnoses):
            problems.append((f"{field}.{index}", f"points at diagnosis {pointer}; the claim has {len(diagnoses)}"))
        elif pointer in seen:
            problems.append((f"{field}.{index}", f"points at diagnosis {pointer} twice"))
        seen.add(pointer)
    return problems


def _kept_pointer_problems(lines: list[dict[str, Any]], diagnoses: list[str]) -> list[tuple[str, str]]:
    """Lines kept as they are still point at the corrected diagnoses."""
    beyond = sorted({p for line in lines for p in line["diagnosis_pointers"] if p > len(diagnoses)})
    if not beyond:
        return []
    return [
        (
            "diagnoses",
            f"the claim's lines point at diagnosis {beyond[-1]} and the correction leaves {len(diagnoses)}; correct "
            "the lines too",
        )
    ]
