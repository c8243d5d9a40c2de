"""Pure coding rules: documented minutes and place of care to service lines. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# DOMAIN.md 3.1: standalone psychotherapy by face-to-face minutes (lower bound inclusive, upper exclusive).
PSYCHOTHERAPY_BANDS: tuple[tuple[int, int | None, str, str], ...] = (
    (16, 38, "90832", "PT-30"),
    (38, 53, "90834", "PT-45"),
    (53, None, "90837", "PT-60"),
)
PSYCHOTHERAPY_MINIMUM = 16

# Place of service (CMS list): 11 office, 10 telehealth in the patient's home, 02 telehealth elsewhere.
POS_OFFICE = "11"
POS_TELEHEALTH_HOME = "10"
POS_TELEHEALTH_OTHER = "02"

# Charge amounts used when a practice has no fee schedule entry for a code.
DEFAULT_FEES: dict[str, Decimal] = {
    "90832": Decimal("110.00"),
    "90834": Decimal("150.00"),
    "90837": Decimal("200.00"),
}


@dataclass(frozen=True)
class CodedLine:
    """A service line before pricing, with the rule that produced it."""

    procedure_code: str
    modifiers: tuple[str, ...]
    units: int
    place_of_service: str
    rule_ids: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class CodingOutcome:
    """Lines to bill, or reasons to hold the encounter for review."""

    program: str
    lines: tuple[CodedLine, ...] = ()
    holds: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def psychotherapy_code(minutes: int) -> tuple[str, str] | None:
    """The one time-based psychotherapy code for a session (code, rule id), or None under 16 minutes."""
    for lower, upper, code, rule_id in PSYCHOTHERAPY_BANDS:
        if minutes >= lower and (upper is None or minutes < upper):
            return code, rule_id
    return None


def place_of_service(place_of_care: str, patient_at_home: bool) -> str:
    """POS 11 in person; 10 for telehealth with the patient at home; 02 for telehealth elsewhere."""
    if place_of_care == "in_person":
        return POS_OFFICE
    return POS_TELEHEALTH_HOME if patient_at_home else POS_TELEHEALTH_OTHER


def telehealth_modifiers(place_of_care: str, payer_modifier: str | None) -> tuple[str, ...]:
    """95 for audio-video (or the payer's own choice), 93 for audio-only; nothing in person."""
    if place_of_care == "telehealth_audio":
        return ("93",)
    if place_of_care == "telehealth_video" and payer_modifier:
        return (payer_modifier,)
    return ()


def code_psychotherapy(
    *, minutes: int | None, place_of_care: str, patient_at_home: bool, payer_modifier: str | None
) -> CodingOutcome:
    """Code a standalone psychotherapy session, or hold it with the reason."""
    program = "outpatient_therapy" if place_of_care == "in_person" else "telehealth"
    if minutes is None:
        return CodingOutcome(program, holds=(("PT-MINUTES-MISSING", "psychotherapy minutes are not documented"),))
    coded = psychotherapy_code(minutes)
    if coded is None:
        return CodingOutcome(
            program,
            holds=(
                (
                    "PT-UNDER-16",
                    f"{minutes} min psychotherapy is under 16 minutes and not billable as psychotherapy",
                ),
            ),
        )
    code, rule_id = coded
    pos = place_of_service(place_of_care, patient_at_home)
    modifiers = telehealth_modifiers(place_of_care, payer_modifier)
    explanation = f"{minutes} min psychotherapy → {code}"
    if modifiers:
        explanation += f", telehealth POS {pos} modifier {'/'.join(modifiers)}"
    return CodingOutcome(program, lines=(CodedLine(code, modifiers, 1, pos, (rule_id,), explanation),))


def code_encounter(
    *,
    service_type: str,
    minutes: int | None,
    place_of_care: str,
    patient_at_home: bool,
    payer_modifier: str | None,
) -> CodingOutcome:
    """Code an encounter by its service type; types without rules yet are held for a coder."""
    if service_type == "psychotherapy":
        return code_psychotherapy(
            minutes=minutes,
            place_of_care=place_of_care,
            patient_at_home=patient_at_home,
            payer_modifier=payer_modifier,
        )
    return CodingOutcome(
        "other",
        holds=(("SERVICE-TYPE-UNSUPPORTED", f"service type '{service_type}' needs a coder's review"),),
    )
