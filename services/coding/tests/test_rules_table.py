"""One row per coding rule of DOMAIN.md section 3, with every boundary; expected codes worked out from the rulebook."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from coding import domain, monthly, rulebook
from coding.domain import CodingContext, PayerPolicy, PriorService
from coding.rulebook import rule_book

from shared.events.encounter import EncounterFacts

DOS = date(2026, 10, 1)
MEDICARE = PayerPolicy(payer_type="medicare")
Row = tuple[str, dict[str, Any], dict[str, Any], list[str] | str, str | None]


def prior(code: str, days_ago: int = 0, **kwargs: Any) -> PriorService:
    """A line of an earlier charge of the same patient."""
    return PriorService(
        charge_id=f"c-{code}", date_of_service=DOS - timedelta(days=days_ago), procedure_code=code, **kwargs
    )


def established(**flags: Any) -> dict[str, Any]:
    """Flags of an established patient."""
    return {"patient_status": "established", **flags}


def new(**flags: Any) -> dict[str, Any]:
    """Flags of a new patient."""
    return {"patient_status": "new", **flags}


MD = {"license_type": "MD"}
PT = "psychotherapy"
MM = "medication_management"
OV = "office_visit"
PREV = "preventive"
DX = "diagnostic_evaluation"

ROWS: list[Row] = [
    # 3.1 psychotherapy bands
    ("pt 15 min is held", {"psychotherapy": 15}, {}, "PT-UNDER-16", None),
    ("pt 0 min is held", {"psychotherapy": 0}, {}, "PT-UNDER-16", None),
    ("pt 16 min is 90832", {"psychotherapy": 16}, {}, ["90832"], "11"),
    ("pt 37 min is 90832", {"psychotherapy": 37}, {}, ["90832"], None),
    ("pt 38 min is 90834", {"psychotherapy": 38}, {}, ["90834"], None),
    ("pt 52 min is 90834", {"psychotherapy": 52}, {}, ["90834"], None),
    ("pt 53 min is 90837", {"psychotherapy": 53}, {}, ["90837"], None),
    ("pt 75 min is one 90837 not two codes", {"psychotherapy": 75}, {}, ["90837"], None),
    ("pt minutes missing is held", {}, {}, "MINUTES-MISSING", None),
    ("pt with crisis minutes is conflicting", {"psychotherapy": 45, "crisis": 40}, {}, "CONFLICTING-SERVICES", None),
    ("pt with family minutes is conflicting", {"psychotherapy": 45, "family": 30}, {}, "CONFLICTING-SERVICES", None),
    # 3.1 E/M with psychotherapy add-on (E/M by MDM)
    (
        "mm + pt 15 is E/M alone",
        {"service_type": MM, "mdm": "moderate", "psychotherapy": 15, **MD, "flags": established()},
        {},
        ["99214"],
        None,
    ),
    (
        "mm + pt 16 adds 90833",
        {"service_type": MM, "mdm": "moderate", "psychotherapy": 16, **MD, "flags": established()},
        {},
        ["99214", "90833"],
        None,
    ),
    (
        "mm + pt 37 adds 90833",
        {"service_type": MM, "mdm": "moderate", "psychotherapy": 37, **MD, "flags": established()},
        {},
        ["99214", "90833"],
        None,
    ),
    (
        "mm + pt 38 adds 90836",
        {"service_type": MM, "mdm": "moderate", "psychotherapy": 38, **MD, "flags": established()},
        {},
        ["99214", "90836"],
        None,
    ),
    (
        "mm + pt 52 adds 90836",
        {"service_type": MM, "mdm": "moderate", "psychotherapy": 52, **MD, "flags": established()},
        {},
        ["99214", "90836"],
        None,
    ),
    (
        "mm + pt 53 adds 90838",
        {"service_type": MM, "mdm": "moderate", "psychotherapy": 53, **MD, "flags": established()},
        {},
        ["99214", "90838"],
        None,
    ),
    (
        "mm with psychotherapy picks E/M by MDM not time",
        {
            "service_type": MM,
            "mdm": "low",
            "psychotherapy": 30,
            "evaluation_and_management": 45,
            **MD,
            "flags": established(),
        },
        {},
        ["99213", "90833"],
        None,
    ),
    (
        "mm without MDM is held",
        {"service_type": MM, "psychotherapy": 30, **MD, "flags": established()},
        {},
        "EM-LEVEL-MISSING",
        None,
    ),
    ("mm by an LCSW is held", {"service_type": MM, "mdm": "low", "flags": established()}, {}, "EM-LICENSE", None),
    (
        "mm high for a new patient is 99205",
        {"service_type": MM, "mdm": "high", **MD, "flags": new()},
        {},
        ["99205"],
        None,
    ),
    # 3.2 diagnostic evaluation
    ("dx eval without medical services is 90791", {"service_type": DX}, {}, ["90791"], None),
    ("dx eval with MDM by an MD is 90792", {"service_type": DX, "mdm": "moderate", **MD}, {}, ["90792"], None),
    (
        "dx eval with E/M minutes by an NP is 90792",
        {"service_type": DX, "evaluation_and_management": 20, "license_type": "NP"},
        {},
        ["90792"],
        None,
    ),
    (
        "90792 by a non-prescriber is held",
        {"service_type": DX, "mdm": "moderate", "license_type": "LCSW"},
        {},
        "DX-EVAL-90792-PRESCRIBER",
        None,
    ),
    (
        "dx eval with psychotherapy minutes is conflicting",
        {"service_type": DX, "psychotherapy": 30},
        {},
        "CONFLICTING-SERVICES",
        None,
    ),
    (
        "dx eval after same-day psychotherapy is held",
        {"service_type": DX},
        {"history": (prior("90834"),)},
        "PAIR-90791-90834",
        None,
    ),
    ("second 90791 the same day is held", {"service_type": DX}, {"history": (prior("90791"),)}, "UNITS-90791", None),
    (
        "90792 after 90791 the same day is held",
        {"service_type": DX, "mdm": "low", **MD},
        {"history": (prior("90791"),)},
        "PAIR-90792-90791",
        None,
    ),
    (
        "90792 with same-provider E/M the same day is held",
        {"service_type": DX, "mdm": "low", **MD},
        {"history": (prior("99213"),)},
        "PAIR-90792-99213",
        None,
    ),
    (
        "90792 with another provider's E/M the same day is allowed",
        {"service_type": DX, "mdm": "low", **MD},
        {"history": (prior("99213", same_provider=False),)},
        ["90792"],
        None,
    ),
    (
        "repeat dx eval inside the payer's gap is held",
        {"service_type": DX},
        {
            "payer": PayerPolicy(diagnostic_evaluation_repeat_days=180),
            "history": (prior("90791", 400), prior("90834", 30)),
        },
        "DX-EVAL-REPEAT",
        None,
    ),
    (
        "repeat dx eval after the payer's gap is billed",
        {"service_type": DX},
        {
            "payer": PayerPolicy(diagnostic_evaluation_repeat_days=180),
            "history": (prior("90791", 400), prior("90834", 200)),
        },
        ["90791"],
        None,
    ),
    # 3.3 interactive complexity
    (
        "pt 45 with a factor adds 90785",
        {"psychotherapy": 45, "flags": {"interactive_complexity": "maladaptive_communication"}},
        {},
        ["90834", "90785"],
        None,
    ),
    (
        "dx eval with a factor adds 90785",
        {"service_type": DX, "flags": {"interactive_complexity": "sentinel_event"}},
        {},
        ["90791", "90785"],
        None,
    ),
    (
        "group with a factor adds 90785",
        {"service_type": "group", "flags": {"interactive_complexity": "communication_barrier"}},
        {},
        ["90853", "90785"],
        None,
    ),
    (
        "E/M + add-on psychotherapy with a factor adds 90785",
        {
            "service_type": MM,
            "mdm": "moderate",
            "psychotherapy": 30,
            **MD,
            "flags": established(interactive_complexity="caregiver_interference"),
        },
        {},
        ["99214", "90833", "90785"],
        None,
    ),
    (
        "E/M alone with a factor has no 90785",
        {
            "service_type": MM,
            "mdm": "moderate",
            **MD,
            "flags": established(interactive_complexity="caregiver_interference"),
        },
        {},
        ["99214"],
        None,
    ),
    (
        "crisis with a factor has no 90785",
        {"service_type": "crisis", "crisis": 60, "flags": {"interactive_complexity": "sentinel_event"}},
        {},
        ["90839"],
        None,
    ),
    (
        "family with a factor has no 90785",
        {"service_type": "family", "family": 30, "flags": {"interactive_complexity": "sentinel_event"}},
        {},
        ["90846"],
        None,
    ),
    (
        "90785 without a qualifying factor is held",
        {"psychotherapy": 45, "flags": {"raw_interactive_complexity": "extra_time"}},
        {},
        "IC-NO-FACTOR",
        None,
    ),
    # 3.4 crisis
    ("crisis 15 min is held", {"service_type": "crisis", "crisis": 15}, {}, "CR-UNDER-16", None),
    ("crisis 29 min is regular psychotherapy", {"service_type": "crisis", "crisis": 29}, {}, ["90832"], None),
    ("crisis 30 min is 90839", {"service_type": "crisis", "crisis": 30}, {}, ["90839"], None),
    ("crisis 74 min is 90839", {"service_type": "crisis", "crisis": 74}, {}, ["90839"], None),
    ("crisis 75 min adds one 90840", {"service_type": "crisis", "crisis": 75}, {}, ["90839", "90840"], None),
    ("crisis 104 min adds one 90840", {"service_type": "crisis", "crisis": 104}, {}, ["90839", "90840"], None),
    ("crisis 105 min adds two 90840", {"service_type": "crisis", "crisis": 105}, {}, ["90839", "90840x2"], None),
    ("crisis 134 min adds two 90840", {"service_type": "crisis", "crisis": 134}, {}, ["90839", "90840x2"], None),
    ("crisis 135 min adds three 90840", {"service_type": "crisis", "crisis": 135}, {}, ["90839", "90840x3"], None),
    (
        "crisis 165 min is over the 90840 daily maximum",
        {"service_type": "crisis", "crisis": 165},
        {},
        "UNITS-90840",
        None,
    ),
    (
        "crisis after same-day psychotherapy is held",
        {"service_type": "crisis", "crisis": 60},
        {"history": (prior("90834"),)},
        "PAIR-90834-90839",
        None,
    ),
    ("crisis minutes missing is held", {"service_type": "crisis"}, {}, "MINUTES-MISSING", None),
    (
        "second crisis code the same day is held",
        {"service_type": "crisis", "crisis": 45},
        {"history": (prior("90839"),)},
        "UNITS-90839",
        None,
    ),
    # 3.5 family and group
    ("family 25 min is held", {"service_type": "family", "family": 25}, {}, "FAM-UNDER-26", None),
    ("family 26 min without the patient is 90846", {"service_type": "family", "family": 26}, {}, ["90846"], None),
    (
        "family 26 min with the patient is 90847",
        {"service_type": "family", "family": 26, "flags": {"family_present": True}},
        {},
        ["90847"],
        None,
    ),
    ("family minutes missing is held", {"service_type": "family"}, {}, "MINUTES-MISSING", None),
    (
        "family after same-day psychotherapy takes 59",
        {"service_type": "family", "family": 50, "flags": {"family_present": True}},
        {"history": (prior("90834"),)},
        ["90847-59"],
        None,
    ),
    (
        "family after same-day psychotherapy takes XE for Medicare",
        {"service_type": "family", "family": 50, "flags": {"family_present": True}},
        {"payer": MEDICARE, "history": (prior("90834"),)},
        ["90847-XE"],
        None,
    ),
    ("group psychotherapy is 90853", {"service_type": "group"}, {}, ["90853"], None),
    (
        "multiple-family group is 90849",
        {"service_type": "group", "flags": {"family_present": True}},
        {},
        ["90849"],
        None,
    ),
    # 3.7 office E/M by time, established
    (
        "established 9 min without MDM is held",
        {"service_type": OV, "evaluation_and_management": 9, **MD, "flags": established()},
        {},
        "EM-LEVEL-MISSING",
        None,
    ),
    (
        "established 10 min is 99212",
        {"service_type": OV, "evaluation_and_management": 10, **MD, "flags": established()},
        {},
        ["99212"],
        None,
    ),
    (
        "established 19 min is 99212",
        {"service_type": OV, "evaluation_and_management": 19, **MD, "flags": established()},
        {},
        ["99212"],
        None,
    ),
    (
        "established 20 min is 99213",
        {"service_type": OV, "evaluation_and_management": 20, **MD, "flags": established()},
        {},
        ["99213"],
        None,
    ),
    (
        "established 29 min is 99213",
        {"service_type": OV, "evaluation_and_management": 29, **MD, "flags": established()},
        {},
        ["99213"],
        None,
    ),
    (
        "established 30 min is 99214",
        {"service_type": OV, "evaluation_and_management": 30, **MD, "flags": established()},
        {},
        ["99214"],
        None,
    ),
    (
        "established 39 min is 99214",
        {"service_type": OV, "evaluation_and_management": 39, **MD, "flags": established()},
        {},
        ["99214"],
        None,
    ),
    (
        "established 40 min is 99215",
        {"service_type": OV, "evaluation_and_management": 40, **MD, "flags": established()},
        {},
        ["99215"],
        None,
    ),
    # 3.7 office E/M by time, new
    (
        "new 14 min without MDM is held",
        {"service_type": OV, "evaluation_and_management": 14, **MD, "flags": new()},
        {},
        "EM-LEVEL-MISSING",
        None,
    ),
    (
        "new 15 min is 99202",
        {"service_type": OV, "evaluation_and_management": 15, **MD, "flags": new()},
        {},
        ["99202"],
        None,
    ),
    (
        "new 29 min is 99202",
        {"service_type": OV, "evaluation_and_management": 29, **MD, "flags": new()},
        {},
        ["99202"],
        None,
    ),
    (
        "new 30 min is 99203",
        {"service_type": OV, "evaluation_and_management": 30, **MD, "flags": new()},
        {},
        ["99203"],
        None,
    ),
    (
        "new 44 min is 99203",
        {"service_type": OV, "evaluation_and_management": 44, **MD, "flags": new()},
        {},
        ["99203"],
        None,
    ),
    (
        "new 45 min is 99204",
        {"service_type": OV, "evaluation_and_management": 45, **MD, "flags": new()},
        {},
        ["99204"],
        None,
    ),
    (
        "new 59 min is 99204",
        {"service_type": OV, "evaluation_and_management": 59, **MD, "flags": new()},
        {},
        ["99204"],
        None,
    ),
    (
        "new 60 min is 99205",
        {"service_type": OV, "evaluation_and_management": 60, **MD, "flags": new()},
        {},
        ["99205"],
        None,
    ),
    # 3.7 office E/M by MDM
    (
        "straightforward MDM is 99212",
        {"service_type": OV, "mdm": "straightforward", **MD, "flags": established()},
        {},
        ["99212"],
        None,
    ),
    ("low MDM is 99213", {"service_type": OV, "mdm": "low", **MD, "flags": established()}, {}, ["99213"], None),
    (
        "moderate MDM for a new patient is 99204",
        {"service_type": OV, "mdm": "moderate", **MD, "flags": new()},
        {},
        ["99204"],
        None,
    ),
    ("high MDM is 99215", {"service_type": OV, "mdm": "high", **MD, "flags": established()}, {}, ["99215"], None),
    (
        "time beats a lower MDM level",
        {"service_type": OV, "mdm": "low", "evaluation_and_management": 40, **MD, "flags": established()},
        {},
        ["99215"],
        None,
    ),
    (
        "E/M by a psychologist is held",
        {"service_type": OV, "mdm": "low", "license_type": "PSYCHOLOGIST", "flags": established()},
        {},
        "EM-LICENSE",
        None,
    ),
    # 3.7 new vs established: the 3-year rule
    (
        "seen 2 years ago by the provider is established",
        {"service_type": OV, "evaluation_and_management": 30, **MD},
        {"history": (prior("99213", 730),)},
        ["99214"],
        None,
    ),
    (
        "seen 3 years ago to the day is established",
        {"service_type": OV, "evaluation_and_management": 30, **MD},
        {"history": (prior("99213", (DOS - date(2023, 10, 1)).days),)},
        ["99214"],
        None,
    ),
    (
        "seen 3 years and a day ago is new",
        {"service_type": OV, "evaluation_and_management": 30, **MD},
        {"history": (prior("99213", (DOS - date(2023, 9, 30)).days),)},
        ["99203"],
        None,
    ),
    (
        "seen by a same-specialty colleague is established",
        {"service_type": OV, "evaluation_and_management": 30, **MD},
        {"history": (prior("99213", 100, same_provider=False),)},
        ["99214"],
        None,
    ),
    (
        "seen only by another specialty is new",
        {"service_type": OV, "evaluation_and_management": 30, **MD},
        {"history": (prior("99213", 100, same_provider=False, same_specialty=False),)},
        ["99203"],
        None,
    ),
    # 3.7 preventive by age band
    (
        "preventive at 0 years new is 99381",
        {"service_type": PREV, "birth_date": date(2026, 3, 1), **MD, "flags": new()},
        {},
        ["99381"],
        None,
    ),
    (
        "preventive at 4 years new is 99382",
        {"service_type": PREV, "birth_date": date(2022, 3, 1), **MD, "flags": new()},
        {},
        ["99382"],
        None,
    ),
    (
        "preventive at 5 years new is 99383",
        {"service_type": PREV, "birth_date": date(2021, 3, 1), **MD, "flags": new()},
        {},
        ["99383"],
        None,
    ),
    (
        "preventive at 17 established is 99394",
        {"service_type": PREV, "birth_date": date(2009, 3, 1), **MD, "flags": established()},
        {},
        ["99394"],
        None,
    ),
    (
        "preventive at 18 established is 99395",
        {"service_type": PREV, "birth_date": date(2008, 3, 1), **MD, "flags": established()},
        {},
        ["99395"],
        None,
    ),
    (
        "preventive at 39 established is 99395",
        {"service_type": PREV, "birth_date": date(1986, 10, 2), **MD, "flags": established()},
        {},
        ["99395"],
        None,
    ),
    (
        "preventive at 40 established is 99396",
        {"service_type": PREV, "birth_date": date(1986, 10, 1), **MD, "flags": established()},
        {},
        ["99396"],
        None,
    ),
    (
        "preventive at 64 new is 99386",
        {"service_type": PREV, "birth_date": date(1962, 1, 1), **MD, "flags": new()},
        {},
        ["99386"],
        None,
    ),
    (
        "preventive at 65 established is 99397",
        {"service_type": PREV, "birth_date": date(1961, 1, 1), **MD, "flags": established()},
        {},
        ["99397"],
        None,
    ),
    (
        "Medicare first wellness visit is G0438",
        {"service_type": PREV, "birth_date": date(1950, 1, 1), **MD},
        {"payer": MEDICARE},
        ["G0438"],
        None,
    ),
    (
        "Medicare wellness visit 11 full months later is G0439",
        {"service_type": PREV, "birth_date": date(1950, 1, 1), **MD},
        {"payer": MEDICARE, "history": (prior("G0438", (DOS - date(2025, 10, 15)).days),)},
        ["G0439"],
        None,
    ),
    (
        "Medicare wellness visit too soon is held",
        {"service_type": PREV, "birth_date": date(1950, 1, 1), **MD},
        {"payer": MEDICARE, "history": (prior("G0439", (DOS - date(2025, 11, 3)).days),)},
        "PREV-AWV-TOO-SOON",
        None,
    ),
    (
        "preventive with a problem E/M puts 25 on the E/M",
        {"service_type": PREV, "mdm": "low", **MD, "flags": established(separate_problem_visit=True)},
        {},
        ["99396", "99213-25"],
        None,
    ),
    # 3.7 +G2211
    (
        "office E/M with longitudinal care adds G2211",
        {"service_type": OV, "evaluation_and_management": 20, **MD, "flags": established(longitudinal_care=True)},
        {},
        ["99213", "G2211"],
        None,
    ),
    (
        "medication management with longitudinal care adds G2211",
        {"service_type": MM, "mdm": "moderate", **MD, "flags": established(longitudinal_care=True)},
        {},
        ["99214", "G2211"],
        None,
    ),
    (
        "G2211 is dropped when the E/M has modifier 25",
        {
            "service_type": PREV,
            "mdm": "low",
            **MD,
            "flags": established(separate_problem_visit=True, longitudinal_care=True),
        },
        {},
        ["99396", "99213-25"],
        None,
    ),
    (
        "G2211 stays with modifier 25 beside vaccine administration",
        {
            "service_type": PREV,
            "mdm": "low",
            **MD,
            "flags": established(
                separate_problem_visit=True, longitudinal_care=True, same_day_services=["vaccine_administration"]
            ),
        },
        {},
        ["99396", "99213-25", "G2211"],
        None,
    ),
    (
        "G2211 stays with modifier 25 beside a Medicare AWV",
        {
            "service_type": PREV,
            "mdm": "low",
            "birth_date": date(1950, 1, 1),
            **MD,
            "flags": established(separate_problem_visit=True, longitudinal_care=True),
        },
        {"payer": MEDICARE},
        ["G0438", "99213-25", "G2211"],
        None,
    ),
    # 3.8 telehealth
    (
        "video at home is POS 10 with 95",
        {"psychotherapy": 53, "place": "telehealth_video", "home": True},
        {},
        ["90837-95"],
        "10",
    ),
    ("video elsewhere is POS 02 with 95", {"psychotherapy": 53, "place": "telehealth_video"}, {}, ["90837-95"], "02"),
    (
        "audio-only at home is 93",
        {"psychotherapy": 53, "place": "telehealth_audio", "home": True},
        {},
        ["90837-93"],
        "10",
    ),
    (
        "payer wanting GT gets GT",
        {"psychotherapy": 40, "place": "telehealth_video", "home": True},
        {"payer": PayerPolicy(video_modifier="GT")},
        ["90834-GT"],
        "10",
    ),
    (
        "payer wanting POS alone gets no modifier",
        {"psychotherapy": 40, "place": "telehealth_video", "home": True},
        {"payer": PayerPolicy(video_modifier=None)},
        ["90834"],
        "10",
    ),
    (
        "FQHC audio-only gets FQ",
        {"psychotherapy": 40, "place": "telehealth_audio", "home": True},
        {"payer": PayerPolicy(audio_only_modifier="FQ")},
        ["90834-FQ"],
        "10",
    ),
    (
        "audio-only not covered is held",
        {"psychotherapy": 40, "place": "telehealth_audio", "home": True},
        {"payer": PayerPolicy(audio_only_covered=False)},
        "TH-AUDIO-NOT-COVERED",
        None,
    ),
    (
        "payer accepting only POS 11 gets 11 with 95",
        {"psychotherapy": 40, "place": "telehealth_video", "home": True},
        {"payer": PayerPolicy(accepted_pos=("11",))},
        ["90834-95"],
        "11",
    ),
    ("in person is POS 11 without modifiers", {"psychotherapy": 40}, {}, ["90834"], "11"),
    (
        "telehealth E/M with add-on carries 95 on each line",
        {
            "service_type": MM,
            "mdm": "low",
            "psychotherapy": 20,
            **MD,
            "place": "telehealth_video",
            "home": True,
            "flags": established(),
        },
        {},
        ["99213-95", "90833-95"],
        "10",
    ),
    # 3.9 same-day pairs across encounters
    (
        "psychotherapy after same-day family takes 59",
        {"psychotherapy": 45},
        {"history": (prior("90847"),)},
        ["90834-59"],
        None,
    ),
    (
        "psychotherapy after family already marked distinct needs nothing",
        {"psychotherapy": 45},
        {"history": (prior("90846", modifiers=("59",)),)},
        ["90834"],
        None,
    ),
    (
        "psychotherapy after same-day crisis is held",
        {"psychotherapy": 45},
        {"history": (prior("90839"),)},
        "PAIR-90834-90839",
        None,
    ),
    (
        "second psychotherapy the same day is held",
        {"psychotherapy": 45},
        {"history": (prior("90834"),)},
        "UNITS-90834",
        None,
    ),
    (
        "psychotherapy the day of another provider's crisis care is billed",
        {"psychotherapy": 45},
        {"history": (prior("90839", same_provider=False),)},
        ["90834"],
        None,
    ),
    (
        "a second provider's psychotherapy the same day is billed",
        {"psychotherapy": 45},
        {"history": (prior("90834", same_provider=False),)},
        ["90834"],
        None,
    ),
    (
        "psychotherapy the day of another provider's 90791 is still held",
        {"psychotherapy": 45},
        {"history": (prior("90791", same_provider=False),)},
        "PAIR-90791-90834",
        None,
    ),
    (
        "a service on another day does not pair",
        {"psychotherapy": 45},
        {"history": (prior("90839", 1),)},
        ["90834"],
        None,
    ),
    (
        "psychotherapy after a same-day 90791 is held",
        {"psychotherapy": 45},
        {"history": (prior("90791"),)},
        "PAIR-90791-90834",
        None,
    ),
    # intake's coding flags
    (
        "a diagnosis that is not billable is held",
        {
            "psychotherapy": 53,
            "work_queue_flags": [{"queue": "coding", "reason_code": "DX-NOT-BILLABLE", "reason": "F41 is a category"}],
        },
        {},
        "DX-NOT-BILLABLE",
        None,
    ),
    (
        "a code-set warning is carried, not held",
        {
            "psychotherapy": 53,
            "work_queue_flags": [
                {"queue": "coding", "reason_code": "DX-CODE-SET-PENDING", "reason": "checked against FY2026"}
            ],
        },
        {},
        ["90837"],
        None,
    ),
    (
        "an eligibility flag is not coding's hold",
        {
            "psychotherapy": 53,
            "work_queue_flags": [{"queue": "eligibility", "reason_code": "NO-COVERAGE", "reason": "none"}],
        },
        {},
        ["90837"],
        None,
    ),
    ("an unknown service type is held", {"service_type": "acupuncture"}, {}, "SERVICE-TYPE-UNSUPPORTED", None),
]


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
