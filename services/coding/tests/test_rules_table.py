"""One row per coding rule of DOMAIN.md section 3, with every boundary; expected codes worked out from the rulebook.

The encounter rows (sections 3.1-3.5 and 3.7-3.9, and intake's coding flags) are in rules_table.yaml next to this
file; the care-management month rows of 3.6 and the rules that span more than one encounter are here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from coding import domain, monthly, rulebook
from coding.domain import CodingContext, PayerPolicy, PriorService
from coding.rulebook import rule_book

from shared.events.encounter import EncounterFacts

DOS = date(2026, 10, 1)
MEDICARE = PayerPolicy(payer_type="medicare")
TABLE = Path(__file__).with_name("rules_table.yaml")
ROW_KEYS = frozenset({"name", "encounter", "context", "lines", "hold", "pos"})
Row = tuple[str, dict[str, Any], dict[str, Any], list[str] | str, str | None]


def prior(code: str, days_ago: int = 0, **kwargs: Any) -> PriorService:
    """A line of an earlier charge of the same patient."""
    return PriorService(
        charge_id=f"c-{code}", date_of_service=DOS - timedelta(days=days_ago), procedure_code=code, **kwargs
    )


def established(**flags: Any) -> dict[str, Any]:
    """Flags of an established patient."""
    return {"patient_status": "established", **flags}


MD = {"license_type": "MD"}
PT = "psychotherapy"
MM = "medication_management"
OV = "office_visit"
DX = "diagnostic_evaluation"


def table_text(value: Any, where: str) -> str:
    """A code of the table, which must be text: an unquoted all-digit code would load as a number."""
    if not isinstance(value, str):
        raise TypeError(f"{TABLE.name}: {where} is {value!r}; quote it so it stays text")
    return value


def history_line(entry: dict[str, Any], row: str) -> PriorService:
    """An earlier line of a row's history: on the date of service unless `days_ago` or `on` (a date) says otherwise."""
    fields = dict(entry)
    code = table_text(fields.pop("code"), f"a history code of '{row}'")
    on = fields.pop("on", None)
    days_ago = (DOS - on).days if on is not None else fields.pop("days_ago", 0)
    if "modifiers" in fields:
        fields["modifiers"] = tuple(table_text(m, f"a history modifier of '{row}'") for m in fields["modifiers"])
    return prior(code, days_ago, **fields)


def context_arguments(context: dict[str, Any], row: str) -> dict[str, Any]:
    """CodingContext arguments of a row: the payer's policy and the patient's earlier lines."""
    if set(context) - {"payer", "history"}:
        raise ValueError(f"{TABLE.name}: the context of '{row}' may only hold payer and history")
    arguments: dict[str, Any] = {}
    if "payer" in context:
        payer = dict(context["payer"])
        if "accepted_pos" in payer:
            where = f"an accepted place of service of '{row}'"
            payer["accepted_pos"] = tuple(table_text(pos, where) for pos in payer["accepted_pos"])
        arguments["payer"] = PayerPolicy(**payer)
    if "history" in context:
        arguments["history"] = tuple(history_line(entry, row) for entry in context["history"])
    return arguments


def load_rows() -> list[Row]:
    """The encounter rows of rules_table.yaml as (name, encounter, context, lines or hold, place of service)."""
    rows: list[Row] = []
    for row in yaml.safe_load(TABLE.read_text(encoding="utf-8")):
        name = row["name"]
        if set(row) - ROW_KEYS or ("lines" in row) == ("hold" in row):
            raise ValueError(
                f"{TABLE.name}: '{name}' needs lines or hold (not both) and only the keys {sorted(ROW_KEYS)}"
            )
        expected: list[str] | str
        if "lines" in row:
            expected = [table_text(line, f"a line of '{name}'") for line in row["lines"]]
        else:
            expected = table_text(row["hold"], f"the hold of '{name}'")
        pos = row.get("pos")
        pos = None if pos is None else table_text(pos, f"the place of service of '{name}'")
        rows.append((name, row["encounter"], context_arguments(row.get("context", {}), name), expected, pos))
    return rows


ROWS = load_rows()


def render(line: domain.CodedLine) -> str:
    """A line as code, ×units and modifiers: '90840x2', '99213-25'."""
    units = f"x{line.units}" if line.units > 1 else ""
    return line.procedure_code + units + "".join(f"-{modifier}" for modifier in line.modifiers)


@pytest.mark.parametrize(
    ("encounter_args", "context_args", "expected", "pos"),
    [pytest.param(args, ctx, expected, pos, id=name) for name, args, ctx, expected, pos in ROWS],
)
def test_rule_row(
    visit: Callable[..., EncounterFacts],
    encounter_args: dict[str, Any],
    context_args: dict[str, Any],
    expected: list[str] | str,
    pos: str | None,
) -> None:
    args = dict(encounter_args)
    service_type = args.pop("service_type", PT)
    outcome = domain.code_encounter(visit(service_type, **args), CodingContext(**context_args))
    if isinstance(expected, str):
        assert expected in [hold.rule_id for hold in outcome.holds], outcome
    else:
        assert outcome.holds == (), outcome.holds
        assert [render(line) for line in outcome.lines] == expected
        assert all(line.explanation and line.rule_ids for line in outcome.lines)
    if pos is not None:
        assert {line.place_of_service for line in outcome.lines} == {pos}


def test_the_table_has_a_row_per_rule_with_every_boundary() -> None:
    assert len(ROWS) + len(MONTH_ROWS) >= 80
    assert len({row[0] for row in ROWS}) == len(ROWS)


# 3.6 care-management months: (collaborative minutes, BHI minutes, first month, payer type) → lines or outcome
MONTH_ROWS: list[tuple[str, int, int, bool, str, list[str] | str]] = [
    ("cocm first month 35 min commercial is no charge", 35, 0, True, "commercial", "no charge"),
    ("cocm first month 36 min is 99492", 36, 0, True, "commercial", ["99492"]),
    ("cocm first month 35 min Medicare is G2214", 35, 0, True, "medicare", ["G2214"]),
    ("cocm later month 30 min commercial is no charge", 30, 0, False, "commercial", "no charge"),
    ("cocm later month 30 min Medicare is G2214", 30, 0, False, "medicare", ["G2214"]),
    ("cocm later month 31 min is 99493", 31, 0, False, "medicare", ["99493"]),
    ("cocm 15 min Medicare is no charge", 15, 0, False, "medicare", "no charge"),
    ("cocm 16 min Medicare is G2214", 16, 0, False, "medicare", ["G2214"]),
    ("cocm first month 85 min has no 99494", 85, 0, True, "commercial", ["99492"]),
    ("cocm first month 86 min adds 99494", 86, 0, True, "commercial", ["99492", "99494"]),
    ("cocm first month 115 min adds one 99494", 115, 0, True, "commercial", ["99492", "99494"]),
    ("cocm first month 116 min adds two 99494", 116, 0, True, "commercial", ["99492", "99494x2"]),
    ("cocm later month 75 min has no 99494", 75, 0, False, "commercial", ["99493"]),
    ("cocm later month 76 min adds 99494", 76, 0, False, "commercial", ["99493", "99494"]),
    ("cocm later month 105 min adds one 99494", 105, 0, False, "commercial", ["99493", "99494"]),
    ("cocm later month 106 min adds two 99494", 106, 0, False, "commercial", ["99493", "99494x2"]),
    ("general BHI 19 min is no charge", 0, 19, False, "commercial", "no charge"),
    ("general BHI 20 min is 99484", 0, 20, False, "commercial", ["99484"]),
    ("BHI and CoCM in one month are held", 40, 25, False, "commercial", "PAIR-99484-COCM"),
]


@pytest.mark.parametrize(
    ("collaborative", "bhi", "first", "payer_type", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in MONTH_ROWS],
)
def test_month_row(collaborative: int, bhi: int, first: bool, payer_type: str, expected: list[str] | str) -> None:
    outcome = monthly.code_month(
        collaborative_minutes=collaborative,
        bhi_minutes=bhi,
        first_month=first,
        payer_type=payer_type,
        rules=rule_book(DOS),
    )
    if expected == "no charge":
        assert outcome.lines == ()
        assert outcome.holds == ()
        assert outcome.no_charge_reason
    elif isinstance(expected, str):
        assert [hold.rule_id for hold in outcome.holds] == [expected]
    else:
        assert [render(line) for line in outcome.lines] == expected


@pytest.mark.parametrize(
    ("earlier", "first"),
    [
        pytest.param([], True, id="no earlier month starts an episode"),
        pytest.param([date(2026, 9, 1)], False, id="the previous month continues it"),
        pytest.param([date(2026, 4, 1)], False, id="six months back still continues it"),
        pytest.param([date(2026, 3, 1)], True, id="seven months without care starts a new episode"),
    ],
)
def test_collaborative_care_episode(earlier: list[date], first: bool) -> None:
    assert monthly.is_first_month(date(2026, 10, 1), earlier, rule_book(DOS)) is first


def test_care_management_encounters_accumulate_instead_of_billing(visit: Callable[..., EncounterFacts]) -> None:
    outcome = domain.code_encounter(
        visit("care_management", care_management=40, flags={"care_management_model": "collaborative_care"}),
        CodingContext(),
    )
    assert outcome.accumulate
    assert outcome.lines == ()
    assert outcome.holds == ()
    assert outcome.program == "collaborative_care"


def test_care_management_without_its_model_is_held(visit: Callable[..., EncounterFacts]) -> None:
    outcome = domain.code_encounter(visit("care_management", care_management=40), CodingContext())
    assert [hold.rule_id for hold in outcome.holds] == ["CM-MODEL-MISSING"]
    assert not outcome.accumulate


def test_monthly_charge_is_dated_the_last_day_of_the_month_or_the_threshold_day() -> None:
    rules = rule_book(DOS)
    assert monthly.date_of_service_for(date(2026, 2, 1), rules) == date(2026, 2, 28)
    met = monthly.threshold_date([(date(2026, 2, 20), 20), (date(2026, 2, 3), 10), (date(2026, 2, 11), 10)], 36)
    assert met == date(2026, 2, 20)
    assert monthly.threshold_date([(date(2026, 2, 3), 10)], 36) is None
    assert monthly.billed_minimum("99493", rules) == 31
    by_threshold = dataclasses.replace(
        rules,
        time_bands={
            **rules.time_bands,
            "care_management": {
                **rules.time_bands["care_management"],
                "date_of_service": {"default": "last_day_of_month", "medicaid": "threshold_met"},
            },
        },
    )
    assert monthly.date_of_service_for(date(2026, 2, 1), by_threshold, payer_type="medicaid", threshold_met=met) == met
    assert monthly.date_of_service_for(date(2026, 2, 1), by_threshold, threshold_met=met) == date(2026, 2, 28)
    assert monthly.month_closed_by(date(2026, 9, 1), date(2026, 9, 30)) is False
    assert monthly.month_closed_by(date(2026, 9, 1), date(2026, 10, 1)) is True


@pytest.mark.parametrize(
    ("month", "last_grace_day", "grace"),
    [
        # September 2026 ends on a Wednesday: October 1, 2, 5, 6 and 7 are its five business days of grace.
        pytest.param(date(2026, 9, 1), date(2026, 10, 7), 5, id="month ending midweek"),
        # October 2026 ends on a Saturday: the weekend is no business day, November 2-6 are the grace.
        pytest.param(date(2026, 10, 1), date(2026, 11, 6), 5, id="month ending on a Saturday"),
        # July 2026 ends on a Friday: the grace runs August 3-7, over the first weekend.
        pytest.param(date(2026, 7, 1), date(2026, 8, 7), 5, id="month ending on a Friday"),
        pytest.param(date(2026, 9, 1), date(2026, 10, 1), 1, id="one business day"),
        pytest.param(date(2026, 9, 1), date(2026, 9, 30), 0, id="no grace: the day after the month"),
        pytest.param(date(2026, 12, 1), date(2027, 1, 7), 5, id="across a year end"),
    ],
)
def test_a_month_closes_only_after_its_grace_period_of_business_days(
    month: date, last_grace_day: date, grace: int
) -> None:
    assert monthly.month_closed_by(month, last_grace_day, grace) is False
    assert monthly.month_closed_by(month, last_grace_day + timedelta(days=1), grace) is True
    # The months the business clock has closed are exactly those before the first open one.
    assert monthly.first_open_month(last_grace_day, grace) == month
    next_month = monthly.month_start(monthly.month_end(month) + timedelta(days=1))
    assert monthly.first_open_month(last_grace_day + timedelta(days=1), grace) == next_month


@pytest.mark.parametrize(
    ("service_type", "args", "program"),
    [
        pytest.param(PT, {"psychotherapy": 45}, "outpatient_therapy", id="psychotherapy is outpatient therapy"),
        pytest.param(MM, {"mdm": "low", **MD, "flags": established()}, "psychiatry", id="medication management"),
        pytest.param(DX, {"mdm": "low", **MD}, "psychiatry", id="90792 is psychiatry"),
        pytest.param("crisis", {"crisis": 45}, "crisis", id="crisis"),
        pytest.param(OV, {"mdm": "low", **MD, "flags": established()}, "primary_care", id="office visit"),
        pytest.param(PT, {"psychotherapy": 45, "place": "telehealth_video"}, "telehealth", id="telehealth"),
    ],
)
def test_each_charge_is_tagged_with_its_program(
    visit: Callable[..., EncounterFacts], service_type: str, args: dict[str, Any], program: str
) -> None:
    assert domain.code_encounter(visit(service_type, **args), CodingContext()).program == program


def test_explanations_name_minutes_and_code(visit: Callable[..., EncounterFacts]) -> None:
    outcome = domain.code_encounter(visit(PT, psychotherapy=53), CodingContext())
    assert outcome.lines[0].explanation == "53 min psychotherapy → 90837"
    assert outcome.lines[0].rule_ids == ("PT-60",)


def test_diagnosis_pointers_point_at_the_first_four() -> None:
    rules = rule_book(DOS)
    assert domain.diagnosis_pointers(1, rules) == [1]
    assert domain.diagnosis_pointers(6, rules) == [1, 2, 3, 4]


def test_the_medicare_in_person_requirement_applies_only_from_its_dated_setting(
    visit: Callable[..., EncounterFacts],
) -> None:
    rules = rule_book(DOS)
    dated = dict(rules.telehealth)
    dated["medicare_behavioral_health"] = {
        **rules.telehealth["medicare_behavioral_health"],
        "in_person_requirement_from": date(2026, 1, 30),
    }
    required = dataclasses.replace(rules, telehealth=dated)
    video = visit(psychotherapy=45, place="telehealth_video", home=True)
    never_seen = domain.code_encounter(video, CodingContext(payer=MEDICARE), required)
    assert [hold.rule_id for hold in never_seen.holds] == ["TH-IN-PERSON-REQUIRED"]
    seen = CodingContext(payer=MEDICARE, history=(prior("90834", 120, place_of_service="11"),))
    assert domain.code_encounter(video, seen, required).holds == ()
    assert domain.code_encounter(video, CodingContext(payer=MEDICARE), rules).holds == ()
    commercial = domain.code_encounter(video, CodingContext(), required)
    assert commercial.holds == ()


def test_a_new_rule_version_applies_from_its_effective_date() -> None:
    versions = rulebook.parse_versions(
        """
versions:
  - {version: "2024.1", effective_from: 2024-01-01, minimum: 16}
  - {version: "2027.1", effective_from: 2027-01-01, minimum: 20}
"""
    )
    assert rulebook.in_force(versions, date(2026, 12, 31))["minimum"] == 16
    assert rulebook.in_force(versions, date(2027, 1, 1))["minimum"] == 20


def test_pair_edits_load_in_the_cms_ptp_shape_with_deletion_dates() -> None:
    edits = rulebook.parse_pair_edits(
        "column_1,column_2,effective_date,deletion_date,modifier_indicator,scope,rationale\n"
        "90832,90846,20240101,20261231,1,,old\n"
    )
    assert edits[0].scope == "same_provider_day"
    assert edits[0].in_force(date(2026, 12, 30))
    assert not edits[0].in_force(date(2026, 12, 31))


def test_override_lines_that_no_payer_accepts_are_named_by_field() -> None:
    rules = rule_book(DOS)
    lines = [
        domain.CodedLine("90785", (), 1, "11", (), ""),
        domain.CodedLine("90834", (), 1, "11", (), ""),
        domain.CodedLine("90839", (), 1, "11", (), ""),
    ]
    problems = domain.override_problems(lines, [[1], [1], [3]], 2, rules)
    assert ("lines.2.procedure_code", "90834 and 90839 are never billed together") in problems
    assert ("lines.2.diagnosis_pointers", "the charge has 2 diagnoses; pointer out of range") in problems
    assert ("lines.2.procedure_code", "90785 and 90839 are never billed together") in problems
    alone = domain.override_problems([domain.CodedLine("90840", (), 1, "11", (), "")], [[1]], 1, rules)
    assert alone == [("lines.0.procedure_code", "+90840 needs one of its primaries: 90839")]
