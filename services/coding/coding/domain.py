"""Pure coding rules: an encounter's documented facts to explained service lines, or holds with reasons. No I/O."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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


@dataclass
class _Draft:
    """Lines, holds and notes being assembled for one encounter."""

    lines: list[CodedLine] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def hold(self, rule_id: str, reason: str) -> None:
        """Add a hold once per rule id."""
        if all(existing.rule_id != rule_id for existing in self.holds):
            self.holds.append(Hold(rule_id, reason))

    def line(
        self, code: str, rule_id: str, explanation: str, *, units: int = 1, modifiers: tuple[str, ...] = ()
    ) -> None:
        """Add a line (place of service is set later from the place of care)."""
        self.lines.append(CodedLine(code, modifiers, units, "11", (rule_id,), explanation))


# --- time bands ---------------------------------------------------------------------------------------------------


def psychotherapy_band(minutes: int, rules: RuleBook) -> dict[str, Any] | None:
    """The psychotherapy band of a session's face-to-face minutes, or None under the minimum (DOMAIN.md 3.1)."""
    for band in rules.time_bands["psychotherapy"]["bands"]:
        if minutes >= band["from"] and (band["to"] is None or minutes < band["to"]):
            return dict(band)
    return None


def crisis_codes(minutes: int, rules: RuleBook) -> tuple[str, int] | None:
    """The +90840 units beside 90839 for crisis minutes (None under 30 minutes) (DOMAIN.md 3.4)."""
    crisis = rules.time_bands["crisis"]
    if minutes < crisis["minimum"]:
        return None
    add_on_units = 0
    if minutes >= crisis["first_add_on_at"]:
        add_on_units = (minutes - crisis["first_add_on_at"]) // crisis["add_on_every"] + 1
    return crisis["add_on"], add_on_units


def em_by_time(minutes: int, status: str, rules: RuleBook) -> str | None:
    """The highest office E/M whose 2024 time minimum the practitioner's minutes meet (DOMAIN.md 3.7)."""
    met = [level["code"] for level in rules.time_bands["office_em"][status] if minutes >= level["minutes"]]
    return met[-1] if met else None


def em_by_mdm(mdm_level: str, status: str, rules: RuleBook) -> str | None:
    """The office E/M for a level of medical decision-making."""
    for level in rules.time_bands["office_em"][status]:
        if level["mdm"] == mdm_level:
            return str(level["code"])
    return None


def em_level(
    *, minutes: int | None, mdm_level: str | None, status: str, rules: RuleBook, mdm_only: bool
) -> tuple[str, str, str] | None:
    """(code, rule id, explanation) of an office E/M by time or MDM, whichever supports the higher level."""
    candidates: list[tuple[str, str, str]] = []
    if mdm_level is not None:
        code = em_by_mdm(mdm_level, status, rules)
        if code:
            candidates.append((code, "EM-MDM", f"{mdm_level} MDM, {status} patient → {code}"))
    if minutes is not None and not mdm_only:
        code = em_by_time(minutes, status, rules)
        if code:
            candidates.append((code, "EM-TIME", f"{minutes} min total practitioner time, {status} patient → {code}"))
    return max(candidates, key=lambda candidate: candidate[0]) if candidates else None


def patient_status(encounter: EncounterFacts, history: tuple[PriorService, ...], rules: RuleBook) -> tuple[str, str]:
    """New or established (the EHR's word, else the 3-year rule on coding's history) and why."""
    if encounter.flags.patient_status is not None:
        return encounter.flags.patient_status, f"{encounter.flags.patient_status} patient as documented"
    years = int(rules.policy["new_patient_lookback_years"])
    since = years_before(encounter.date_of_service, years)
    for prior in history:
        if since <= prior.date_of_service < encounter.date_of_service and (prior.same_provider or prior.same_specialty):
            return "established", f"established: seen {prior.date_of_service.isoformat()} (within {years} years)"
    return "new", f"new: no professional service by this provider or specialty in {years} years"


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


# --- per service type ---------------------------------------------------------------------------------------------


def _interactive_complexity(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
    """+90785 with a documented qualifying factor, only beside one of its allowed primaries."""
    factor = encounter.flags.interactive_complexity
    if factor is None:
        return
    block = rules.interactive_complexity
    code = block["code"]
    if factor not in block["qualifying_factors"]:
        draft.hold("IC-NO-FACTOR", f"+{code} needs a documented qualifying factor; '{factor}' is not one")
        return
    if not any(line.procedure_code in rules.add_ons[code] for line in draft.lines):
        draft.notes.append(f"+{code} not billed: interactive complexity has no allowed primary in this session")
        return
    draft.line(code, "IC-90785", f"interactive complexity ({factor.replace('_', ' ')}) → +{code}")


def _psychotherapy(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
    """Standalone psychotherapy by minutes (DOMAIN.md 3.1)."""
    minutes = encounter.minutes.psychotherapy
    if minutes is None:
        draft.hold("MINUTES-MISSING", "psychotherapy minutes are not documented")
        return
    band = psychotherapy_band(minutes, rules)
    if band is None:
        draft.hold("PT-UNDER-16", f"{minutes} min psychotherapy is under 16 minutes and not billable as psychotherapy")
        return
    draft.line(band["standalone"], band["rule_id"], f"{minutes} min psychotherapy → {band['standalone']}")
    _interactive_complexity(encounter, draft, rules)


def _prescriber(encounter: EncounterFacts, rules: RuleBook) -> bool:
    """Whether the rendering provider's license allows medical services."""
    return encounter.provider.license_type.upper() in rules.policy["prescriber_license_types"]


def _em_with_psychotherapy(encounter: EncounterFacts, draft: _Draft, rules: RuleBook, status: str, why: str) -> None:
    """An office E/M (by MDM when psychotherapy is added, else by time or MDM) and its psychotherapy add-on."""
    if not _prescriber(encounter, rules):
        draft.hold("EM-LICENSE", f"an E/M needs a prescriber; license {encounter.provider.license_type} is not one")
        return
    psychotherapy = encounter.minutes.psychotherapy or 0
    band = psychotherapy_band(psychotherapy, rules) if psychotherapy else None
    level = em_level(
        minutes=encounter.minutes.evaluation_and_management,
        mdm_level=encounter.mdm_level,
        status=status,
        rules=rules,
        mdm_only=band is not None or encounter.service_type == "medication_management",
    )
    if level is None:
        needs = "MDM" if band is not None or encounter.service_type == "medication_management" else "time or MDM"
        draft.hold("EM-LEVEL-MISSING", f"the E/M level needs documented {needs} meeting a level; {why}")
        return
    code, rule_id, explanation = level
    draft.line(code, rule_id, f"{explanation} ({why})")
    if band is not None:
        draft.line(
            band["add_on"],
            f"{band['rule_id']}-ADDON",
            f"{psychotherapy} min psychotherapy beside E/M (E/M time excluded) → +{band['add_on']}",
        )
    elif psychotherapy:
        draft.notes.append(f"{psychotherapy} min psychotherapy is under 16 minutes: no add-on billed")
    _interactive_complexity(encounter, draft, rules)


def _longitudinal_care(encounter: EncounterFacts, draft: _Draft, rules: RuleBook, exception: str | None) -> None:
    """+G2211 on an office E/M; with modifier 25 only beside an AWV, vaccine administration or Medicare preventive."""
    if not encounter.flags.longitudinal_care:
        return
    block = rules.longitudinal_care
    code = block["code"]
    primaries = [line for line in draft.lines if line.procedure_code in rules.add_ons[code]]
    if not primaries:
        draft.notes.append(f"+{code} not billed: no office E/M in this visit")
        return
    exceptions = set(block["modifier_25_exceptions"])
    allowed: set[str] = {service for service in encounter.flags.same_day_services if service in exceptions}
    if exception:
        allowed.add(exception)
    if any("25" in line.modifiers for line in primaries) and not allowed:
        draft.notes.append(f"+{code} not billed: the E/M carries modifier 25 without an AWV, vaccine or preventive")
        return
    reason = f" (modifier 25 allowed beside {', '.join(sorted(allowed))})" if allowed else ""
    draft.line(code, "G2211", f"longitudinal care of a continuing condition → +{code}{reason}")


def _diagnostic_evaluation(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
    """90791 without medical services, 90792 with them (prescribers only) (DOMAIN.md 3.2)."""
    codes = rules.time_bands["diagnostic_evaluation"]
    medical = encounter.mdm_level is not None or bool(encounter.minutes.evaluation_and_management)
    if medical:
        code = codes["with_medical_services"]
        if not _prescriber(encounter, rules):
            draft.hold(
                "DX-EVAL-90792-PRESCRIBER",
                f"{code} (with medical services) needs a prescriber; license {encounter.provider.license_type} is not",
            )
            return
        draft.line(code, "DX-EVAL-90792", f"diagnostic evaluation with medical services → {code}")
    else:
        code = codes["without_medical_services"]
        draft.line(code, "DX-EVAL-90791", f"diagnostic evaluation without medical services → {code}")
    _interactive_complexity(encounter, draft, rules)


def _diagnostic_evaluation_repeat(
    encounter: EncounterFacts, draft: _Draft, context: CodingContext, rules: RuleBook
) -> None:
    """A repeat evaluation only after the payer's gap without treatment (per payer)."""
    gap = context.payer.diagnostic_evaluation_repeat_days
    codes = set(rules.time_bands["diagnostic_evaluation"].values())
    if gap is None or not any(line.procedure_code in codes for line in draft.lines):
        return
    earlier = [p for p in context.history if p.date_of_service < encounter.date_of_service]
    if any(p.procedure_code in codes for p in earlier):
        last_treatment = max(p.date_of_service for p in earlier)
        days = (encounter.date_of_service - last_treatment).days
        if days < gap:
            draft.hold(
                "DX-EVAL-REPEAT",
                f"repeat diagnostic evaluation {days} days after the last treatment; this payer wants {gap} days",
            )


def _crisis(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
    """90839 for 30-74 minutes, +90840 per further 30 minutes; under 30 as regular psychotherapy (DOMAIN.md 3.4)."""
    minutes = encounter.minutes.crisis
    if minutes is None:
        draft.hold("MINUTES-MISSING", "crisis minutes are not documented")
        return
    coded = crisis_codes(minutes, rules)
    if coded is None:
        band = psychotherapy_band(minutes, rules)
        if band is None:
            draft.hold("CR-UNDER-16", f"{minutes} min crisis care is under 16 minutes: not billable as psychotherapy")
            return
        draft.line(
            band["standalone"], "CR-UNDER-30", f"{minutes} min crisis is under 30 → psychotherapy {band['standalone']}"
        )
        _interactive_complexity(encounter, draft, rules)
        return
    add_on, units = coded
    code = rules.time_bands["crisis"]["code"]
    draft.line(code, "CR-90839", f"{minutes} min crisis psychotherapy → {code}")
    if units:
        draft.line(
            add_on, "CR-90840", f"{minutes} min crisis: {units} × 30 min beyond 74 → +{add_on} × {units}", units=units
        )
    if encounter.flags.interactive_complexity:
        draft.notes.append("+90785 not billed: interactive complexity is never reported with crisis codes")


def _family(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
    """90846 without the patient, 90847 with the patient, at least 26 minutes (DOMAIN.md 3.5)."""
    family = rules.time_bands["family"]
    minutes = encounter.minutes.family
    if minutes is None:
        draft.hold("MINUTES-MISSING", "family psychotherapy minutes are not documented")
        return
    if minutes < family["minimum"]:
        draft.hold("FAM-UNDER-26", f"{minutes} min family psychotherapy is under {family['minimum']} minutes")
        return
    present = encounter.flags.family_present
    code = family["patient_present"] if present else family["patient_absent"]
    who = "with" if present else "without"
    draft.line(code, f"FAM-{code}", f"{minutes} min family psychotherapy {who} the patient → {code}")
    if encounter.flags.interactive_complexity:
        draft.notes.append("+90785 not billed: interactive complexity is never reported with family codes")


def _group(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
    """90853 group psychotherapy, one line per patient per session; 90849 for a multiple-family group."""
    if encounter.flags.family_present:
        code = rules.time_bands["family"]["multiple_family_group"]
        draft.line(code, "FAM-90849", f"multiple-family group psychotherapy → {code}")
        if encounter.flags.interactive_complexity:
            draft.notes.append("+90785 not billed: interactive complexity is never reported with family codes")
        return
    code = rules.time_bands["group"]["code"]
    draft.line(code, "GRP-90853", f"group psychotherapy (not time-based) → {code}")
    _interactive_complexity(encounter, draft, rules)


def _preventive(encounter: EncounterFacts, draft: _Draft, context: CodingContext, rules: RuleBook) -> None:
    """Preventive visit by age band (Medicare AWV codes for Medicare), with a modifier-25 problem E/M."""
    status, why = patient_status(encounter, context.history, rules)
    preventive = rules.preventive
    exception: str | None = None
    if context.payer.payer_type == "medicare":
        medicare = preventive["medicare"]
        awv_codes = {medicare["initial_wellness_visit"], medicare["subsequent_wellness_visit"]}
        previous = [p.date_of_service for p in context.history if p.procedure_code in awv_codes]
        previous = [day for day in previous if day < encounter.date_of_service]
        if not previous:
            code = medicare["initial_wellness_visit"]
            draft.line(code, "PREV-MEDICARE-AWV", f"Medicare annual wellness visit, first one on file → {code}")
        else:
            last = max(previous)
            first_allowed = month_index(last) + int(medicare["full_months_between_visits"]) + 1
            if month_index(encounter.date_of_service) < first_allowed:
                draft.hold(
                    "PREV-AWV-TOO-SOON",
                    f"last wellness visit {last.isoformat()}: the next needs "
                    f"{medicare['full_months_between_visits']} full months",
                )
                return
            code = medicare["subsequent_wellness_visit"]
            draft.line(
                code, "PREV-MEDICARE-AWV", f"Medicare subsequent wellness visit (last {last.isoformat()}) → {code}"
            )
        exception = "medicare_preventive"
    else:
        age = age_on(encounter.patient.birth_date, encounter.date_of_service)
        band = next(b for b in preventive["age_bands"] if age >= b["from"] and (b["to"] is None or age < b["to"]))
        code = band[status]
        draft.line(code, "PREV-AGE", f"preventive visit, {status} patient aged {age} → {code} ({why})")
    if encounter.flags.separate_problem_visit:
        before = len(draft.lines)
        _em_with_psychotherapy(encounter, draft, rules, status, why)
        modifier = rules.time_bands["office_em"]["problem_with_preventive_modifier"]
        for index in range(before, len(draft.lines)):
            line = draft.lines[index]
            if line.procedure_code in rules.add_ons[rules.longitudinal_care["code"]]:
                draft.lines[index] = CodedLine(
                    line.procedure_code,
                    (*line.modifiers, modifier),
                    line.units,
                    line.place_of_service,
                    (*line.rule_ids, "PREV-MOD25"),
                    f"{line.explanation}; separate problem E/M with a preventive visit → modifier {modifier}",
                )
        _longitudinal_care(encounter, draft, rules, exception)


def _office_visit(encounter: EncounterFacts, draft: _Draft, context: CodingContext, rules: RuleBook) -> None:
    """Office or medication-management E/M with its add-ons."""
    status, why = patient_status(encounter, context.history, rules)
    _em_with_psychotherapy(encounter, draft, rules, status, why)
    _longitudinal_care(encounter, draft, rules, None)


# --- checks over the coded lines ----------------------------------------------------------------------------------


def _telehealth(encounter: EncounterFacts, draft: _Draft, context: CodingContext, rules: RuleBook) -> None:
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


def _conflicting_minutes(encounter: EncounterFacts, draft: _Draft, rules: RuleBook) -> None:
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
    draft = _Draft()
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
        _psychotherapy(encounter, draft, rules)
    elif service_type == "diagnostic_evaluation":
        _diagnostic_evaluation(encounter, draft, rules)
        _diagnostic_evaluation_repeat(encounter, draft, context, rules)
    elif service_type in ("medication_management", "office_visit"):
        _office_visit(encounter, draft, context, rules)
    elif service_type == "crisis":
        _crisis(encounter, draft, rules)
    elif service_type == "family":
        _family(encounter, draft, rules)
    elif service_type == "group":
        _group(encounter, draft, rules)
    elif service_type == "preventive":
        _preventive(encounter, draft, context, rules)
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
