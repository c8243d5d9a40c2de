"""Value types of coding (coded lines, holds, payer policy, prior services) and the date arithmetic they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

DISTINCT_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})
MDM_LEVELS = ("straightforward", "low", "moderate", "high")


@dataclass(frozen=True)
class CodedLine:
    """A service line before pricing, with the rules that produced it."""

    procedure_code: str
    modifiers: tuple[str, ...]
    units: int
    place_of_service: str
    rule_ids: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class Hold:
    """Why an encounter cannot be billed without a person's review."""

    rule_id: str
    reason: str


@dataclass(frozen=True)
class CodingOutcome:
    """Lines to bill and holds to resolve; `accumulate` means the minutes count toward a care-management month."""

    program: str
    lines: tuple[CodedLine, ...] = ()
    holds: tuple[Hold, ...] = ()
    notes: tuple[str, ...] = ()
    review_sampled: bool = False
    accumulate: bool = False


@dataclass(frozen=True)
class PayerPolicy:
    """The parts of a payer profile coding applies (DOMAIN.md 3.2, 3.7, 3.8)."""

    payer_type: str = "commercial"
    accepted_pos: tuple[str, ...] = ("02", "10")
    video_modifier: str | None = "95"
    audio_only_covered: bool = True
    audio_only_modifier: str = "93"
    diagnostic_evaluation_repeat_days: int | None = None


@dataclass(frozen=True)
class PriorService:
    """A line already charged for the same patient, from coding's own history."""

    charge_id: str
    date_of_service: date
    procedure_code: str
    modifiers: tuple[str, ...] = ()
    same_provider: bool = True
    same_specialty: bool = True
    place_of_service: str = "11"


@dataclass(frozen=True)
class CodingContext:
    """What coding knows beyond the encounter: payer policy, the patient's history, the provider's start."""

    payer: PayerPolicy = field(default_factory=PayerPolicy)
    history: tuple[PriorService, ...] = ()
    provider_first_service_date: date | None = None
    review_share: float | None = None
    review_window_days: int | None = None


def years_before(day: date, years: int) -> date:
    """The same calendar day some years earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on a date."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def month_index(day: date) -> int:
    """Months since year 0, for month arithmetic."""
    return day.year * 12 + day.month - 1
