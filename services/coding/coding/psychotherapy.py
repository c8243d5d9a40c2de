"""Behavioral-health coding by service type (DOMAIN.md 3.1-3.5): psychotherapy by minutes, diagnostic evaluation,
crisis, family and group psychotherapy, and the interactive-complexity add-on that may ride on them. Pure, no I/O."""

from __future__ import annotations

from typing import Any

from coding.coded import CodingContext
from coding.draft import EncounterDraft, is_prescriber
from coding.rulebook import RuleBook
from shared.events.encounter import EncounterFacts


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


def add_interactive_complexity(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
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


def code_psychotherapy(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
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
    add_interactive_complexity(encounter, draft, rules)


def code_diagnostic_evaluation(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
    """90791 without medical services, 90792 with them (prescribers only) (DOMAIN.md 3.2)."""
    codes = rules.time_bands["diagnostic_evaluation"]
    medical = encounter.mdm_level is not None or bool(encounter.minutes.evaluation_and_management)
    if medical:
        code = codes["with_medical_services"]
        if not is_prescriber(encounter, rules):
            draft.hold(
                "DX-EVAL-90792-PRESCRIBER",
                f"{code} (with medical services) needs a prescriber; license {encounter.provider.license_type} is not",
            )
            return
        draft.line(code, "DX-EVAL-90792", f"diagnostic evaluation with medical services → {code}")
    else:
        code = codes["without_medical_services"]
        draft.line(code, "DX-EVAL-90791", f"diagnostic evaluation without medical services → {code}")
    add_interactive_complexity(encounter, draft, rules)


def hold_early_repeat_evaluation(
    encounter: EncounterFacts, draft: EncounterDraft, context: CodingContext, rules: RuleBook
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


def code_crisis(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
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
        add_interactive_complexity(encounter, draft, rules)
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


def code_family(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
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


def code_group(encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook) -> None:
    """90853 group psychotherapy, one line per patient per session; 90849 for a multiple-family group."""
    if encounter.flags.family_present:
        code = rules.time_bands["family"]["multiple_family_group"]
        draft.line(code, "FAM-90849", f"multiple-family group psychotherapy → {code}")
        if encounter.flags.interactive_complexity:
            draft.notes.append("+90785 not billed: interactive complexity is never reported with family codes")
        return
    code = rules.time_bands["group"]["code"]
    draft.line(code, "GRP-90853", f"group psychotherapy (not time-based) → {code}")
    add_interactive_complexity(encounter, draft, rules)
