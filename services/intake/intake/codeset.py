"""ICD-10-CM code sets by fiscal year: the packaged FY2026 tabular and CMS release files loaded from settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from intake import domain
from shared.dates import CalendarDate

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
    return CodeSet("FY2026", domain.PACKAGED_CODE_SET_START, domain.PACKAGED_CODE_SET_END, lookup)


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
