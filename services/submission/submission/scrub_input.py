"""What the scrubber looks at (a claim, its payer, provider and claim history) and how an edit writes a finding.

Every edit module builds on these: `ScrubInput` is the one argument of an edit, `error_finding` and `warning_finding`
are the two kinds of finding it returns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared import icd10
from shared.events.charge import ChargeFacts
from shared.events.claim import ScrubEdit
from shared.events.reference import PayerProfile, PayerRef, ProviderRef


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
    rendering provider's master data, the claim history, the submission business date and the ICD-10-CM code sets
    (this process's, as configured)."""

    charge: ChargeFacts
    submission_date: date
    payer: PayerRef | None = None
    profile: PayerProfile | None = None
    provider: ProviderRef | None = None
    history: ClaimHistory = field(default_factory=ClaimHistory)
    code_sets: tuple[icd10.CodeSet, ...] = field(default_factory=icd10.configured_code_sets)

    @property
    def codes(self) -> list[str]:
        """Procedure codes of the claim's lines."""
        return [line.procedure_code for line in self.charge.lines]


def error_finding(rule_id: str, reason: str) -> ScrubEdit:
    """An error-level finding: holds the claim."""
    return ScrubEdit(rule_id=rule_id, severity="error", reason=reason)


def warning_finding(rule_id: str, reason: str) -> ScrubEdit:
    """A warning: the claim goes out and the finding travels with it."""
    return ScrubEdit(rule_id=rule_id, severity="warning", reason=reason)


def history_window(date_of_service: date) -> tuple[date, date]:
    """Dates of service whose claims can matter to a claim's benefit periods and same-day edits."""
    return date_of_service - timedelta(days=366), date_of_service + timedelta(days=366)
