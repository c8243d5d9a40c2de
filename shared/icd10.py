"""ICD-10-CM, the diagnosis code set of every claim (DOMAIN.md 3.10): its releases by fiscal year (the packaged FY2026
tabular and CMS release files named in settings) and what the standard says of a code on a date of service.

This is the contract of every diagnosis field, like an X12 code list: a string that no release knows is not an
ICD-10-CM code, and a code is valid for a date of service only in the release in force on that date, billable only
as a leaf. Intake (a visit's diagnoses) and submission (a person's claim correction, the scrubber) read it alike;
what each does with a finding (refuse the request, hold the visit for coding review, hold the claim) is theirs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.dates import CalendarDate

# The packaged ICD-10-CM tabular (simple-icd-10-cm) is the FY2026 set, valid 2025-10-01 to 2026-09-30.
PACKAGED_CODE_SET_START = date(2025, 10, 1)
PACKAGED_CODE_SET_END = date(2026, 9, 30)
ICD10_START = date(2015, 10, 1)
# A professional claim carries at most 12 diagnoses (837P HI).
MAX_DIAGNOSES = 12

# ICD-10-CM shape: letter, digit, letter or digit, then up to four more characters after the dot.
_ICD10_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


class CodeRelease(Protocol):
    """An ICD-10-CM release in force for a range of dates of service."""

    @property
    def label(self) -> str:
        """The fiscal year label, e.g. FY2026."""

    @property
    def valid_from(self) -> date:
        """First date of service the release is in force for."""

    @property
    def valid_to(self) -> date:
        """Last date of service the release is in force for."""

    def billable(self, code: str) -> bool | None:
        """True billable, False category only, None not in the release."""


@dataclass(frozen=True)
class DiagnosisFinding:
    """What the code set says of one diagnosis on a date of service: a billable code (`billable`), a code that cannot
    be billed as it is or not confirmed for that date (`held`, with the reason), or no ICD-10-CM code (`refused`)."""

    outcome: Literal["billable", "held", "refused"]
    reason_code: str = ""
    reason: str = ""
    # A leaf of the release the code was checked against (the one in force, or the nearest while that is not loaded).
    billable_in_release: bool = False


def normalize_diagnosis(code: str) -> str:
    """An ICD-10-CM code in its dotted upper-case form (F411 and f41.1 both become F41.1)."""
    compact = code.strip().upper().replace(".", "")
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


def diagnosis_finding(code: str, date_of_service: date, releases: Sequence[CodeRelease]) -> DiagnosisFinding:
    """Check a dotted ICD-10-CM code against the release in force on the date of service (DOMAIN.md 3.10).

    A code no release knows is refused; a category code, a code of another release than the one in force, and any
    code checked against a release that does not cover the date of service are accepted and held with the reason.
    """
    if not _ICD10_SHAPE.match(code):
        return DiagnosisFinding("refused", reason=f"'{code}' is not an ICD-10-CM code")
    ordered = sorted(releases, key=lambda r: (r.valid_from, r.valid_to))
    in_force = [r for r in ordered if r.valid_from <= date_of_service <= r.valid_to]
    if in_force:
        release = in_force[-1]
        status = release.billable(code)
        if status is True:
            return DiagnosisFinding("billable", billable_in_release=True)
        if status is False:
            return _category_hold(code, release.label)
        if any(r.billable(code) is not None for r in ordered):
            return DiagnosisFinding(
                "held",
                "DX-NOT-VALID-ON-DATE",
                f"diagnosis {code} is not in the {release.label} ICD-10-CM code set in force on {date_of_service}",
            )
        return DiagnosisFinding("refused", reason=f"'{code}' exists in no ICD-10-CM code set")
    earlier = [r for r in ordered if r.valid_from <= date_of_service]
    release = earlier[-1] if earlier else ordered[0]
    pending = f"the code set in force on {date_of_service} is not loaded; checked against {release.label}"
    status = release.billable(code)
    if status is True:
        return DiagnosisFinding("held", "DX-CODE-SET-PENDING", f"diagnosis {code}: {pending}", billable_in_release=True)
    if status is False:
        return _category_hold(code, release.label, pending)
    if any(r.billable(code) is not None or r.billable(code[:3]) is not None for r in ordered):
        # An unknown code under a known category may be new in the release that is not loaded yet.
        return DiagnosisFinding(
            "held", "DX-CODE-SET-PENDING", f"diagnosis {code} is unknown to {release.label}; {pending}"
        )
    return DiagnosisFinding("refused", reason=f"'{code}' exists in no ICD-10-CM code set")


def _category_hold(code: str, label: str, note: str = "") -> DiagnosisFinding:
    """The hold of a category code, which is never billable on a claim."""
    reason = f"diagnosis {code} is a category in {label}, not a billable code"
    return DiagnosisFinding("held", "DX-NOT-BILLABLE", f"{reason}; {note}" if note else reason)


# CMS "icd10cm-order-<year>.txt": order number, code, header flag (0 = category, 1 = billable), descriptions.
_ORDER_LINE = re.compile(r"^\d{5} +([A-Z][0-9][0-9A-Z]{1,5}) +([01])(?: |$)")
# CMS "icd10cm-codes-<year>.txt": code without the dot, spaces, description; every listed code is billable.
_CODES_LINE = re.compile(r"^([A-Z][0-9][0-9A-Z]{1,5})(?: +|$)")


@dataclass(frozen=True)
class CodeSet:
    """One ICD-10-CM release and the dates of service it is in force for."""

    label: str
    valid_from: CalendarDate
    valid_to: CalendarDate
    lookup: Callable[[str], bool | None]

    def billable(self, code: str) -> bool | None:
        """True for a billable code, False for a category (header) code, None when the release lacks it."""
        return self.lookup(code)


def parse_cms_release(lines: Iterable[str]) -> dict[str, bool]:
    """Codes of a CMS release file (order or codes format), keyed without the dot, valued billable or not.

    The codes file lists billable codes only, so every shorter prefix of a listed code (from the 3-character
    category on) is taken as a category of that release.
    """
    codes: dict[str, bool] = {}
    for line in lines:
        text = line.rstrip("\r\n").upper()
        if not text.strip():
            continue
        order = _ORDER_LINE.match(text)
        if order:
            codes[order.group(1)] = order.group(2) == "1"
            continue
        listed = _CODES_LINE.match(text)
        if listed is None:
            raise ValueError(f"not a CMS ICD-10-CM release line: {text[:40]!r}")
        code = listed.group(1)
        codes[code] = True
        for length in range(3, len(code)):
            codes.setdefault(code[:length], False)
    return codes


def release_code_set(label: str, valid_from: CalendarDate, valid_to: CalendarDate, codes: dict[str, bool]) -> CodeSet:
    """A code set over the codes of a parsed release file."""

    def lookup(code: str) -> bool | None:
        return codes.get(code.replace(".", ""))

    return CodeSet(label, valid_from, valid_to, lookup)


def packaged_code_set() -> CodeSet:
    """The FY2026 tabular shipped by simple-icd-10-cm (in force 2025-10-01 to 2026-09-30)."""
    import simple_icd_10_cm as tabular

    def lookup(code: str) -> bool | None:
        if not tabular.is_valid_item(code):
            return None
        return bool(tabular.is_leaf(code))

    lookup("F41.1")  # loads the tabular now rather than on the first request
    return CodeSet("FY2026", PACKAGED_CODE_SET_START, PACKAGED_CODE_SET_END, lookup)


class CodeFile(BaseModel):
    """A CMS release file to load, with the fiscal year it belongs to and its validity dates."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: int = Field(ge=2016, le=2100)
    path: Path
    valid_from: CalendarDate | None = Field(default=None, description="Defaults to October 1 before the fiscal year")
    valid_to: CalendarDate | None = Field(default=None, description="Defaults to September 30 of the fiscal year")


class CodeSetSettings(BaseSettings):
    """Where newer ICD-10-CM releases come from: CLAIMFLOW_ICD10_CODE_FILES, a JSON list of CodeFile."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", extra="ignore")

    icd10_code_files: list[CodeFile] = Field(default_factory=list)


def load_code_sets(files: list[CodeFile] | None = None) -> tuple[CodeSet, ...]:
    """The packaged set plus every configured release file, ordered by the date each comes into force."""
    configured = CodeSetSettings().icd10_code_files if files is None else files
    sets = [packaged_code_set()]
    for file in configured:
        with file.path.open(encoding="latin-1") as lines:
            codes = parse_cms_release(lines)
        sets.append(
            release_code_set(
                f"FY{file.fiscal_year}",
                file.valid_from or date(file.fiscal_year - 1, 10, 1),
                file.valid_to or date(file.fiscal_year, 9, 30),
                codes,
            )
        )
    return tuple(sorted(sets, key=lambda s: (s.valid_from, s.valid_to)))


def diagnosis_list_problems(
    diagnoses: Sequence[str], date_of_service: date, releases: Sequence[CodeRelease], *, field: str = "diagnoses"
) -> tuple[list[str], list[DiagnosisFinding], list[tuple[str, str]]]:
    """A list of diagnoses checked as a whole: the codes in dotted form, the finding of each, and the problems that
    make the list no list of ICD-10-CM codes for the date of service ((field path, reason): a date of service before
    ICD-10-CM, a string that is no code, a code listed twice, more than 12)."""
    if date_of_service < ICD10_START:
        return [], [], [("date_of_service", "ICD-10-CM requires dates of service from 2015-10-01")]
    problems: list[tuple[str, str]] = []
    findings: list[DiagnosisFinding] = []
    codes: list[str] = []
    if len(diagnoses) > MAX_DIAGNOSES:
        problems.append((field, f"{len(diagnoses)} diagnoses; a claim carries at most {MAX_DIAGNOSES}"))
    for index, raw in enumerate(diagnoses):
        code = normalize_diagnosis(raw)
        if code in codes:
            problems.append((f"{field}.{index}", f"'{code}' is listed twice"))
            continue
        codes.append(code)
        finding = diagnosis_finding(code, date_of_service, releases)
        findings.append(finding)
        if finding.outcome == "refused":
            problems.append((f"{field}.{index}", finding.reason))
    return codes, findings, problems


@cache
def configured_code_sets() -> tuple[CodeSet, ...]:
    """The code sets of this process's settings, loaded once (the tabular takes a second to read)."""
    return load_code_sets()
