"""The pre-submission scrubber (DOMAIN.md section 4): pure edits over a claim, its payer, provider and history.

Each edit is a pure function `(ScrubInput) -> list[ScrubEdit]` returning findings with a rule id, a severity and a
plain-language reason. Error-level findings hold the claim; warnings travel with it in `claim.submitted`.
`SCRUBBER_EDITS` lists the edits in the order they run.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from types import ModuleType

from shared.events.charge import ChargeFacts, ChargeLine
from shared.events.claim import ScrubEdit
from shared.events.reference import PayerProfile, PayerRef, ProviderRef, VisitLimit
from submission import rules
from submission.domain import DEFAULT_TIMELY_FILING_DAYS, benefit_period, npi_is_valid

MAX_DIAGNOSES = 12
MAX_POINTERS_PER_LINE = 4
# The newest packaged ICD-10-CM tabular is FY2026 (DOMAIN.md 3.10); later dates of service get a visible warning.
PACKAGED_CODE_SET_LAST_DAY = date(2026, 9, 30)
ICD10_START = date(2015, 10, 1)
TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")


@dataclass(frozen=True)
class PriorVisit:
    """Another (not voided) claim of the same patient with the same payer, as visit counting and duplicates see it.

    `billed` is false while that claim is held by the scrubber: it is still a duplicate candidate, but it does not
    count against the payer's visit limits until it goes out.
    """

    claim_id: str
    charge_id: str
    date_of_service: date
    provider_id: uuid.UUID
    procedure_codes: tuple[str, ...]
    billed: bool = True


@dataclass(frozen=True)
class ClaimHistory:
    """Counters the scrubber needs from stored claims: prior visits, authorization units consumed, primary claim."""

    prior_visits: tuple[PriorVisit, ...] = ()
    authorization_units_consumed: int = 0
    primary_adjudicated: bool = False


@dataclass(frozen=True)
class ScrubInput:
    """What the scrubber looks at: the charge, the payer and its profile in force on the date of service, the
    rendering provider's master data, the claim history and the submission business date."""

    charge: ChargeFacts
    submission_date: date
    payer: PayerRef | None = None
    profile: PayerProfile | None = None
    provider: ProviderRef | None = None
    history: ClaimHistory = field(default_factory=ClaimHistory)

    @property
    def codes(self) -> list[str]:
        """Procedure codes of the claim's lines."""
        return [line.procedure_code for line in self.charge.lines]


@dataclass(frozen=True)
class ScrubResult:
    """Every edit that fired; the claim is held when any of them is an error."""

    edits: tuple[ScrubEdit, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when no error-level edit fired (warnings do not hold a claim)."""
        return not any(edit.severity == "error" for edit in self.edits)

    @property
    def errors(self) -> list[ScrubEdit]:
        """The error-level edits, the reasons a claim is held."""
        return [edit for edit in self.edits if edit.severity == "error"]


def _error(rule_id: str, reason: str) -> ScrubEdit:
    """An error-level finding: holds the claim."""
    return ScrubEdit(rule_id=rule_id, severity="error", reason=reason)


def _warning(rule_id: str, reason: str) -> ScrubEdit:
    """A warning: the claim goes out and the finding travels with it."""
    return ScrubEdit(rule_id=rule_id, severity="warning", reason=reason)


def edit_eligibility(scrub: ScrubInput) -> list[ScrubEdit]:
    """The coverage billed is active on the date of service, inside its plan dates and billed in the right order."""
    charge = scrub.charge
    coverage = charge.coverage
    if coverage is None:
        return [_error("ELIG-NO-COVERAGE", "the patient has no coverage on file to bill")]
    dos = charge.date_of_service
    edits: list[ScrubEdit] = []
    if not coverage.active_on_date_of_service:
        edits.append(
            _error("ELIG-INACTIVE", f"the coverage with {coverage.payer_name} was not active on {dos.isoformat()}")
        )
    elif (coverage.plan_start_date and dos < coverage.plan_start_date) or (
        coverage.plan_end_date and dos > coverage.plan_end_date
    ):
        edits.append(
            _error(
                "ELIG-PLAN-DATES",
                f"the date of service {dos.isoformat()} is outside the plan dates of the coverage with "
                f"{coverage.payer_name}",
            )
        )
    if coverage.priority != "primary" and not scrub.history.primary_adjudicated:
        edits.append(
            _error(
                "ELIG-PRIORITY",
                f"the coverage is {coverage.priority} but no primary claim for this visit has been adjudicated; "
                "bill the primary payer first",
            )
        )
    if not coverage.x12_payer_id.strip():
        edits.append(_error("PAYER-ID-MISSING", f"{coverage.payer_name} has no X12 payer id"))
    if scrub.payer is None:
        edits.append(
            _warning("PAYER-UNKNOWN", f"no payer profile on file for {coverage.payer_name}; payer rules not checked")
        )
    return edits


def edit_carve_out(scrub: ScrubInput) -> list[ScrubEdit]:
    """Behavioral-health services are not billed to a medical plan that carves them out to a BH plan."""
    if scrub.payer is None or scrub.payer.carve_out_payer_id is None:
        return []
    carved = sorted({code for code in scrub.codes if rules.is_behavioral_health(code)})
    if not carved:
        return []
    return [
        _error(
            "CARVE-OUT",
            f"{scrub.payer.name} carves behavioral health out to another plan; bill {', '.join(carved)} to the "
            "behavioral-health plan",
        )
    ]


def authorization_required_codes(scrub: ScrubInput) -> list[str]:
    """The claim's codes that need a prior authorization under the payer's policy (empty: none needed)."""
    if scrub.profile is None:
        return []
    policy = scrub.profile.authorization
    billable = [line.procedure_code for line in scrub.charge.lines if line.procedure_code not in rules.ADD_ON_PRIMARIES]
    if policy.mode == "all":
        return billable
    if policy.mode == "listed_codes":
        return [code for code in billable if code in policy.codes]
    if policy.mode == "after_visits":
        coverage = scrub.charge.coverage
        start, end = benefit_period(
            "plan_year" if coverage and coverage.plan_start_date else "calendar_year",
            scrub.charge.date_of_service,
            coverage.plan_start_date if coverage else None,
        )
        visits = sum(
            1 for visit in scrub.history.prior_visits if visit.billed and start <= visit.date_of_service <= end
        )
        return billable if visits >= (policy.unmanaged_visits or 0) else []
    return []


def edit_authorization_missing(scrub: ScrubInput) -> list[ScrubEdit]:
    """A service that needs an authorization has one on file, from this payer, for its codes, with a number."""
    needed = authorization_required_codes(scrub)
    if not needed:
        return []
    auth = scrub.charge.authorization
    coverage = scrub.charge.coverage
    codes = ", ".join(sorted(set(needed)))
    if auth is None:
        return [_error("AUTH-MISSING", f"this payer requires prior authorization for {codes} and none is on file")]
    if auth.payer_id is not None and coverage is not None and auth.payer_id != coverage.payer_id:
        return [_error("AUTH-MISSING", "the authorization on file was issued by another payer than the one billed")]
    if auth.service_codes:
        uncovered = sorted({code for code in needed if code not in auth.service_codes})
        if uncovered:
            return [
                _error("AUTH-MISSING", f"the authorization on file does not cover {', '.join(uncovered)}"),
            ]
    if not auth.number.strip():
        return [_error("AUTH-NUMBER", "the authorization number is missing, so the claim cannot carry it (REF*G1)")]
    return []


def authorization_units(charge: ChargeFacts) -> int:
    """Units (visits) a claim consumes of its authorization: units of covered lines, add-ons riding on their
    primary's visit."""
    auth = charge.authorization
    if auth is None:
        return 0
    return sum(
        line.units
        for line in charge.lines
        if line.procedure_code not in rules.ADD_ON_PRIMARIES
        and (not auth.service_codes or line.procedure_code in auth.service_codes)
    )


def edit_authorization_exhausted(scrub: ScrubInput) -> list[ScrubEdit]:
    """A required authorization covers the date of service and has units left for this claim."""
    auth = scrub.charge.authorization
    if auth is None or not authorization_required_codes(scrub):
        return []
    dos = scrub.charge.date_of_service
    if not auth.start_date <= dos <= auth.end_date:
        return [
            _error(
                "AUTH-EXPIRED",
                f"authorization {auth.number} runs {auth.start_date.isoformat()} to {auth.end_date.isoformat()}; "
                f"the date of service {dos.isoformat()} is outside it",
            )
        ]
    used = auth.units_used + scrub.history.authorization_units_consumed
    wanted = authorization_units(scrub.charge)
    if used + wanted > auth.units_approved:
        return [
            _error(
                "AUTH-EXHAUSTED",
                f"authorization {auth.number} approved {auth.units_approved} units and {used} are used; "
                f"this claim needs {wanted} more",
            )
        ]
    return []


def _limit_codes(limit: VisitLimit) -> Sequence[str]:
    """The codes a visit limit counts (every psychotherapy code when the payer lists none)."""
    return limit.codes or rules.PSYCHOTHERAPY_VISIT_CODES


def edit_visit_limit(scrub: ScrubInput) -> list[ScrubEdit]:
    """The patient has visits left in the payer's benefit period for the codes a visit limit counts."""
    if scrub.profile is None:
        return []
    coverage = scrub.charge.coverage
    edits: list[ScrubEdit] = []
    for limit in scrub.profile.visit_limits:
        codes = _limit_codes(limit)
        if not any(code in codes for code in scrub.codes):
            continue
        start, end = benefit_period(
            limit.period, scrub.charge.date_of_service, coverage.plan_start_date if coverage else None
        )
        visits = sum(
            1
            for visit in scrub.history.prior_visits
            if visit.billed
            and start <= visit.date_of_service <= end
            and any(code in codes for code in visit.procedure_codes)
        )
        if visits >= limit.visits:
            edits.append(
                _error(
                    "VISIT-LIMIT",
                    f"the payer covers {limit.visits} visits from {start.isoformat()} to {end.isoformat()} and "
                    f"{visits} are already billed",
                )
            )
    return edits


def _telehealth_kind(line: ChargeLine) -> str | None:
    """'audio' or 'video' for a telehealth line (by POS or modifier), None for an in-person line."""
    modifiers = set(line.modifiers)
    if modifiers & rules.AUDIO_ONLY_MODIFIERS:
        return "audio"
    if line.place_of_service in rules.TELEHEALTH_POS or modifiers & rules.VIDEO_MODIFIERS:
        return "video"
    return None


def edit_telehealth(scrub: ScrubInput) -> list[ScrubEdit]:
    """Telehealth lines carry the place of service and modifier this payer wants; audio-only only where covered."""
    if scrub.profile is None:
        return []
    policy = scrub.profile.telehealth
    edits: list[ScrubEdit] = []
    for line in scrub.charge.lines:
        kind = _telehealth_kind(line)
        if kind is None:
            continue
        number = line.line_number
        if line.place_of_service not in policy.accepted_pos:
            edits.append(
                _error(
                    "TELE-POS",
                    f"line {number} is telehealth with place of service {line.place_of_service}; this payer "
                    f"accepts {', '.join(policy.accepted_pos) or 'no telehealth place of service'}",
                )
            )
        if kind == "audio":
            if not policy.audio_only_covered:
                edits.append(_error("TELE-AUDIO-ONLY", f"line {number} is audio-only, which this payer does not cover"))
            elif policy.audio_only_modifier not in line.modifiers:
                edits.append(
                    _error(
                        "TELE-MODIFIER",
                        f"line {number} is audio-only; this payer wants modifier {policy.audio_only_modifier}",
                    )
                )
        elif policy.video_modifier and policy.video_modifier not in line.modifiers:
            edits.append(
                _error(
                    "TELE-MODIFIER",
                    f"line {number} is a video visit; this payer wants modifier {policy.video_modifier}",
                )
            )
        elif not policy.video_modifier and set(line.modifiers) & rules.VIDEO_MODIFIERS:
            edits.append(
                _error(
                    "TELE-MODIFIER",
                    f"line {number} carries a telehealth modifier this payer does not want with place of service "
                    f"{line.place_of_service}",
                )
            )
    return edits


def edit_credentialing(scrub: ScrubInput) -> list[ScrubEdit]:
    """The rendering provider is credentialed with this payer on the date of service and licensed for each code."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    license_type = (scrub.provider.license_type if scrub.provider else charge.provider.license_type).upper()
    prescriber_codes = sorted({code for code in scrub.codes if code in rules.PRESCRIBER_ONLY_CODES})
    if prescriber_codes and license_type not in rules.PRESCRIBER_LICENSES:
        edits.append(
            _error(
                "CRED-LICENSE",
                f"{', '.join(prescriber_codes)} must be rendered by a prescriber (MD, DO, NP or PA); "
                f"the rendering provider is licensed {license_type}",
            )
        )
    coverage = charge.coverage
    if scrub.profile is None or not scrub.profile.credentialing_required or coverage is None:
        return edits
    provider = scrub.provider
    if provider is None:
        edits.append(
            _warning("CRED-UNKNOWN-PROVIDER", "the rendering provider's payer enrollments are not on file to check")
        )
        return edits
    dos = charge.date_of_service
    enrollments = [c for c in provider.credentialing if c.payer_id == coverage.payer_id]
    if any(c.effective_from <= dos and (c.effective_to is None or dos <= c.effective_to) for c in enrollments):
        return edits
    if not enrollments and coverage.payer_id in provider.credentialed_payer_ids:
        edits.append(
            _warning(
                "CRED-UNDATED", "the provider's enrollment with this payer has no dates; check it covers the visit"
            )
        )
        return edits
    if enrollments:
        spans = "; ".join(
            f"{c.effective_from.isoformat()} to {c.effective_to.isoformat() if c.effective_to else 'open'}"
            for c in enrollments
        )
        reason = f"the rendering provider's enrollment with {coverage.payer_name} ({spans}) does not cover {dos}"
    else:
        reason = f"the rendering provider is not credentialed with {coverage.payer_name}"
    edits.append(_error("CRED-PAYER", reason))
    return edits


def _has_bypass(lines: Sequence[ChargeLine], *codes: str) -> bool:
    """Whether a line of any of the codes carries a modifier that may bypass a modifier-indicator-1 pair."""
    return any(set(line.modifiers) & rules.BYPASS_MODIFIERS for line in lines if line.procedure_code in codes)


def edit_coding_pairs(scrub: ScrubInput, pairs: Sequence[rules.SameDayPair] = rules.SAME_DAY_PAIRS) -> list[ScrubEdit]:
    """Same-day pairs (DOMAIN.md 3.9), add-ons without their primary, and units over the daily maximum."""
    charge = scrub.charge
    dos = charge.date_of_service
    lines = charge.lines
    codes = set(scrub.codes)
    same_day_elsewhere = {
        code
        for visit in scrub.history.prior_visits
        if visit.date_of_service == dos and visit.provider_id == charge.provider.provider_id
        for code in visit.procedure_codes
    }
    edits: list[ScrubEdit] = []
    seen: set[frozenset[str]] = set()
    for pair in pairs:
        key = frozenset((pair.column_one, pair.column_two))
        if key in seen or not pair.in_force(dos):
            continue
        if pair.column_one in codes and pair.column_two in codes:
            if pair.modifier_indicator == 1 and _has_bypass(lines, pair.column_one, pair.column_two):
                continue
            seen.add(key)
            edits.append(
                _error("PAIR-SAME-DAY", f"{pair.column_one} and {pair.column_two} on one date: {pair.rationale}")
            )
        elif pair.modifier_indicator == 0 and (
            (pair.column_one in codes and pair.column_two in same_day_elsewhere)
            or (pair.column_two in codes and pair.column_one in same_day_elsewhere)
        ):
            seen.add(key)
            edits.append(
                _error(
                    "PAIR-SAME-DAY",
                    f"{pair.column_one} and {pair.column_two} by the same provider on one date (one of them on "
                    f"another claim): {pair.rationale}",
                )
            )
    modifier_25 = any("25" in line.modifiers for line in lines if line.procedure_code in rules.OFFICE_EM)
    if "G2211" in codes and modifier_25 and not codes & set(rules.G2211_MODIFIER_25_EXCEPTIONS):
        edits.append(
            _error(
                "PAIR-SAME-DAY",
                "+G2211 is not payable with an E/M carrying modifier 25 unless the other service is an annual "
                "wellness visit, vaccine administration or a Medicare preventive service",
            )
        )
    for code in sorted(codes & set(rules.ADD_ON_PRIMARIES)):
        if not codes & set(rules.ADD_ON_PRIMARIES[code]):
            edits.append(_error("ADD-ON-NO-PRIMARY", f"+{code} is an add-on code and the claim has no primary for it"))
    units = Counter[str]()
    for line in lines:
        units[line.procedure_code] += line.units
    for code, count in sorted(units.items()):
        maximum = rules.DAILY_MAX_UNITS.get(code)
        if maximum is not None and count > maximum:
            edits.append(
                _error("UNITS-DAILY-MAX", f"{code} is billed for {count} units; at most {maximum} per patient per day")
            )
    return edits


@cache
def _icd10() -> ModuleType:
    """The packaged ICD-10-CM tabular (imported on first use: it takes a second to load)."""
    import simple_icd_10_cm

    module: ModuleType = simple_icd_10_cm
    return module


def diagnosis_problem(code: str) -> str | None:
    """Why an ICD-10-CM code cannot be billed ('invalid' or 'not billable'), None when it is a billable code."""
    icd = _icd10()
    text = code.strip().upper()
    if not text or not icd.is_valid_item(text):
        return "invalid"
    if not icd.is_leaf(text):
        return "not billable"
    return None


def edit_diagnosis(scrub: ScrubInput) -> list[ScrubEdit]:
    """Diagnoses present (at most 12), valid and billable ICD-10-CM codes, every line pointing at 1–4 of them."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    count = len(charge.diagnoses)
    if count == 0 or not all(code.strip() for code in charge.diagnoses):
        edits.append(_error("DX-MISSING", "the claim has no diagnosis code; every claim needs a principal diagnosis"))
    if count > MAX_DIAGNOSES:
        edits.append(_error("DX-TOO-MANY", f"{count} diagnoses; a professional claim carries at most 12"))
    if charge.date_of_service < ICD10_START:
        edits.append(_error("DX-INVALID", "dates of service before 2015-10-01 need ICD-9, which is not accepted"))
    elif charge.date_of_service > PACKAGED_CODE_SET_LAST_DAY:
        edits.append(
            _warning(
                "DX-CODE-SET",
                "diagnoses were checked against the FY2026 ICD-10-CM code set; no code set for this date of "
                "service is loaded yet",
            )
        )
    for position, code in enumerate(charge.diagnoses, start=1):
        if not code.strip():
            continue
        problem = diagnosis_problem(code)
        if problem == "invalid":
            edits.append(_error("DX-INVALID", f"diagnosis {position} ({code}) is not an ICD-10-CM code"))
        elif problem == "not billable":
            edits.append(
                _error(
                    "DX-NOT-BILLABLE",
                    f"diagnosis {position} ({code}) is a category, not a billable code; use a more specific code",
                )
            )
    for line in charge.lines:
        pointers = line.diagnosis_pointers
        if not pointers or len(pointers) > MAX_POINTERS_PER_LINE:
            edits.append(_error("DX-POINTER", f"line {line.line_number} must point at 1 to 4 diagnoses"))
        elif any(pointer < 1 or pointer > count for pointer in pointers):
            edits.append(
                _error(
                    "DX-POINTER",
                    f"line {line.line_number} points at diagnosis {max(pointers)} but the claim has {count}",
                )
            )
    return edits


def edit_lines(scrub: ScrubInput) -> list[ScrubEdit]:
    """A claim needs at least one service line with a positive charge."""
    charge = scrub.charge
    if not charge.lines:
        return [_error("LINES-MISSING", "the claim has no service lines")]
    return [
        _error("LINE-AMOUNT", f"line {line.line_number} has a charge of {line.amount}; charges must be positive")
        for line in charge.lines
        if line.amount <= 0
    ]


def edit_provider_data(scrub: ScrubInput) -> list[ScrubEdit]:
    """Rendering and billing NPIs pass the Luhn check; taxonomy codes well formed; a 9-digit TIN."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    if not npi_is_valid(charge.provider.npi):
        edits.append(_error("PROV-NPI", "the rendering provider's NPI fails the NPI check digit (Luhn, prefix 80840)"))
    if not npi_is_valid(charge.practice.npi):
        edits.append(_error("BILL-NPI", "the billing practice's NPI fails the NPI check digit (Luhn, prefix 80840)"))
    if not TAXONOMY.match(charge.provider.taxonomy.strip().upper()):
        edits.append(_error("PROV-TAXONOMY", "the rendering provider has no valid 10-character taxonomy code"))
    if not TAXONOMY.match(charge.practice.taxonomy.strip().upper()):
        edits.append(_error("BILL-TAXONOMY", "the billing practice has no valid 10-character taxonomy code"))
    tin = charge.practice.tin.replace("-", "")
    if len(tin) != 9 or not tin.isdigit():
        edits.append(_error("BILL-TIN", "the billing practice's tax id must be 9 digits"))
    return edits


def edit_timely_filing(scrub: ScrubInput) -> list[ScrubEdit]:
    """The date of service is inside the payer's filing window on the submission date."""
    window = scrub.profile.timely_filing_days if scrub.profile else DEFAULT_TIMELY_FILING_DAYS
    age = (scrub.submission_date - scrub.charge.date_of_service).days
    if age > window:
        return [
            _error(
                "TIMELY-FILING",
                f"the date of service is {age} days old; this payer accepts claims up to {window} days after the visit",
            )
        ]
    return []


def edit_duplicate(scrub: ScrubInput) -> list[ScrubEdit]:
    """The same service (patient, date, code, provider) has not already been billed to this payer."""
    charge = scrub.charge
    codes = set(scrub.codes)
    for visit in scrub.history.prior_visits:
        if visit.charge_id == charge.charge_id:
            continue
        if visit.date_of_service != charge.date_of_service or visit.provider_id != charge.provider.provider_id:
            continue
        repeated = sorted(codes & set(visit.procedure_codes))
        if repeated:
            return [
                _error(
                    "DUPLICATE",
                    f"{', '.join(repeated)} for this patient, provider and date is already billed on claim "
                    f"{visit.claim_id}; correct that claim instead of sending a new one",
                )
            ]
    return []


ScrubberEdit = Callable[[ScrubInput], list[ScrubEdit]]

SCRUBBER_EDITS: tuple[ScrubberEdit, ...] = (
    edit_eligibility,
    edit_carve_out,
    edit_authorization_missing,
    edit_authorization_exhausted,
    edit_visit_limit,
    edit_telehealth,
    edit_credentialing,
    edit_coding_pairs,
    edit_diagnosis,
    edit_lines,
    edit_provider_data,
    edit_timely_filing,
    edit_duplicate,
)


def scrub_claim(scrub: ScrubInput, edits: Sequence[ScrubberEdit] = SCRUBBER_EDITS) -> ScrubResult:
    """Run every scrubber edit over a claim."""
    return ScrubResult(tuple(found for edit in edits for found in edit(scrub)))


def history_window(date_of_service: date) -> tuple[date, date]:
    """Dates of service whose claims can matter to a claim's benefit periods and same-day edits."""
    return date_of_service - timedelta(days=366), date_of_service + timedelta(days=366)
