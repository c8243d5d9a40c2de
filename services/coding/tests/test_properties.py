"""Properties of the coding rules over generated encounters: one time code, add-ons with primaries, pairs edited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from coding import domain, monthly
from coding.domain import CodingContext, PayerPolicy, PriorService
from coding.rulebook import rule_book
from hypothesis import given, settings
from hypothesis import strategies as st

DOS = date(2026, 10, 1)
RULES = rule_book(DOS)
TIME_CODES = {"90832", "90834", "90837"}
DISTINCT = {"59", "XE", "XS", "XP", "XU"}
SERVICE_TYPES = [
    "psychotherapy",
    "diagnostic_evaluation",
    "medication_management",
    "crisis",
    "family",
    "group",
    "office_visit",
    "preventive",
]
SAME_DAY_CODES = ["90791", "90792", "90832", "90834", "90837", "90839", "90846", "90847", "99213", "99214"]

minutes = st.one_of(st.none(), st.integers(min_value=0, max_value=200))
flags = st.fixed_dictionaries(
    {
        "interactive_complexity": st.one_of(
            st.none(),
            st.sampled_from(
                ["maladaptive_communication", "caregiver_interference", "sentinel_event", "communication_barrier"]
            ),
        ),
        "family_present": st.booleans(),
        "patient_status": st.one_of(st.none(), st.sampled_from(["new", "established"])),
        "longitudinal_care": st.booleans(),
        "separate_problem_visit": st.booleans(),
        "same_day_services": st.lists(
            st.sampled_from(["vaccine_administration", "annual_wellness_visit", "medicare_preventive"]),
            max_size=2,
            unique=True,
        ),
    }
)
history = st.lists(
    st.builds(
        PriorService,
        charge_id=st.just("earlier"),
        date_of_service=st.just(DOS),
        procedure_code=st.sampled_from(SAME_DAY_CODES),
        modifiers=st.sampled_from([(), ("59",)]),
        same_provider=st.booleans(),
    ),
    max_size=2,
)


@st.composite
def encounters(draw: st.DrawFn) -> tuple[dict[str, Any], CodingContext]:
    """Facts of an encounter of any service type with any minutes and flags, and a same-day history."""
    facts = {
        "service_type": draw(st.sampled_from(SERVICE_TYPES)),
        "place": draw(st.sampled_from(["in_person", "telehealth_video", "telehealth_audio"])),
        "home": draw(st.booleans()),
        "license_type": draw(st.sampled_from(["MD", "NP", "LCSW", "PSYCHOLOGIST"])),
        "mdm": draw(st.one_of(st.none(), st.sampled_from(["straightforward", "low", "moderate", "high"]))),
        "flags": draw(flags),
        "psychotherapy": draw(minutes),
        "evaluation_and_management": draw(minutes),
        "crisis": draw(minutes),
        "family": draw(minutes),
    }
    payer = PayerPolicy(payer_type=draw(st.sampled_from(["commercial", "medicare"])))
    return facts, CodingContext(payer=payer, history=tuple(draw(history)))


@given(
    session_minutes=st.integers(min_value=16, max_value=600), place=st.sampled_from(["in_person", "telehealth_video"])
)
def test_a_session_has_exactly_one_time_based_psychotherapy_code(
    session_minutes: int, place: str, visit: Callable[..., Any]
) -> None:
    outcome = domain.code_encounter(visit(psychotherapy=session_minutes, place=place), CodingContext())
    codes = [line.procedure_code for line in outcome.lines]
    assert len([code for code in codes if code in TIME_CODES]) == 1
    assert all(line.units == 1 for line in outcome.lines)


@given(session_minutes=st.integers(min_value=0, max_value=15))
def test_under_16_minutes_is_never_billed_as_psychotherapy(session_minutes: int, visit: Callable[..., Any]) -> None:
    outcome = domain.code_encounter(visit(psychotherapy=session_minutes), CodingContext())
    assert outcome.lines == ()
    assert [hold.rule_id for hold in outcome.holds] == ["PT-UNDER-16"]


@settings(max_examples=400, deadline=None)
@given(case=encounters())
def test_an_add_on_never_appears_without_an_allowed_primary(
    case: tuple[dict[str, Any], CodingContext], visit: Callable[..., Any]
) -> None:
    facts, context = case
    encounter = visit(**facts)
    outcome = domain.code_encounter(encounter, context)
    if outcome.holds:
        return
    codes = {line.procedure_code for line in outcome.lines}
    for line in outcome.lines:
        if RULES.is_add_on(line.procedure_code):
            assert RULES.add_ons[line.procedure_code] & codes, (line.procedure_code, codes)
    assert len([code for code in codes if code in TIME_CODES | {"90833", "90836", "90838"}]) <= 1


@settings(max_examples=400, deadline=None)
@given(case=encounters())
def test_no_forbidden_same_day_pair_is_billed_without_its_modifier(
    case: tuple[dict[str, Any], CodingContext], visit: Callable[..., Any]
) -> None:
    facts, context = case
    encounter = visit(**facts)
    outcome = domain.code_encounter(encounter, context)
    if outcome.holds:
        return
    billed = [(line.procedure_code, set(line.modifiers), True) for line in outcome.lines]
    earlier = [(p.procedure_code, set(p.modifiers), p.same_provider) for p in context.history]
    for edit in RULES.pairs:
        if edit.scope == "same_month":
            continue
        for code_a, modifiers_a, _ in billed:
            for code_b, modifiers_b, same_provider in billed + earlier:
                if {code_a, code_b} != {edit.column_1, edit.column_2}:
                    continue
                if edit.scope == "same_provider_day" and not same_provider:
                    continue
                assert edit.modifier_indicator == 1, (edit, outcome.lines)
                assert (modifiers_a | modifiers_b) & DISTINCT, (edit, outcome.lines)


@settings(max_examples=300, deadline=None)
@given(case=encounters())
def test_g2211_never_rides_on_a_modifier_25_e_m_without_an_exception(
    case: tuple[dict[str, Any], CodingContext], visit: Callable[..., Any]
) -> None:
    facts, context = case
    encounter = visit(**facts)
    outcome = domain.code_encounter(encounter, context)
    codes = [line.procedure_code for line in outcome.lines]
    if "G2211" not in codes or not any("25" in line.modifiers for line in outcome.lines):
        return
    exceptions = set(encounter.flags.same_day_services) | (
        {"medicare_preventive"} if "G0438" in codes or "G0439" in codes else set()
    )
    assert exceptions


@settings(max_examples=200, deadline=None)
@given(case=encounters())
def test_coding_the_same_encounter_twice_gives_the_same_charge(
    case: tuple[dict[str, Any], CodingContext], visit: Callable[..., Any]
) -> None:
    facts, context = case
    encounter = visit(**facts)
    assert domain.code_encounter(encounter, context) == domain.code_encounter(encounter, context)


@given(
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=0, max_value=100),
    st.booleans(),
    st.sampled_from(["commercial", "medicare"]),
)
def test_a_care_management_month_never_bills_99494_alone_or_99484_with_cocm(
    collaborative: int, bhi: int, first: bool, payer_type: str
) -> None:
    outcome = monthly.code_month(
        collaborative_minutes=collaborative, bhi_minutes=bhi, first_month=first, payer_type=payer_type, rules=RULES
    )
    codes = {line.procedure_code for line in outcome.lines}
    if "99494" in codes:
        assert codes & {"99492", "99493"}
    assert not ({"99484"} & codes and codes & {"99492", "99493", "99494", "G2214"})
    assert bool(outcome.lines) + bool(outcome.holds) + bool(outcome.no_charge_reason) == 1
