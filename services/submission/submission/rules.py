"""Coding tables the scrubber reads: same-day pairs (NCCI-style), add-on primaries, daily maxima, license types.

Rules that are tabular live here as data (DOMAIN.md 3.9) so the official CMS quarterly files can replace or extend
them: `SameDayPair` has the columns of the NCCI procedure-to-procedure file (column 1, column 2, effective and
deletion dates, modifier indicator, rationale) and `pairs_from_ncci_rows` reads that layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date


def code_range(first: int, last: int) -> tuple[str, ...]:
    """Five-digit CPT codes from first to last inclusive."""
    return tuple(str(code) for code in range(first, last + 1))


PSYCHOTHERAPY_STANDALONE = ("90832", "90834", "90837")
PSYCHOTHERAPY_ADD_ONS = ("90833", "90836", "90838")
PSYCHOTHERAPY_ALL = code_range(90832, 90838)
DIAGNOSTIC_EVALUATION = ("90791", "90792")
CRISIS = ("90839", "90840")
FAMILY = ("90846", "90847", "90849")
OFFICE_EM = (*code_range(99202, 99205), *code_range(99211, 99215))
COLLABORATIVE_CARE = ("99492", "99493", "99494", "G2214")
# Psychotherapy codes a visit limit counts when the payer's limit names no codes (DOMAIN.md 4, visit limit).
PSYCHOTHERAPY_VISIT_CODES = (*PSYCHOTHERAPY_ALL, "90839", "90845", "90846", "90847", "90849", "90853")
# Add-ons that keep +G2211 payable with a modifier-25 E/M (DOMAIN.md 3.7): AWV, vaccine administration, Medicare
# preventive services.
G2211_MODIFIER_25_EXCEPTIONS = (
    "G0438",
    "G0439",
    "G0402",
    "90460",
    "90461",
    "90471",
    "90472",
    "90473",
    "90474",
    "G0008",
    "G0009",
    "G0010",
)
BYPASS_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})
TELEHEALTH_POS = frozenset({"02", "10"})
VIDEO_MODIFIERS = frozenset({"95", "GT"})
AUDIO_ONLY_MODIFIERS = frozenset({"93", "FQ"})
PRESCRIBER_LICENSES = frozenset({"MD", "DO", "NP", "PA"})


@dataclass(frozen=True)
class SameDayPair:
    """One procedure-to-procedure edit: column one and column two are not billed together on one date.

    modifier_indicator 0: never together; 1: a bypass modifier (59/XE/XS/XP/XU) on either line allows the pair
    when the services were separate and distinct.
    """

    column_one: str
    column_two: str
    modifier_indicator: int
    rationale: str
    effective_from: date = date(2000, 1, 1)
    deleted_on: date | None = None

    def in_force(self, on: date) -> bool:
        """Whether the edit applies to a date of service."""
        return self.effective_from <= on and (self.deleted_on is None or on < self.deleted_on)


def _pairs(
    column_one: Sequence[str], column_two: Sequence[str], indicator: int, rationale: str
) -> tuple[SameDayPair, ...]:
    """Every (a, b) pair of two code groups as edits, skipping a code paired with itself."""
    return tuple(SameDayPair(a, b, indicator, rationale) for a in column_one for b in column_two if a != b)


SAME_DAY_PAIRS: tuple[SameDayPair, ...] = (
    *_pairs(("90792",), ("90791",), 0, "90791 and 90792 are mutually exclusive"),
    *_pairs(DIAGNOSTIC_EVALUATION, (*PSYCHOTHERAPY_ALL, *CRISIS), 0, "no psychotherapy or crisis with an evaluation"),
    *_pairs(DIAGNOSTIC_EVALUATION, OFFICE_EM, 0, "no E/M by the same provider the day of an evaluation"),
    *_pairs(PSYCHOTHERAPY_STANDALONE, PSYCHOTHERAPY_ADD_ONS, 0, "standalone psychotherapy never with the add-ons"),
    *_pairs(PSYCHOTHERAPY_STANDALONE, PSYCHOTHERAPY_STANDALONE, 0, "one time-based psychotherapy code per session"),
    *_pairs(PSYCHOTHERAPY_ADD_ONS, PSYCHOTHERAPY_ADD_ONS, 0, "one psychotherapy add-on per session"),
    *_pairs(PSYCHOTHERAPY_ALL, CRISIS, 0, "no psychotherapy with crisis codes"),
    *_pairs(PSYCHOTHERAPY_STANDALONE, ("90846", "90847"), 1, "family only when separate and distinct"),
    *_pairs(("90785",), (*CRISIS, *FAMILY), 0, "interactive complexity never with crisis or family codes"),
    *_pairs(CRISIS, ("90863",), 0, "crisis codes never with +90863"),
    *_pairs(("99484",), COLLABORATIVE_CARE, 0, "general BHI never in the same month as collaborative care"),
)


def pairs_from_ncci_rows(rows: Iterable[Sequence[str]], rationale: str = "NCCI PTP edit") -> list[SameDayPair]:
    """Edits from rows of the CMS NCCI PTP file: column 1, column 2, *, effective YYYYMMDD, deletion, modifier."""
    pairs: list[SameDayPair] = []
    for row in rows:
        column_one, column_two, _, effective, deletion, modifier = (cell.strip() for cell in row[:6])
        pairs.append(
            SameDayPair(
                column_one=column_one,
                column_two=column_two,
                modifier_indicator=int(modifier) if modifier in ("0", "1") else 0,
                rationale=rationale,
                effective_from=_yyyymmdd(effective) or date(2000, 1, 1),
                deleted_on=_yyyymmdd(deletion),
            )
        )
    return pairs


def _yyyymmdd(value: str) -> date | None:
    """A CCYYMMDD date, None for '*' or blank (the file's 'no deletion')."""
    if len(value) != 8 or not value.isdigit():
        return None
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


# Add-on code → the primary codes it may ride on (DOMAIN.md 3.1, 3.3, 3.4, 3.6, 3.7).
ADD_ON_PRIMARIES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PSYCHOTHERAPY_ADD_ONS, OFFICE_EM),
    "90785": (*DIAGNOSTIC_EVALUATION, *PSYCHOTHERAPY_ALL, "90853"),
    "90840": ("90839",),
    "99494": ("99492", "99493"),
    "G2211": OFFICE_EM,
    "90863": PSYCHOTHERAPY_STANDALONE,
}

# Units of a code per patient per date (MUE-style): once per day unless the code is counted in units of time.
DAILY_MAX_UNITS: dict[str, int] = {
    **dict.fromkeys(DIAGNOSTIC_EVALUATION, 1),
    **dict.fromkeys(PSYCHOTHERAPY_ALL, 1),
    "90839": 1,
    "90785": 1,
    "90846": 1,
    "90847": 1,
    "90853": 1,
    **dict.fromkeys(OFFICE_EM, 1),
    "G2211": 1,
    "99484": 1,
    "99492": 1,
    "99493": 1,
    "G2214": 1,
}

# Codes only a prescriber (MD, DO, NP, PA) may bill: medical evaluation, E/M and the E/M psychotherapy add-ons.
# (+90863 is the prescribing psychologist's code, so it is not listed here.)
PRESCRIBER_ONLY_CODES = frozenset({"90792", *OFFICE_EM, *PSYCHOTHERAPY_ADD_ONS})


def is_behavioral_health(code: str) -> bool:
    """Whether a procedure is a behavioral-health service a carve-out plan pays (psychiatry, BH integration, H)."""
    if code.isdigit() and 90785 <= int(code) <= 90899:
        return True
    if code.isdigit() and 96130 <= int(code) <= 96139:
        return True
    return code in {"99484", *COLLABORATIVE_CARE} or (code.startswith("H") and code[1:].isdigit())
