"""Coding rules as data: loads the versioned, effective-dated files under coding/rules/ into a rule book."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

RULE_FILES = ("time_bands", "add_ons", "preventive", "telehealth", "units", "policy")


@dataclass(frozen=True)
class PairEdit:
    """One procedure-to-procedure edit, shaped like a row of the CMS NCCI PTP file."""

    column_1: str
    column_2: str
    effective_date: date
    deletion_date: date | None
    modifier_indicator: int
    scope: str
    rationale: str

    def in_force(self, on: date) -> bool:
        """Whether the edit applies to a date of service."""
        return self.effective_date <= on and (self.deletion_date is None or on < self.deletion_date)


@dataclass(frozen=True)
class FeeEntry:
    """A charge amount for a code (and optional modifier), effective-dated."""

    code: str
    modifier: str | None
    amount: Decimal
    effective_from: date
    effective_to: date | None
    payer_id: str | None = None

    def in_force(self, on: date) -> bool:
        """Whether the fee applies to a date of service (both ends inclusive)."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@dataclass(frozen=True)
class RuleBook:
    """Every rule in force on one date of service."""

    on: date
    time_bands: dict[str, Any]
    add_ons: dict[str, frozenset[str]]
    interactive_complexity: dict[str, Any]
    longitudinal_care: dict[str, Any]
    preventive: dict[str, Any]
    telehealth: dict[str, Any]
    max_units: dict[str, int]
    policy: dict[str, Any]
    pairs: tuple[PairEdit, ...]
    default_fees: tuple[FeeEntry, ...]

    def is_add_on(self, code: str) -> bool:
        """Whether a code is an add-on that needs a primary on the same claim."""
        return code in self.add_ons


def expand_codes(specs: list[str]) -> frozenset[str]:
    """Codes from a list that may hold numeric ranges such as "90832-90838"."""
    codes: set[str] = set()
    for spec in specs:
        first, _, last = str(spec).partition("-")
        if last and first.isdigit() and last.isdigit():
            codes.update(str(number) for number in range(int(first), int(last) + 1))
        else:
            codes.add(str(spec))
    return frozenset(codes)


def parse_versions(text: str) -> list[dict[str, Any]]:
    """The version blocks of a rule file, oldest first."""
    document = yaml.safe_load(text) or {}
    versions = [dict(block) for block in document.get("versions", [])]
    for block in versions:
        block["effective_from"] = _as_date(block["effective_from"])
    return sorted(versions, key=lambda block: block["effective_from"])


def in_force(versions: list[dict[str, Any]], on: date) -> dict[str, Any]:
    """The version in force on a date: the latest one that started on or before it (else the oldest)."""
    current = [block for block in versions if block["effective_from"] <= on]
    return current[-1] if current else versions[0]


def parse_pair_edits(text: str) -> tuple[PairEdit, ...]:
    """Pair edits from CSV text with NCCI-style dates (YYYYMMDD, '*' for no deletion date)."""
    edits = []
    for row in csv.DictReader(io.StringIO(text)):
        deletion = row["deletion_date"].strip()
        edits.append(
            PairEdit(
                column_1=row["column_1"].strip(),
                column_2=row["column_2"].strip(),
                effective_date=_ncci_date(row["effective_date"]),
                deletion_date=None if deletion in ("", "*") else _ncci_date(deletion),
                modifier_indicator=int(row["modifier_indicator"]),
                scope=(row.get("scope") or "same_provider_day").strip(),
                rationale=(row.get("rationale") or "").strip(),
            )
        )
    return tuple(edits)


def parse_fee_schedule(text: str) -> tuple[FeeEntry, ...]:
    """Fee entries from CSV text (code, modifier, amount, effective_from, effective_to)."""
    return tuple(
        FeeEntry(
            code=row["code"].strip(),
            modifier=row["modifier"].strip() or None,
            amount=Decimal(row["amount"]),
            effective_from=date.fromisoformat(row["effective_from"]),
            effective_to=date.fromisoformat(row["effective_to"]) if row["effective_to"].strip() else None,
        )
        for row in csv.DictReader(io.StringIO(text))
    )


def build_rule_book(
    on: date,
    files: dict[str, list[dict[str, Any]]],
    pairs: tuple[PairEdit, ...],
    fees: tuple[FeeEntry, ...],
) -> RuleBook:
    """The rule book for a date from parsed rule files."""
    chosen = {name: in_force(versions, on) for name, versions in files.items()}
    add_on_block = chosen["add_ons"]
    return RuleBook(
        on=on,
        time_bands=chosen["time_bands"],
        add_ons={code: expand_codes(primaries) for code, primaries in add_on_block["add_ons"].items()},
        interactive_complexity=add_on_block["interactive_complexity"],
        longitudinal_care=add_on_block["longitudinal_care"],
        preventive=chosen["preventive"],
        telehealth=chosen["telehealth"],
        max_units={str(code): int(units) for code, units in chosen["units"]["max_units_per_day"].items()},
        policy=chosen["policy"],
        pairs=tuple(edit for edit in pairs if edit.in_force(on)),
        default_fees=tuple(fee for fee in fees if fee.in_force(on)),
    )


@cache
def _packaged_files() -> tuple[dict[str, list[dict[str, Any]]], tuple[PairEdit, ...], tuple[FeeEntry, ...]]:
    """The rule files shipped in the package, parsed once on first use."""
    folder = resources.files("coding") / "rules"
    files = {name: parse_versions((folder / f"{name}.yaml").read_text()) for name in RULE_FILES}
    pairs = parse_pair_edits((folder / "ncci_ptp.csv").read_text())
    fees = parse_fee_schedule((folder / "default_fee_schedule.csv").read_text())
    return files, pairs, fees


@cache
def rule_book(on: date) -> RuleBook:
    """The packaged rule book in force on a date of service."""
    files, pairs, fees = _packaged_files()
    return build_rule_book(on, files, pairs, fees)


def _as_date(value: Any) -> date:
    """A date from YAML (already a date, or ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _ncci_date(text: str) -> date:
    """A date written YYYYMMDD, as in the CMS files."""
    text = text.strip()
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
