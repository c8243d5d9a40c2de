"""Pure submission rules: claim ids and the pre-submission scrubber (DOMAIN.md section 4). No I/O here.

Each edit is a pure function `(ScrubInput) -> list[ScrubEdit]`; `SCRUBBER_EDITS` lists them in the order they run,
so the full scrubber of DOMAIN.md section 4 is added by appending functions (and their table rows in the tests).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.events.charge import ChargeFacts
from shared.events.claim import ScrubEdit

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CLAIM_ID_PREFIX = "CF"
CLAIM_ID_RANDOM_CHARS = 16  # 80 random bits; with the prefix 18 characters, under the 20 payers must return
DEFAULT_TIMELY_FILING_DAYS = 365
MAX_DIAGNOSES = 12
MAX_POINTERS_PER_LINE = 4


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


@dataclass(frozen=True)
class ScrubInput:
    """What the scrubber looks at: the charge, the payer profile in force and the submission business date."""

    charge: ChargeFacts
    submission_date: date
    timely_filing_days: int = DEFAULT_TIMELY_FILING_DAYS


@dataclass(frozen=True)
class ScrubResult:
    """Every edit that fired; the claim is held when any of them is an error."""

    edits: tuple[ScrubEdit, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when no error-level edit fired (warnings do not hold a claim)."""
        return not any(edit.severity == "error" for edit in self.edits)


def _error(rule_id: str, reason: str) -> ScrubEdit:
    return ScrubEdit(rule_id=rule_id, severity="error", reason=reason)


def edit_diagnosis(scrub: ScrubInput) -> list[ScrubEdit]:
    """Diagnoses present (at most 12) and every line pointing at 1–4 of them."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    count = len(charge.diagnoses)
    if count == 0 or not all(code.strip() for code in charge.diagnoses):
        edits.append(_error("DX-MISSING", "the claim has no diagnosis code; every claim needs a principal diagnosis"))
    if count > MAX_DIAGNOSES:
        edits.append(_error("DX-TOO-MANY", f"{count} diagnoses; a professional claim carries at most 12"))
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
    """Rendering and billing NPIs pass the Luhn check; taxonomy and TIN present."""
    charge = scrub.charge
    edits: list[ScrubEdit] = []
    if not npi_is_valid(charge.provider.npi):
        edits.append(_error("PROV-NPI", "the rendering provider's NPI fails the NPI check digit (Luhn, prefix 80840)"))
    if not npi_is_valid(charge.practice.npi):
        edits.append(_error("BILL-NPI", "the billing practice's NPI fails the NPI check digit (Luhn, prefix 80840)"))
    if not charge.provider.taxonomy.strip():
        edits.append(_error("PROV-TAXONOMY", "the rendering provider has no taxonomy code"))
    tin = charge.practice.tin.replace("-", "")
    if len(tin) != 9 or not tin.isdigit():
        edits.append(_error("BILL-TIN", "the billing practice's tax id must be 9 digits"))
    return edits


def edit_eligibility(scrub: ScrubInput) -> list[ScrubEdit]:
    """The coverage billed must be active on the date of service."""
    coverage = scrub.charge.coverage
    if coverage is None:
        return [_error("ELIG-NO-COVERAGE", "the patient has no coverage on file to bill")]
    edits: list[ScrubEdit] = []
    if not coverage.active_on_date_of_service:
        edits.append(
            _error(
                "ELIG-INACTIVE",
                f"the coverage with {coverage.payer_name} was not active on {scrub.charge.date_of_service.isoformat()}",
            )
        )
    if not coverage.x12_payer_id.strip():
        edits.append(_error("PAYER-ID-MISSING", f"{coverage.payer_name} has no X12 payer id"))
    return edits


def edit_timely_filing(scrub: ScrubInput) -> list[ScrubEdit]:
    """The date of service must be inside the payer's filing window on the submission date."""
    age = (scrub.submission_date - scrub.charge.date_of_service).days
    if age > scrub.timely_filing_days:
        return [
            _error(
                "TIMELY-FILING",
                f"the date of service is {age} days old; this payer accepts claims up to "
                f"{scrub.timely_filing_days} days after the visit",
            )
        ]
    return []


ScrubberEdit = Callable[[ScrubInput], list[ScrubEdit]]

SCRUBBER_EDITS: tuple[ScrubberEdit, ...] = (
    edit_eligibility,
    edit_diagnosis,
    edit_lines,
    edit_provider_data,
    edit_timely_filing,
)


def scrub_claim(scrub: ScrubInput, edits: Sequence[ScrubberEdit] = SCRUBBER_EDITS) -> ScrubResult:
    """Run every scrubber edit over a claim."""
    return ScrubResult(tuple(found for edit in edits for found in edit(scrub)))


def timely_filing_days(payer: dict[str, object] | None, on: date) -> int:
    """The payer profile's filing window in force on a date (365 days when the payer or profile is unknown)."""
    if not payer:
        return DEFAULT_TIMELY_FILING_DAYS
    profiles = payer.get("profiles")
    if not isinstance(profiles, list):
        return DEFAULT_TIMELY_FILING_DAYS
    in_force = sorted(
        (p for p in profiles if isinstance(p, dict) and date.fromisoformat(str(p["effective_from"])) <= on),
        key=lambda p: str(p["effective_from"]),
    )
    if not in_force:
        return DEFAULT_TIMELY_FILING_DAYS
    return int(in_force[-1].get("timely_filing_days", DEFAULT_TIMELY_FILING_DAYS))
