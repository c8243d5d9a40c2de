"""Payer-policy edits of the scrubber (DOMAIN.md section 4): eligibility and coordination of benefits, carve-outs,
prior authorization, visit limits, telehealth, credentialing and timely filing.

Each edit is a pure function `(ScrubInput) -> list[ScrubEdit]` over the payer's profile in force on the date of
service; `scrubber.SCRUBBER_EDITS` decides the order they run in.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.events.charge import ChargeFacts, ChargeLine
from shared.events.claim import ScrubEdit
from shared.events.reference import VisitLimit
from submission import rules
from submission.domain import DEFAULT_TIMELY_FILING_DAYS, benefit_period, claim_filing_indicator
from submission.scrub_input import ScrubInput, error_finding, warning_finding


def edit_eligibility(scrub: ScrubInput) -> list[ScrubEdit]:
    """The coverage billed is active on the date of service, inside its plan dates and billed in the right order."""
    charge = scrub.charge
    coverage = charge.coverage
    if coverage is None:
        return [error_finding("ELIG-NO-COVERAGE", "the patient has no coverage on file to bill")]
    dos = charge.date_of_service
    edits: list[ScrubEdit] = []
    if not coverage.active_on_date_of_service:
        edits.append(
            error_finding(
                "ELIG-INACTIVE", f"the coverage with {coverage.payer_name} was not active on {dos.isoformat()}"
            )
        )
    elif (coverage.plan_start_date and dos < coverage.plan_start_date) or (
        coverage.plan_end_date and dos > coverage.plan_end_date
    ):
        edits.append(
            error_finding(
                "ELIG-PLAN-DATES",
                f"the date of service {dos.isoformat()} is outside the plan dates of the coverage with "
                f"{coverage.payer_name}",
            )
        )
    if coverage.priority != "primary" and not scrub.history.primary_adjudicated:
        edits.append(
            error_finding(
                "ELIG-PRIORITY",
                f"the coverage is {coverage.priority} but no primary claim for this visit has been adjudicated; "
                "bill the primary payer first",
            )
        )
    if not coverage.x12_payer_id.strip():
        edits.append(error_finding("PAYER-ID-MISSING", f"{coverage.payer_name} has no X12 payer id"))
    if scrub.payer is None:
        edits.append(
            warning_finding(
                "PAYER-UNKNOWN", f"no payer profile on file for {coverage.payer_name}; payer rules not checked"
            )
        )
    return edits


def edit_claim_filing_indicator(scrub: ScrubInput) -> list[ScrubEdit]:
    """The payer profile in force says which claim filing indicator (837P SBR09) the claim goes out with."""
    coverage = scrub.charge.coverage
    if coverage is None or scrub.profile is None or claim_filing_indicator(scrub.profile) is not None:
        return []
    return [
        error_finding(
            "PAYER-FILING-INDICATOR",
            f"the claim filing indicator (SBR09) is unknown: the payer profile of {coverage.payer_name} (payer type "
            f"{scrub.profile.payer_type}) names none; set the profile's claim_filing_indicator (MB Medicare Part B, "
            "MC Medicaid, BL Blue Cross Blue Shield, HM HMO, CI commercial, WC workers' compensation, ...)",
        )
    ]


def edit_carve_out(scrub: ScrubInput) -> list[ScrubEdit]:
    """Behavioral-health services are not billed to a medical plan that carves them out to a BH plan."""
    if scrub.payer is None or scrub.payer.carve_out_payer_id is None:
        return []
    carved = sorted({code for code in scrub.codes if rules.is_behavioral_health(code)})
    if not carved:
        return []
    return [
        error_finding(
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
        return [
            error_finding("AUTH-MISSING", f"this payer requires prior authorization for {codes} and none is on file")
        ]
    if auth.payer_id is not None and coverage is not None and auth.payer_id != coverage.payer_id:
        return [
            error_finding("AUTH-MISSING", "the authorization on file was issued by another payer than the one billed")
        ]
    if auth.service_codes:
        uncovered = sorted({code for code in needed if code not in auth.service_codes})
        if uncovered:
            return [
                error_finding("AUTH-MISSING", f"the authorization on file does not cover {', '.join(uncovered)}"),
            ]
    if not auth.number.strip():
        return [
            error_finding("AUTH-NUMBER", "the authorization number is missing, so the claim cannot carry it (REF*G1)")
        ]
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
            error_finding(
                "AUTH-EXPIRED",
                f"authorization {auth.number} runs {auth.start_date.isoformat()} to {auth.end_date.isoformat()}; "
                f"the date of service {dos.isoformat()} is outside it",
            )
        ]
    used = auth.units_used + scrub.history.authorization_units_consumed
    wanted = authorization_units(scrub.charge)
    if used + wanted > auth.units_approved:
        return [
            error_finding(
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
                error_finding(
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
                error_finding(
                    "TELE-POS",
                    f"line {number} is telehealth with place of service {line.place_of_service}; this payer "
                    f"accepts {', '.join(policy.accepted_pos) or 'no telehealth place of service'}",
                )
            )
        if kind == "audio":
            if not policy.audio_only_covered:
                edits.append(
                    error_finding("TELE-AUDIO-ONLY", f"line {number} is audio-only, which this payer does not cover")
                )
            elif policy.audio_only_modifier not in line.modifiers:
                edits.append(
                    error_finding(
                        "TELE-MODIFIER",
                        f"line {number} is audio-only; this payer wants modifier {policy.audio_only_modifier}",
                    )
                )
        elif policy.video_modifier and policy.video_modifier not in line.modifiers:
            edits.append(
                error_finding(
                    "TELE-MODIFIER",
                    f"line {number} is a video visit; this payer wants modifier {policy.video_modifier}",
                )
            )
        elif not policy.video_modifier and set(line.modifiers) & rules.VIDEO_MODIFIERS:
            edits.append(
                error_finding(
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
            error_finding(
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
            warning_finding(
                "CRED-UNKNOWN-PROVIDER", "the rendering provider's payer enrollments are not on file to check"
            )
        )
        return edits
    dos = charge.date_of_service
    enrollments = [c for c in provider.credentialing if c.payer_id == coverage.payer_id]
    if any(c.effective_from <= dos and (c.effective_to is None or dos <= c.effective_to) for c in enrollments):
        return edits
    if not enrollments and coverage.payer_id in provider.credentialed_payer_ids:
        edits.append(
            warning_finding(
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
    edits.append(error_finding("CRED-PAYER", reason))
    return edits


def edit_timely_filing(scrub: ScrubInput) -> list[ScrubEdit]:
    """The date of service is inside the payer's filing window on the submission date."""
    window = scrub.profile.timely_filing_days if scrub.profile else DEFAULT_TIMELY_FILING_DAYS
    age = (scrub.submission_date - scrub.charge.date_of_service).days
    if age > window:
        return [
            error_finding(
                "TIMELY-FILING",
                f"the date of service is {age} days old; this payer accepts claims up to {window} days after the visit",
            )
        ]
    return []
