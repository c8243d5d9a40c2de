"""Pure checks and lookups over coded lines: payer policy and place, same-day pairs, add-ons, units, fees, overrides."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from coding.coded import DISTINCT_MODIFIERS, CodedLine, Hold, PayerPolicy, PriorService
from coding.rulebook import FeeEntry, RuleBook


def payer_policy(payer: dict[str, Any] | None, on: date, rules: RuleBook) -> PayerPolicy:
    """The payer profile in force on a date as coding needs it; telehealth defaults when there is none."""
    defaults = rules.telehealth["default_policy"]
    profiles = sorted((payer or {}).get("profiles", []), key=lambda profile: str(profile["effective_from"]))
    current = [profile for profile in profiles if date.fromisoformat(str(profile["effective_from"])) <= on]
    if not current:
        return PayerPolicy(
            payer_type="commercial" if payer is not None else "self_pay",
            accepted_pos=tuple(defaults["accepted_pos"]),
            video_modifier=defaults["video_modifier"],
            audio_only_covered=bool(defaults["audio_only_covered"]),
            audio_only_modifier=defaults["audio_only_modifier"],
        )
    profile = current[-1]
    telehealth = {**defaults, **(profile.get("telehealth") or {})}
    return PayerPolicy(
        payer_type=profile.get("payer_type", "commercial"),
        accepted_pos=tuple(telehealth["accepted_pos"]),
        video_modifier=telehealth.get("video_modifier"),
        audio_only_covered=bool(telehealth["audio_only_covered"]),
        audio_only_modifier=telehealth["audio_only_modifier"],
        diagnostic_evaluation_repeat_days=profile.get("diagnostic_evaluation_repeat_days"),
    )


def place_of_service(place_of_care: str, patient_at_home: bool, payer: PayerPolicy, rules: RuleBook) -> str:
    """POS 11 in person; 10 telehealth at home, 02 elsewhere, unless the payer only accepts another POS."""
    places = rules.telehealth["place_of_service"]
    if place_of_care == "in_person":
        return str(places["in_person"])
    wanted = str(places["patient_home"] if patient_at_home else places["elsewhere"])
    if wanted in payer.accepted_pos or not payer.accepted_pos:
        return wanted
    return payer.accepted_pos[0]


def telehealth_modifiers(place_of_care: str, payer: PayerPolicy) -> tuple[str, ...]:
    """The payer's modifier for audio-video (95, GT or none) or audio-only (93, FQ) visits."""
    if place_of_care == "telehealth_audio":
        return (payer.audio_only_modifier,)
    if place_of_care == "telehealth_video" and payer.video_modifier:
        return (payer.video_modifier,)
    return ()


def diagnosis_pointers(diagnosis_count: int, rules: RuleBook) -> list[int]:
    """Pointers of a line to the claim's diagnoses: the first up to four (DOMAIN.md 3.10)."""
    return list(range(1, min(diagnosis_count, int(rules.policy["diagnosis_pointers_per_line"])) + 1))


def _with_modifier(line: CodedLine, modifier: str, rule_id: str, why: str) -> CodedLine:
    """A line with a distinct-procedure modifier added (at most four modifiers)."""
    if set(line.modifiers) & DISTINCT_MODIFIERS:
        return line
    return CodedLine(
        line.procedure_code,
        (*line.modifiers, modifier)[:4],
        line.units,
        line.place_of_service,
        (*line.rule_ids, rule_id),
        f"{line.explanation}; {why} → modifier {modifier}",
    )


def apply_pair_edits(
    lines: list[CodedLine], history_same_day: tuple[PriorService, ...], payer_type: str, rules: RuleBook
) -> tuple[list[CodedLine], list[Hold]]:
    """Same-day pair edits (DOMAIN.md 3.9): indicator 0 holds, indicator 1 adds the distinct-procedure modifier."""
    modifiers = rules.policy["distinct_procedure_modifier"]
    distinct = str(modifiers.get(payer_type, modifiers["default"]))
    holds: list[Hold] = []
    result = list(lines)
    for edit in rules.pairs:
        if edit.scope == "same_month":
            continue
        rule_id = f"PAIR-{edit.column_1}-{edit.column_2}"
        codes = {line.procedure_code for line in result}
        within = edit.column_1 in codes and edit.column_2 in codes
        others = [
            p
            for p in history_same_day
            if p.procedure_code in (edit.column_1, edit.column_2)
            and (edit.scope != "same_provider_day" or p.same_provider)
        ]
        across = [
            p
            for p in others
            if (p.procedure_code == edit.column_1 and edit.column_2 in codes)
            or (p.procedure_code == edit.column_2 and edit.column_1 in codes)
        ]
        if not within and not across:
            continue
        if edit.modifier_indicator == 0:
            where = "in this session" if within else f"with charge {across[0].charge_id} the same day"
            holds.append(Hold(rule_id, f"{edit.column_1} and {edit.column_2} are never billed together {where}"))
            continue
        if within:
            target = edit.column_2
        else:
            target = edit.column_2 if edit.column_2 in codes else edit.column_1
            if all(set(p.modifiers) & DISTINCT_MODIFIERS for p in across):  # every earlier pair already marked
                continue
        result = [
            _with_modifier(line, distinct, rule_id, f"separate and distinct from {edit.column_1}/{edit.column_2}")
            if line.procedure_code == target
            else line
            for line in result
        ]
    return result, holds


def add_on_holds(lines: list[CodedLine], rules: RuleBook) -> list[Hold]:
    """Add-ons without one of their allowed primaries on the same claim, and +G2211 behind a modifier-25 E/M."""
    codes = {line.procedure_code for line in lines}
    holds = [
        Hold(f"ADDON-{line.procedure_code}", f"+{line.procedure_code} needs one of its primaries on the same claim")
        for line in lines
        if rules.is_add_on(line.procedure_code) and not (rules.add_ons[line.procedure_code] & codes)
    ]
    return holds


def unit_holds(lines: list[CodedLine], history_same_day: tuple[PriorService, ...], rules: RuleBook) -> list[Hold]:
    """Codes over their daily maximum (per provider, as practitioner MUEs), counting the same day's other charges."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.procedure_code] = totals.get(line.procedure_code, 0) + line.units
    holds = []
    for code, units in totals.items():
        already = sum(1 for p in history_same_day if p.procedure_code == code and p.same_provider)
        limit = rules.max_units.get(code)
        if limit is not None and units + already > limit:
            holds.append(
                Hold(f"UNITS-{code}", f"{code}: {units + already} units on the day exceed the daily maximum of {limit}")
            )
    return holds


def fee_for(
    code: str, modifiers: tuple[str, ...], payer_id: str | None, practice_fees: tuple[FeeEntry, ...], rules: RuleBook
) -> Decimal:
    """The charge for one unit: the practice's most specific fee in force (payer, modifier), else the default."""
    on = rules.on

    def best(entries: tuple[FeeEntry, ...]) -> Decimal | None:
        matching = [
            fee
            for fee in entries
            if fee.code == code
            and fee.in_force(on)
            and (fee.payer_id is None or fee.payer_id == payer_id)
            and (fee.modifier is None or fee.modifier in modifiers)
        ]
        if not matching:
            return None
        chosen = max(matching, key=lambda fee: (fee.payer_id is not None, fee.modifier is not None, fee.effective_from))
        return chosen.amount

    amount = best(practice_fees)
    if amount is None:
        amount = best(rules.default_fees)
    return amount if amount is not None else Decimal("0.00")


def override_problems(
    lines: list[CodedLine], pointers: list[list[int]], diagnosis_count: int, rules: RuleBook
) -> list[tuple[str, str]]:
    """(field path, reason) for override lines a person sent that no payer would accept (DOMAIN.md 3.3, 3.9)."""
    problems: list[tuple[str, str]] = []
    codes = [line.procedure_code for line in lines]
    for index, line in enumerate(lines):
        code = line.procedure_code
        if rules.is_add_on(code) and not (rules.add_ons[code] & set(codes)):
            allowed = ", ".join(sorted(rules.add_ons[code]))
            problems.append((f"lines.{index}.procedure_code", f"+{code} needs one of its primaries: {allowed}"))
        limit = rules.max_units.get(code)
        if limit is not None and line.units > limit:
            problems.append((f"lines.{index}.units", f"{code} allows at most {limit} units a day"))
        if any(pointer > diagnosis_count for pointer in pointers[index]):
            problems.append(
                (
                    f"lines.{index}.diagnosis_pointers",
                    f"the charge has {diagnosis_count} diagnoses; pointer out of range",
                )
            )
    for edit in rules.pairs:
        if edit.scope == "same_month" or edit.column_1 not in codes or edit.column_2 not in codes:
            continue
        index = codes.index(edit.column_2)
        if edit.modifier_indicator == 0:
            problems.append(
                (f"lines.{index}.procedure_code", f"{edit.column_1} and {edit.column_2} are never billed together")
            )
        elif not any(set(lines[codes.index(c)].modifiers) & DISTINCT_MODIFIERS for c in (edit.column_1, edit.column_2)):
            problems.append(
                (
                    f"lines.{index}.modifiers",
                    f"{edit.column_2} with {edit.column_1} needs a distinct-procedure modifier",
                )
            )
    return problems
