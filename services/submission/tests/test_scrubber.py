"""Scrubber edits of DOMAIN.md section 4, one row per rule: a claim with exactly one problem is held for it.

The clean claim below satisfies every edit: a 90834 on 2026-09-14 for an adult subscriber, billed to a commercial
payer whose profile (in force from 2026-01-01) wants prior authorization for 90834/90837, caps psychotherapy at 20
visits per calendar year, files within 90 days and requires credentialing; the LPC rendering it is credentialed with
the payer since 2025-01-01; the authorization AUTH-12345 (2026-08-01 to 2026-12-31, 12 units, 3 used elsewhere) has
2 more units consumed by earlier claims; the patient had 5 other visits with this payer in 2026.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from submission import coding_edits, domain, payer_edits, scrub_input, scrubber

from shared import icd10
from shared.events.charge import ChargeLine
from shared.events.reference import (
    AuthorizationPolicy,
    Credentialing,
    PayerProfile,
    PayerRef,
    ProviderRef,
    TelehealthPolicy,
    VisitLimit,
)

PAYER_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")
PROVIDER_ID = uuid.UUID("33333333-3333-4333-8333-333333333333")
OTHER_PROVIDER = uuid.UUID("44444444-4444-4444-8444-444444444444")
DOS = date(2026, 9, 14)
SUBMITTED = date(2026, 9, 15)


def _line(**changes: Any) -> ChargeLine:
    facts: dict[str, Any] = {
        "line_number": 1,
        "procedure_code": "90834",
        "units": 1,
        "diagnosis_pointers": [1],
        "place_of_service": "11",
        "amount": Decimal("150.00"),
    }
    facts.update(changes)
    return ChargeLine(**facts)


def _profile(**changes: Any) -> PayerProfile:
    facts: dict[str, Any] = {
        "effective_from": date(2026, 1, 1),
        "timely_filing_days": 90,
        "authorization": AuthorizationPolicy(mode="listed_codes", codes=["90834", "90837"]),
        "visit_limits": [VisitLimit(visits=20, period="calendar_year")],
        "credentialing_required": True,
    }
    facts.update(changes)
    return PayerProfile(**facts)


def _payer(**changes: Any) -> PayerRef:
    facts: dict[str, Any] = {
        "name": "Sandbox Behavioral Health Plan",
        "x12_payer_id": "SBX01",
        "profiles": [_profile()],
    }
    facts.update(changes)
    return PayerRef(**facts)


def _provider(**changes: Any) -> ProviderRef:
    facts: dict[str, Any] = {
        "practice_id": uuid.UUID("11111111-1111-4111-8111-111111111111"),
        "first_name": "Ana",
        "last_name": "Rivera",
        "npi": "1245319599",
        "taxonomy": "101YP2500X",
        "license_type": "LPC",
        "credentialing": [Credentialing(payer_id=PAYER_ID, effective_from=date(2025, 1, 1))],
    }
    facts.update(changes)
    return ProviderRef(**facts)


def _visit(n: int, on: date, codes: tuple[str, ...] = ("90834",), provider: uuid.UUID = PROVIDER_ID) -> Any:
    return scrub_input.PriorVisit(f"CFPRIOR{n:011d}", f"charge-{n}", on, provider, codes)


FIVE_VISITS = tuple(_visit(n, date(2026, n + 1, 10)) for n in range(5))


class Claim:
    """Builds the clean scrub input and variations of it."""

    def __init__(self, charges: Any) -> None:
        self.charges = charges
        base = charges.make(date_of_service=DOS, authorization=charges.authorization())
        coverage = base.coverage.model_copy(update={"payer_id": PAYER_ID})
        provider = base.provider.model_copy(update={"provider_id": PROVIDER_ID})
        auth = base.authorization.model_copy(update={"payer_id": PAYER_ID})
        self.charge = base.model_copy(update={"coverage": coverage, "provider": provider, "authorization": auth})

    def input(self, **changes: Any) -> scrub_input.ScrubInput:
        """The clean input with some fields replaced (charge fields via `charge={...}`)."""
        charge_changes = changes.pop("charge", {})
        payer = changes.pop("payer", _payer())
        clean = scrub_input.ScrubInput(
            charge=self.charge.model_copy(update=charge_changes),
            submission_date=SUBMITTED,
            payer=payer,
            profile=domain.profile_in_force(payer, DOS),
            provider=_provider(),
            history=scrub_input.ClaimHistory(prior_visits=FIVE_VISITS, authorization_units_consumed=2),
        )
        return replace(clean, **changes)

    def coverage(self, **changes: Any) -> Any:
        return self.charge.coverage.model_copy(update=changes)

    def auth(self, **changes: Any) -> Any:
        return self.charge.authorization.model_copy(update=changes)


@pytest.fixture
def claim(charges: Any) -> Claim:
    return Claim(charges)


Variation = Callable[[Claim], scrub_input.ScrubInput]

# (test id, the claim with one problem, rule ids expected). One row per edit of DOMAIN.md section 4.
HELD: list[tuple[str, Variation, set[str]]] = [
    # claim filing indicator (837P SBR09)
    (
        "a payer of type other whose profile names no claim filing indicator",
        lambda c: c.input(payer=_payer(profiles=[_profile(payer_type="other")])),
        {"PAYER-FILING-INDICATOR"},
    ),
    # eligibility
    ("no coverage", lambda c: c.input(charge={"coverage": None}), {"ELIG-NO-COVERAGE"}),
    (
        "coverage inactive on the date of service",
        lambda c: c.input(charge={"coverage": c.coverage(active_on_date_of_service=False)}),
        {"ELIG-INACTIVE"},
    ),
    (
        "date of service after the plan ended",
        lambda c: c.input(charge={"coverage": c.coverage(plan_end_date=date(2026, 8, 31))}),
        {"ELIG-PLAN-DATES"},
    ),
    (
        "secondary billed before the primary is adjudicated",
        lambda c: c.input(charge={"coverage": c.coverage(priority="secondary")}),
        {"ELIG-PRIORITY"},
    ),
    (
        "payer without X12 id",
        lambda c: c.input(charge={"coverage": c.coverage(x12_payer_id=" ")}),
        {"PAYER-ID-MISSING"},
    ),
    # carve-out
    (
        "psychotherapy billed to a medical plan that carves BH out",
        lambda c: c.input(payer=_payer(carve_out_payer_id=uuid.uuid4())),
        {"CARVE-OUT"},
    ),
    # authorization missing
    ("no authorization on file", lambda c: c.input(charge={"authorization": None}), {"AUTH-MISSING"}),
    (
        "authorization from another payer",
        lambda c: c.input(charge={"authorization": c.auth(payer_id=uuid.uuid4())}),
        {"AUTH-MISSING"},
    ),
    (
        "authorization does not list the code billed",
        lambda c: c.input(charge={"authorization": c.auth(service_codes=["90837"])}),
        {"AUTH-MISSING"},
    ),
    ("authorization number absent", lambda c: c.input(charge={"authorization": c.auth(number=" ")}), {"AUTH-NUMBER"}),
    (
        "every visit needs auth and none is on file",
        lambda c: c.input(
            charge={"authorization": None},
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy(mode="all"))]),
        ),
        {"AUTH-MISSING"},
    ),
    (
        "the sixth visit needs auth after five unmanaged visits",
        lambda c: c.input(
            charge={"authorization": None},
            payer=_payer(
                profiles=[_profile(authorization=AuthorizationPolicy(mode="after_visits", unmanaged_visits=5))]
            ),
        ),
        {"AUTH-MISSING"},
    ),
    # authorization exhausted or expired
    (
        "date of service after the authorization ended",
        lambda c: c.input(charge={"authorization": c.auth(end_date=date(2026, 9, 13))}),
        {"AUTH-EXPIRED"},
    ),
    (
        "date of service before the authorization started",
        lambda c: c.input(charge={"authorization": c.auth(start_date=date(2026, 9, 15))}),
        {"AUTH-EXPIRED"},
    ),
    (
        "units used up: 3 elsewhere + 2 by earlier claims of 5 approved",
        lambda c: c.input(charge={"authorization": c.auth(units_approved=5)}),
        {"AUTH-EXHAUSTED"},
    ),
    # visit limit
    (
        "sixth visit of a 5-visit calendar-year limit",
        lambda c: c.input(payer=_payer(profiles=[_profile(visit_limits=[VisitLimit(visits=5)])])),
        {"VISIT-LIMIT"},
    ),
    (
        "rolling 12 months counts last autumn's visits",
        lambda c: c.input(
            payer=_payer(profiles=[_profile(visit_limits=[VisitLimit(visits=2, period="rolling_12_months")])]),
            history=scrub_input.ClaimHistory(
                prior_visits=(_visit(1, date(2025, 9, 15)), _visit(2, date(2025, 12, 1))),
                authorization_units_consumed=2,
            ),
        ),
        {"VISIT-LIMIT"},
    ),
    # telehealth
    (
        "telehealth POS the payer does not accept",
        lambda c: c.input(
            charge={"lines": [_line(place_of_service="02", modifiers=["95"])]},
            payer=_payer(profiles=[_profile(telehealth=TelehealthPolicy(accepted_pos=["10"]))]),
        ),
        {"TELE-POS"},
    ),
    (
        "video visit without the payer's modifier 95",
        lambda c: c.input(charge={"lines": [_line(place_of_service="10")]}),
        {"TELE-MODIFIER"},
    ),
    (
        "GT where the payer wants 95",
        lambda c: c.input(charge={"lines": [_line(place_of_service="10", modifiers=["GT"])]}),
        {"TELE-MODIFIER"},
    ),
    (
        "audio-only visit with a payer that does not cover it",
        lambda c: c.input(
            charge={"lines": [_line(place_of_service="10", modifiers=["93"])]},
            payer=_payer(profiles=[_profile(telehealth=TelehealthPolicy(audio_only_covered=False))]),
        ),
        {"TELE-AUDIO-ONLY"},
    ),
    # credentialing
    (
        "provider not credentialed with the payer",
        lambda c: c.input(provider=_provider(credentialing=[])),
        {"CRED-PAYER"},
    ),
    (
        "credentialing ended before the date of service",
        lambda c: c.input(
            provider=_provider(
                credentialing=[
                    Credentialing(payer_id=PAYER_ID, effective_from=date(2025, 1, 1), effective_to=date(2026, 6, 30))
                ]
            )
        ),
        {"CRED-PAYER"},
    ),
    (
        "credentialing starts after the date of service",
        lambda c: c.input(
            provider=_provider(credentialing=[Credentialing(payer_id=PAYER_ID, effective_from=date(2026, 10, 1))])
        ),
        {"CRED-PAYER"},
    ),
    (
        "90792 rendered by an LPC",
        lambda c: c.input(
            charge={"lines": [_line(procedure_code="90792")]},
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
        ),
        {"CRED-LICENSE"},
    ),
    (
        "office E/M rendered by a psychologist",
        lambda c: c.input(
            charge={"lines": [_line(procedure_code="99213")]},
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
            provider=_provider(license_type="PSYCHOLOGIST"),
        ),
        {"CRED-LICENSE"},
    ),
    # coding pairs, add-ons and units
    (
        "90834 with 90837 the same day",
        lambda c: c.input(charge={"lines": [_line(), _line(line_number=2, procedure_code="90837")]}),
        {"PAIR-SAME-DAY"},
    ),
    (
        "90791 with psychotherapy the same day",
        lambda c: c.input(charge={"lines": [_line(), _line(line_number=2, procedure_code="90791")]}),
        {"PAIR-SAME-DAY"},
    ),
    (
        "90834 with 90847 without a distinct-service modifier",
        lambda c: c.input(charge={"lines": [_line(), _line(line_number=2, procedure_code="90847")]}),
        {"PAIR-SAME-DAY"},
    ),
    (
        "+90785 with crisis 90839",
        lambda c: c.input(
            charge={
                "lines": [
                    _line(procedure_code="90837"),
                    _line(line_number=2, procedure_code="90785"),
                    _line(line_number=3, procedure_code="90839"),
                ],
            }
        ),
        {"PAIR-SAME-DAY"},
    ),
    (
        "psychotherapy today and 90791 on another claim the same day",
        lambda c: c.input(
            history=scrub_input.ClaimHistory(
                prior_visits=(*FIVE_VISITS, _visit(9, DOS, ("90791",))), authorization_units_consumed=2
            )
        ),
        {"PAIR-SAME-DAY"},
    ),
    (
        "+G2211 with a modifier-25 E/M and no preventive service",
        lambda c: c.input(
            charge={
                "lines": [
                    _line(procedure_code="99214", modifiers=["25"]),
                    _line(line_number=2, procedure_code="G2211"),
                ]
            },
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
            provider=_provider(license_type="NP"),
        ),
        {"PAIR-SAME-DAY"},
    ),
    (
        "+90833 without an E/M",
        lambda c: c.input(
            charge={"lines": [_line(procedure_code="90833")]},
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
            provider=_provider(license_type="MD"),
        ),
        {"ADD-ON-NO-PRIMARY"},
    ),
    (
        "+90840 without 90839",
        lambda c: c.input(
            charge={"lines": [_line(procedure_code="90840")]},
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
        ),
        {"ADD-ON-NO-PRIMARY"},
    ),
    ("90834 billed for 2 units", lambda c: c.input(charge={"lines": [_line(units=2)]}), {"UNITS-DAILY-MAX"}),
    # diagnosis
    ("blank diagnosis", lambda c: c.input(charge={"diagnoses": [" "]}), {"DX-MISSING", "DX-POINTER"}),
    ("code that is not ICD-10-CM", lambda c: c.input(charge={"diagnoses": ["F99.99", "F41.1"]}), {"DX-INVALID"}),
    (
        "category code, not billable",
        lambda c: c.input(charge={"diagnoses": ["F32.1", "F41"]}),
        {"DX-NOT-BILLABLE"},
    ),
    (
        "pointer beyond the diagnoses",
        lambda c: c.input(charge={"lines": [_line(diagnosis_pointers=[1, 3])]}),
        {"DX-POINTER"},
    ),
    # lines
    ("no service lines", lambda c: c.input(charge={"lines": []}), {"LINES-MISSING"}),
    ("zero charge", lambda c: c.input(charge={"lines": [_line(amount=Decimal("0"))]}), {"LINE-AMOUNT"}),
    # provider data
    (
        "rendering NPI fails Luhn",
        lambda c: c.input(charge={"provider": c.charge.provider.model_copy(update={"npi": "1245319598"})}),
        {"PROV-NPI"},
    ),
    (
        "billing NPI fails Luhn",
        lambda c: c.input(charge={"practice": c.charge.practice.model_copy(update={"npi": "1234567890"})}),
        {"BILL-NPI"},
    ),
    (
        "rendering taxonomy missing",
        lambda c: c.input(charge={"provider": c.charge.provider.model_copy(update={"taxonomy": ""})}),
        {"PROV-TAXONOMY"},
    ),
    (
        "billing taxonomy malformed",
        lambda c: c.input(charge={"practice": c.charge.practice.model_copy(update={"taxonomy": "261QM0801"})}),
        {"BILL-TAXONOMY"},
    ),
    (
        "TIN not 9 digits",
        lambda c: c.input(charge={"practice": c.charge.practice.model_copy(update={"tin": "12-345"})}),
        {"BILL-TIN"},
    ),
    # timely filing: 90-day window, date of service 2026-09-14
    ("one day past a 90-day window", lambda c: c.input(submission_date=date(2026, 12, 14)), {"TIMELY-FILING"}),
    (
        "past the default 365 days without a profile",
        lambda c: c.input(payer=None, profile=None, submission_date=date(2027, 9, 15)),
        {"TIMELY-FILING"},
    ),
    # duplicate
    (
        "same patient, date, code and provider already billed",
        lambda c: c.input(
            history=scrub_input.ClaimHistory(
                prior_visits=(*FIVE_VISITS, _visit(9, DOS)), authorization_units_consumed=2
            )
        ),
        {"DUPLICATE"},
    ),
]

PASSES: list[tuple[str, Variation]] = [
    ("the clean claim", lambda c: c.input()),
    (
        "no payer profile in force on the date of service: a profile's defaults, commercial (CI)",
        lambda c: c.input(payer=_payer(profiles=[_profile(effective_from=date(2026, 10, 1), payer_type="other")])),
    ),
    (
        "a payer of type other whose profile names its claim filing indicator",
        lambda c: c.input(payer=_payer(profiles=[_profile(payer_type="other", claim_filing_indicator="WC")])),
    ),
    ("last day of a 90-day window", lambda c: c.input(submission_date=date(2026, 12, 13))),
    (
        "units exactly used up by this claim: 3 + 2 + 1 of 6",
        lambda c: c.input(charge={"authorization": c.auth(units_approved=6)}),
    ),
    (
        "the fifth visit after four unmanaged ones needs no auth",
        lambda c: c.input(
            charge={"authorization": None},
            payer=_payer(
                profiles=[_profile(authorization=AuthorizationPolicy(mode="after_visits", unmanaged_visits=6))]
            ),
        ),
    ),
    (
        "sixth visit of a 6-visit limit",
        lambda c: c.input(payer=_payer(profiles=[_profile(visit_limits=[VisitLimit(visits=6)])])),
    ),
    (
        "a visit still held by the scrubber does not count against a 5-visit limit",
        lambda c: c.input(
            payer=_payer(profiles=[_profile(visit_limits=[VisitLimit(visits=5)])]),
            history=scrub_input.ClaimHistory(
                prior_visits=(*FIVE_VISITS[:4], replace(FIVE_VISITS[4], billed=False)),
                authorization_units_consumed=2,
            ),
        ),
    ),
    (
        "last year's visits do not count in a calendar-year limit",
        lambda c: c.input(
            payer=_payer(profiles=[_profile(visit_limits=[VisitLimit(visits=1)])]),
            history=scrub_input.ClaimHistory(
                prior_visits=(_visit(1, date(2025, 12, 31)),), authorization_units_consumed=2
            ),
        ),
    ),
    (
        "a plan year from 2025-10-01 leaves a 2025-09-30 visit out",
        lambda c: c.input(
            charge={"coverage": c.coverage(plan_start_date=date(2024, 10, 1))},
            payer=_payer(profiles=[_profile(visit_limits=[VisitLimit(visits=1, period="plan_year")])]),
            history=scrub_input.ClaimHistory(
                prior_visits=(_visit(1, date(2025, 9, 30)),), authorization_units_consumed=2
            ),
        ),
    ),
    (
        "video visit at home with 95",
        lambda c: c.input(charge={"lines": [_line(place_of_service="10", modifiers=["95"])]}),
    ),
    (
        "audio-only with 93 where covered",
        lambda c: c.input(charge={"lines": [_line(place_of_service="10", modifiers=["93"])]}),
    ),
    (
        "90834 with 90847 as a separate and distinct service (59)",
        lambda c: c.input(charge={"lines": [_line(), _line(line_number=2, procedure_code="90847", modifiers=["59"])]}),
    ),
    (
        "E/M with +90833 by an MD",
        lambda c: c.input(
            charge={"lines": [_line(procedure_code="99214"), _line(line_number=2, procedure_code="90833")]},
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
            provider=_provider(license_type="MD"),
        ),
    ),
    (
        "+G2211 with a modifier-25 E/M and an annual wellness visit",
        lambda c: c.input(
            charge={
                "lines": [
                    _line(procedure_code="99214", modifiers=["25"]),
                    _line(line_number=2, procedure_code="G2211"),
                    _line(line_number=3, procedure_code="G0439"),
                ]
            },
            payer=_payer(profiles=[_profile(authorization=AuthorizationPolicy())]),
            provider=_provider(license_type="NP"),
        ),
    ),
    (
        "another provider's 90834 the same day is not a duplicate",
        lambda c: c.input(
            history=scrub_input.ClaimHistory(
                prior_visits=(*FIVE_VISITS, _visit(9, DOS, provider=OTHER_PROVIDER)), authorization_units_consumed=2
            )
        ),
    ),
    (
        "credentialing not required by this payer",
        lambda c: c.input(
            payer=_payer(profiles=[_profile(credentialing_required=False)]), provider=_provider(credentialing=[])
        ),
    ),
    (
        "the carve-out plan itself is billed for psychotherapy",
        lambda c: c.input(payer=_payer(behavioral_health_carve_out=True)),
    ),
    (
        "secondary billed after the primary was adjudicated",
        lambda c: c.input(
            charge={"coverage": c.coverage(priority="secondary")},
            history=scrub_input.ClaimHistory(
                prior_visits=FIVE_VISITS, authorization_units_consumed=2, primary_adjudicated=True
            ),
        ),
    ),
]


@pytest.mark.parametrize(("variation", "expected"), [c[1:] for c in HELD], ids=[c[0] for c in HELD])
def test_a_claim_violating_an_edit_is_held_with_its_rule_id(
    claim: Claim, variation: Variation, expected: set[str]
) -> None:
    result = scrubber.scrub_claim(variation(claim))
    assert {edit.rule_id for edit in result.errors} == expected
    assert result.passed is False
    assert all(edit.reason.strip() for edit in result.edits)


@pytest.mark.parametrize("variation", [c[1] for c in PASSES], ids=[c[0] for c in PASSES])
def test_a_claim_satisfying_every_edit_passes(claim: Claim, variation: Variation) -> None:
    result = scrubber.scrub_claim(variation(claim))
    assert result.errors == []
    assert result.passed is True


def test_every_edit_of_domain_section_4_has_a_held_case() -> None:
    covered = {rule for _, _, expected in HELD for rule in expected}
    families = ("ELIG", "CARVE", "AUTH-MISSING", "AUTH-EXHAUSTED", "AUTH-EXPIRED", "VISIT", "TELE", "CRED")
    families += ("PAIR", "ADD-ON", "UNITS", "DX", "PROV", "BILL", "TIMELY", "DUPLICATE", "PAYER-FILING")
    assert all(any(rule.startswith(family) for rule in covered) for family in families)
    assert len(scrubber.SCRUBBER_EDITS) == 14


def test_payer_unknown_is_a_warning_that_travels_and_skips_payer_rules(claim: Claim) -> None:
    result = scrubber.scrub_claim(claim.input(payer=None, profile=None, provider=None))
    assert result.passed is True
    assert [(e.rule_id, e.severity) for e in result.edits] == [("PAYER-UNKNOWN", "warning")]


@pytest.mark.parametrize(
    ("payer_type", "named", "sbr09"),
    [
        ("medicare", None, "MB"),
        ("medicaid", None, "MC"),
        ("commercial", None, "CI"),
        ("other", None, None),
        ("commercial", "BL", "BL"),
        ("commercial", "HM", "HM"),
        ("medicare", "16", "16"),
        ("other", "WC", "WC"),
    ],
)
def test_the_claim_filing_indicator_is_the_profiles_else_the_one_of_its_payer_type(
    payer_type: str, named: str | None, sbr09: str | None
) -> None:
    profile = _profile(payer_type=payer_type, claim_filing_indicator=named)
    assert domain.claim_filing_indicator(profile) == sbr09
    assert domain.claim_filing_indicator(None) == "CI"  # no profile in force: a profile's defaults


@pytest.mark.parametrize("code", ["XX", "ci", "", "1", "M B"])
def test_a_claim_filing_indicator_outside_the_x12_code_list_is_refused_by_the_contract(code: str) -> None:
    with pytest.raises(ValueError, match="claim_filing_indicator"):
        _profile(claim_filing_indicator=code)


def test_dates_of_service_after_the_packaged_code_set_get_a_warning(claim: Claim) -> None:
    result = scrubber.scrub_claim(claim.input(charge={"date_of_service": date(2026, 10, 5)}))
    assert result.passed is True
    assert [(e.rule_id, e.severity) for e in result.edits] == [("DX-CODE-SET", "warning")]


def test_undated_legacy_enrollment_is_a_warning(claim: Claim) -> None:
    result = scrubber.scrub_claim(claim.input(provider=_provider(credentialing=[], credentialed_payer_ids=[PAYER_ID])))
    assert result.passed is True
    assert [e.rule_id for e in result.edits] == ["CRED-UNDATED"]


@pytest.mark.parametrize(
    ("lines", "units"),
    [
        ([_line()], 1),
        ([_line(procedure_code="99214"), _line(line_number=2, procedure_code="90833")], 1),
        ([_line(procedure_code="90837"), _line(line_number=2, procedure_code="90785")], 1),
    ],
)
def test_a_claim_consumes_one_unit_per_visit_line_and_add_ons_ride_along(
    claim: Claim, lines: list[ChargeLine], units: int
) -> None:
    charge = claim.charge.model_copy(update={"lines": lines, "authorization": claim.auth(service_codes=[])})
    assert payer_edits.authorization_units(charge) == units


FY2027 = Path(__file__).parents[2] / "intake" / "tests" / "fixtures" / "icd10cm-order-2027.txt"


@pytest.mark.parametrize(
    ("diagnoses", "date_of_service", "expected"),
    [
        (["F41.12"], date(2026, 11, 15), []),  # new in FY2027, in force on that date
        (["F411"], date(2026, 11, 15), []),  # undotted, as intake accepts it
        (["F33.1"], date(2026, 11, 15), [("DX-INVALID", "error")]),  # dropped from FY2027
        (["F41.12"], date(2026, 9, 30), [("DX-INVALID", "error")]),  # not yet valid under FY2026
        (["F41"], date(2026, 11, 15), [("DX-NOT-BILLABLE", "error")]),
        (["F41.1"], date(2027, 10, 1), [("DX-CODE-SET", "warning")]),  # FY2028 not loaded: nearest set, a warning
    ],
)
def test_diagnoses_are_checked_against_the_release_in_force_on_the_date_of_service(
    claim: Claim, diagnoses: list[str], date_of_service: date, expected: list[tuple[str, str]]
) -> None:
    sets = icd10.load_code_sets([icd10.CodeFile(fiscal_year=2027, path=FY2027)])
    charge = {"diagnoses": diagnoses, "date_of_service": date_of_service, "lines": [_line()]}
    scrub = claim.input(charge=charge, code_sets=sets)
    found = [(e.rule_id, e.severity) for e in coding_edits.edit_diagnosis(scrub)]
    assert found == expected
