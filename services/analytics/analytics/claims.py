"""A claim's searchable summary and status, derived from all of its facts whatever order they came in. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from analytics.facts import StoredFact

# Statuses billing staff search by, in the order a claim usually moves through them.
ClaimStatus = Literal[
    "held",
    "submitted",
    "acknowledged",
    "accepted",
    "rejected",
    "paid",
    "denied",
    "reversed",
    "appealed",
    "correction_requested",
    "resolved",
    "written_off",
    "voided",
]
STATUSES: tuple[str, ...] = get_args(ClaimStatus)


def status_of(fact: StoredFact) -> str | None:
    """The claim status an event leaves behind; None for events that do not change it (patient payments)."""
    a, kind = fact.attributes, fact.event_type
    if kind == "claim.acknowledged":
        if a.get("outcome") == "rejected":
            return "rejected"
        accepted_277 = a.get("kind") == "277CA" and str(a.get("status_code", ""))[:2] in ("A2", "A5")
        return "accepted" if accepted_277 else "acknowledged"
    if kind == "remittance.posted":
        denied = bool(a.get("is_denial")) or a.get("claim_status_code") == "4"
        return "denied" if denied else "paid"
    if kind == "claim.submitted" and a.get("frequency_code") == "8":
        return "voided"
    return {
        "claim.held": "held",
        "claim.submitted": "submitted",
        "remittance.reversed": "reversed",
        "claim.denied": "denied",
        "denial.appealed": "appealed",
        "correction.requested": "correction_requested",
        "denial.resolved": "resolved",
        "balance.written-off": "written_off",
        "claim.voided": "voided",
    }.get(kind)


@dataclass(frozen=True)
class ClaimSummary:
    """One claim as search shows it: ids to filter by, billed amount, current status and its date."""

    claim_id: str
    charge_id: str
    practice_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    payer_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    program: str
    payer_priority: str
    date_of_service: date
    billed: Decimal
    status: str
    status_date: date
    first_submitted_date: date | None

    def row(self) -> dict[str, Any]:
        """Column values of the claim index."""
        return {
            "claim_id": self.claim_id,
            "charge_id": self.charge_id,
            "practice_id": self.practice_id,
            "provider_id": self.provider_id,
            "payer_id": self.payer_id,
            "patient_id": self.patient_id,
            "program": self.program,
            "payer_priority": self.payer_priority,
            "date_of_service": self.date_of_service,
            "billed": self.billed,
            "status": self.status,
            "status_date": self.status_date,
            "first_submitted_date": self.first_submitted_date,
        }


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def summarize(facts: Iterable[StoredFact]) -> ClaimSummary | None:
    """The summary of one claim from its facts (ordered by business date; ties keep the given order)."""
    ordered = sorted(facts, key=lambda f: f.fact_date)
    claim_facts = [f for f in ordered if f.event_type in ("claim.submitted", "claim.held") and f.claim_id]
    if not claim_facts:
        return None
    ref = claim_facts[-1]
    a = ref.attributes
    status, status_date = "submitted", ref.fact_date
    voids = {
        f.attributes.get("attempt_number")
        for f in claim_facts
        if f.event_type == "claim.submitted" and f.attributes.get("frequency_code") == "8"
    }
    for fact in ordered:
        found = status_of(fact)
        if fact.event_type == "claim.acknowledged" and fact.attributes.get("attempt_number") in voids:
            # An answer to a void: accepted (or only received) leaves the claim voided; a rejection is shown.
            found = "rejected" if found == "rejected" else "voided"
        elif status == "voided" and found == "reversed":
            found = None  # the payer taking its payment back after the void
        if found is not None:
            status, status_date = found, fact.fact_date
    submitted = [f.fact_date for f in ordered if f.event_type == "claim.submitted"]
    return ClaimSummary(
        claim_id=ref.claim_id or "",
        charge_id=ref.charge_id or "",
        practice_id=next((f.practice_id for f in reversed(claim_facts) if f.practice_id), None),
        provider_id=_uuid(a.get("provider_id")),
        payer_id=_uuid(a.get("payer_id")),
        patient_id=_uuid(a.get("patient_id")),
        program=a["program"],
        payer_priority=a.get("payer_priority", "primary"),
        date_of_service=date.fromisoformat(a["date_of_service"]),
        billed=Decimal(a["billed"]),
        status=status,
        status_date=status_date,
        first_submitted_date=min(submitted) if submitted else None,
    )
