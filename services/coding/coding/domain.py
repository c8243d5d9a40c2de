"""Pure coding rules: an encounter's documented facts to explained service lines, or holds with reasons. No I/O.

`code_encounter` is the entry point: it codes the encounter by its service type (behavioral-health services in
`psychotherapy`, E/M, preventive and +G2211 in `office_visits`), then applies place of service and telehealth, the
same-day pair, add-on and unit edits, and review sampling over the coded lines.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

from coding.coded import (
    DISTINCT_MODIFIERS,
    MDM_LEVELS,
    CodedLine,
    CodingContext,
    CodingOutcome,
    Hold,
    PayerPolicy,
    PriorService,
    age_on,
    month_index,
    years_before,
)
from coding.draft import EncounterDraft
from coding.edits import (
    add_on_holds,
    apply_pair_edits,
    diagnosis_pointers,
    fee_for,
    override_problems,
    payer_policy,
    place_of_service,
    telehealth_modifiers,
    unit_holds,
)
from coding.office_visits import code_office_visit, code_preventive
from coding.psychotherapy import (
    code_crisis,
    code_diagnostic_evaluation,
    code_family,
    code_group,
    code_psychotherapy,
    hold_early_repeat_evaluation,
)
from coding.rulebook import RuleBook, rule_book
from shared.events.encounter import EncounterFacts

__all__ = [
    "DISTINCT_MODIFIERS",
    "MDM_LEVELS",
    "CodedLine",
    "CodingContext",
    "CodingOutcome",
    "Hold",
    "PayerPolicy",
    "PriorService",
    "age_on",
    "code_encounter",
    "diagnosis_pointers",
    "fee_for",
    "month_index",
    "override_problems",
    "payer_policy",
    "place_of_service",
    "program_of",
    "review_sampled",
    "years_before",
]


def program_of(service_type: str, place_of_care: str, lines: tuple[CodedLine, ...], rules: RuleBook) -> str:
    """The service line a charge is reported under."""
    if place_of_care != "in_person" and service_type != "care_management":
        return str(rules.policy["telehealth_program"])
    if any(line.procedure_code in rules.policy["psychiatry_codes"] for line in lines):
        return "psychiatry"
    return str(rules.policy["programs"].get(service_type, "other"))


# --- review sampling ----------------------------------------------------------------------------------------------


def sample_fraction(encounter_id: uuid.UUID) -> float:
    """A stable number in [0, 1) derived from the encounter id."""
    return int(hashlib.sha256(str(encounter_id).encode()).hexdigest()[:16], 16) / float(16**16)


def review_sampled(
    *, encounter_id: uuid.UUID, date_of_service: date, first_service_date: date | None, share: float, window_days: int
) -> bool:
    """Whether a new clinician's encounter is sampled for prospective coding review."""
    if first_service_date is None:
        return False
    in_window = 0 <= (date_of_service - first_service_date).days < window_days
    return in_window and sample_fraction(encounter_id) < share


# --- checks over the coded lines ----------------------------------------------------------------------------------


def _telehealth(encounter: EncounterFacts, draft: EncounterDraft, context: CodingContext, rules: RuleBook) -> None:
    """Place of service and telehealth modifier on every line, by the payer's profile (DOMAIN.md 3.8)."""
    payer = context.payer
    pos = place_of_service(encounter.place_of_care, encounter.patient_at_home, payer, rules)
    modifiers = telehealth_modifiers(encounter.place_of_care, payer)
    if encounter.place_of_care == "telehealth_audio" and not payer.audio_only_covered:
        draft.hold("TH-AUDIO-NOT-COVERED", "this payer does not cover audio-only telehealth on the date of service")
    medicare_bh = rules.telehealth["medicare_behavioral_health"]
    required_from = medicare_bh.get("in_person_requirement_from")
    if (
        required_from is not None
        and payer.payer_type == "medicare"
        and encounter.place_of_care != "in_person"
        and encounter.date_of_service >= required_from
        and encounter.service_type not in ("office_visit", "preventive")
    ):
        since = month_index(encounter.date_of_service) - int(medicare_bh["in_person_lookback_months"])
        seen = any(
            p.place_of_service == rules.telehealth["place_of_service"]["in_person"]
            and month_index(p.date_of_service) >= since
            for p in context.history
        )
        if not seen:
            draft.hold(
                "TH-IN-PERSON-REQUIRED",
                f"Medicare behavioral-health telehealth needs an in-person visit in the prior "
                f"{medicare_bh['in_person_lookback_months']} months",
            )
    where = "" if encounter.place_of_care == "in_person" else f", telehealth POS {pos}"
    if where and modifiers:
        where += f" modifier {'/'.join(modifiers)}"
    draft.lines = [
        CodedLine(
            line.procedure_code,
            (*line.modifiers, *(m for m in modifiers if m not in line.modifiers)),
            line.units,
            pos,
            (*line.rule_ids, "TH-POS") if where else line.rule_ids,
            line.explanation + where,
        )
        for line in draft.lines
    ]


def _conflicting_minutes(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
    """Minutes of a service that cannot share the session make it ambiguous: hold."""
    for kind in rules.policy["conflicting_minutes"].get(encounter.service_type, []):
        if getattr(encounter.minutes, kind):
            draft.hold(
                "CONFLICTING-SERVICES",
                f"{kind.replace('_', ' ')} minutes documented in a {encounter.service_type.replace('_', ' ')} session",
            )


def code_encounter(encounter: EncounterFacts, context: CodingContext, rules: RuleBook | None = None) -> CodingOutcome:
    """Code one encounter: lines with explanations, or holds with reasons (DOMAIN.md section 3)."""
    rules = rules or rule_book(encounter.date_of_service)
    draft = EncounterDraft()
    for flag in encounter.work_queue_flags:
        if flag.queue != "coding":
            continue
        if flag.reason_code in rules.policy["intake_flags_as_warnings"]:
            draft.notes.append(flag.reason)
        else:
            draft.hold(flag.reason_code, flag.reason)
    _conflicting_minutes(encounter, draft, rules)
    service_type = encounter.service_type
    if service_type == "care_management":
        if encounter.minutes.care_management is None:
            draft.hold("MINUTES-MISSING", "care-management minutes are not documented")
        if encounter.flags.care_management_model is None:
            draft.hold("CM-MODEL-MISSING", "care management needs its model: collaborative care or general BHI")
        program = str(rules.policy["programs"]["care_management"])
        return CodingOutcome(program, holds=tuple(draft.holds), notes=tuple(draft.notes), accumulate=not draft.holds)
    if service_type == "psychotherapy":
        code_psychotherapy(encounter, draft, rules)
    elif service_type == "diagnostic_evaluation":
        code_diagnostic_evaluation(encounter, draft, rules)
        hold_early_repeat_evaluation(encounter, draft, context, rules)
    elif service_type in ("medication_management", "office_visit"):
        code_office_visit(encounter, draft, context, rules)
    elif service_type == "crisis":
        code_crisis(encounter, draft, rules)
    elif service_type == "family":
        code_family(encounter, draft, rules)
    elif service_type == "group":
        code_group(encounter, draft, rules)
    elif service_type == "preventive":
        code_preventive(encounter, draft, context, rules)
    else:
        draft.hold("SERVICE-TYPE-UNSUPPORTED", f"service type '{service_type}' needs a coder's review")
    _telehealth(encounter, draft, context, rules)
    same_day = tuple(p for p in context.history if p.date_of_service == encounter.date_of_service)
    draft.lines, pair_holds = apply_pair_edits(draft.lines, same_day, context.payer.payer_type, rules)
    for hold in [*pair_holds, *add_on_holds(draft.lines, rules), *unit_holds(draft.lines, same_day, rules)]:
        draft.hold(hold.rule_id, hold.reason)
    share = context.review_share if context.review_share is not None else rules.policy["review_sampling"]["share"]
    window = context.review_window_days or int(rules.policy["review_sampling"]["window_days"])
    sampled = review_sampled(
        encounter_id=encounter.encounter_id,
        date_of_service=encounter.date_of_service,
        first_service_date=context.provider_first_service_date,
        share=float(share),
        window_days=window,
    )
    if sampled and draft.lines:
        draft.hold(
            "REVIEW-NEW-CLINICIAN",
            f"sampled for prospective coding review: provider's first {window} days",
        )
    lines = tuple(draft.lines)
    return CodingOutcome(
        program_of(service_type, encounter.place_of_care, lines, rules),
        lines=lines,
        holds=tuple(draft.holds),
        notes=tuple(draft.notes),
        review_sampled=sampled and bool(lines),
    )
