"""Primary-care and psychiatric visit coding (DOMAIN.md 3.7): office and medication-management E/M by time or MDM
with its psychotherapy add-on, new or established patient status, preventive and Medicare wellness visits, and +G2211
longitudinal care. Pure, no I/O."""

from __future__ import annotations

from coding.coded import CodedLine, CodingContext, PriorService, age_on, month_index, years_before
from coding.draft import EncounterDraft, is_prescriber
from coding.psychotherapy import add_interactive_complexity, psychotherapy_band
from coding.rulebook import RuleBook
from shared.events.encounter import EncounterFacts


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


def code_em_with_psychotherapy(
    encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook, status: str, why: str
) -> None:
    """An office E/M (by MDM when psychotherapy is added, else by time or MDM) and its psychotherapy add-on."""
    if not is_prescriber(encounter, rules):
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
    add_interactive_complexity(encounter, draft, rules)


def add_longitudinal_care(
    encounter: EncounterFacts, draft: EncounterDraft, rules: RuleBook, exception: str | None
) -> None:
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


def code_preventive(encounter: EncounterFacts, draft: EncounterDraft, context: CodingContext, rules: RuleBook) -> None:
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
        code_em_with_psychotherapy(encounter, draft, rules, status, why)
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
        add_longitudinal_care(encounter, draft, rules, exception)


def code_office_visit(
    encounter: EncounterFacts, draft: EncounterDraft, context: CodingContext, rules: RuleBook
) -> None:
    """Office or medication-management E/M with its add-ons."""
    status, why = patient_status(encounter, context.history, rules)
    code_em_with_psychotherapy(encounter, draft, rules, status, why)
    add_longitudinal_care(encounter, draft, rules, None)
