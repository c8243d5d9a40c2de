"""Pure submission rules: claim ids, NPI check digits, payer profiles in force, benefit periods. No I/O here.

The scrubber is `submission.scrubber` (its edits in `submission.payer_edits` and `submission.coding_edits`); the
work-queue rules are in `submission.queues`.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from shared.events.reference import PayerProfile, PayerRef, ProviderRef

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CLAIM_ID_PREFIX = "CF"
CLAIM_ID_RANDOM_CHARS = 16  # 80 random bits; with the prefix 18 characters, under the 20 payers must return
DEFAULT_TIMELY_FILING_DAYS = 365
DEFAULT_NO_RESPONSE_DAYS = 30


def new_claim_id() -> str:
    """A fresh claim id: 'CF' + 16 Crockford base32 characters of random bits (18 characters in all)."""
    bits = secrets.randbits(5 * CLAIM_ID_RANDOM_CHARS)
    chars = [CROCKFORD_ALPHABET[(bits >> (5 * i)) & 31] for i in range(CLAIM_ID_RANDOM_CHARS)]
    return CLAIM_ID_PREFIX + "".join(reversed(chars))


def npi_is_valid(npi: str) -> bool:
    """Whether a 10-digit NPI passes the Luhn check with the 80840 prefix (the card-issuer prefix of health)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def payer_from_replica(attributes: dict[str, Any] | None) -> PayerRef | None:
    """The replicated payer as its contract model (None when unknown or unreadable)."""
    if not attributes:
        return None
    try:
        return PayerRef.model_validate(attributes)
    except ValidationError:
        return None


def provider_from_replica(attributes: dict[str, Any] | None) -> ProviderRef | None:
    """The replicated rendering provider as its contract model (None when unknown or unreadable)."""
    if not attributes:
        return None
    try:
        return ProviderRef.model_validate(attributes)
    except ValidationError:
        return None


def profile_in_force(payer: PayerRef | None, on: date) -> PayerProfile | None:
    """The payer profile in force on a date: the latest one effective on or before it."""
    if payer is None:
        return None
    in_force = [profile for profile in payer.profiles if profile.effective_from <= on]
    return max(in_force, key=lambda profile: profile.effective_from) if in_force else None


# SBR09 when the payer profile names none: the professional-claim code of its payer type (Part B for Medicare).
FILING_INDICATOR_BY_PAYER_TYPE = {"medicare": "MB", "medicaid": "MC", "commercial": "CI"}
# SBR09 of an attempt never scrubbed against a profile naming one (a void whose payer profile has lost it since).
UNKNOWN_FILING_INDICATOR = "ZZ"


def claim_filing_indicator(profile: PayerProfile | None) -> str | None:
    """The 837P SBR09 of a claim under the payer profile in force: the profile's own indicator, else the one of its
    payer type (MB, MC, CI); None for a payer of type other naming none. Without a profile in force the payer's
    rules are not checked and a profile's defaults apply, as for every other payer rule (commercial: CI)."""
    if profile is None:
        return FILING_INDICATOR_BY_PAYER_TYPE[PayerProfile.model_fields["payer_type"].default]
    return profile.claim_filing_indicator or FILING_INDICATOR_BY_PAYER_TYPE.get(profile.payer_type)


def timely_filing_days(profile: PayerProfile | None) -> int:
    """The filing window of a profile (365 days when the payer or its profile is unknown)."""
    return profile.timely_filing_days if profile else DEFAULT_TIMELY_FILING_DAYS


def _anniversary(start: date, year: int) -> date:
    """The plan-start anniversary in a year (28 February for a 29 February start in a common year)."""
    try:
        return start.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def benefit_period(
    period: Literal["calendar_year", "plan_year", "rolling_12_months"], on: date, plan_start: date | None
) -> tuple[date, date]:
    """First and last day of the benefit period containing a date of service.

    A plan year starts on the plan's anniversary (the calendar year when the plan start is unknown); a rolling
    12 months ends on the date of service itself.
    """
    if period == "rolling_12_months":
        return _anniversary(on, on.year - 1) + timedelta(days=1), on
    if period == "plan_year" and plan_start is not None:
        start = _anniversary(plan_start, on.year)
        if start > on:
            start = _anniversary(plan_start, on.year - 1)
        return start, _anniversary(start, start.year + 1) - timedelta(days=1)
    return date(on.year, 1, 1), date(on.year, 12, 31)


SEND_RETRY_FIRST_SECONDS = 0.5
# A refusal (4xx: credentials, a file the clearinghouse cannot read) needs a person; retry it slowly.
SEND_RETRY_CAP_SECONDS = {"unavailable": 30.0, "unknown_outcome": 30.0, "refused": 300.0}


def send_retry_delay(failed_sends: int, kind: str) -> float:
    """Seconds before a batch whose send failed `failed_sends` times in a row goes out again: doubling from half a
    second, capped at 30 s while the clearinghouse is down or slow and at 5 minutes when it refuses the batch."""
    cap = SEND_RETRY_CAP_SECONDS.get(kind, SEND_RETRY_CAP_SECONDS["unavailable"])
    exponent = min(max(failed_sends, 1) - 1, 16)
    return float(min(SEND_RETRY_FIRST_SECONDS * 2**exponent, cap))


TIMELY_FILING_RISK_SHARE = 0.8
BURN_DOWN_UNITS_SHARE = 0.8
BURN_DOWN_DAYS_LEFT = 14


def next_frequency(*, payer_has_claim: bool, void: bool = False) -> Literal["1", "7", "8"]:
    """The frequency code of a new attempt: a claim the payer holds under its own claim number gets a replacement
    (7) or a void (8); a claim it never took in (held, rejected, lost) goes out again as an original (1)."""
    if void:
        return "8"
    return "7" if payer_has_claim else "1"


def no_response_due(submitted: date, follow_up_days: int, as_of: date) -> bool:
    """Whether an accepted claim with no 835 is past the payer's follow-up days on the business date."""
    return (as_of - submitted).days > follow_up_days


def timely_filing_at_risk(date_of_service: date, filing_days: int, as_of: date) -> bool:
    """Whether more than 80% of the payer's filing window has passed for an unpaid claim (DOMAIN.md 5.4)."""
    return (as_of - date_of_service).days > TIMELY_FILING_RISK_SHARE * filing_days


def authorization_burning_down(*, units_approved: int, units_used: int, end_date: date, as_of: date) -> str | None:
    """Why an authorization needs a re-authorization task now (DOMAIN.md 5.4), None when it does not."""
    if units_approved > 0 and units_used >= BURN_DOWN_UNITS_SHARE * units_approved:
        return f"{units_used} of {units_approved} authorized units are used"
    days_left = (end_date - as_of).days
    if days_left <= BURN_DOWN_DAYS_LEFT:
        return f"the authorization ends on {end_date.isoformat()}, {max(days_left, 0)} days from now"
    return None
