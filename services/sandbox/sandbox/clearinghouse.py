"""The sandbox clearinghouse's in-memory state per submitter: batches answered, claims adjudicated, 835s to deliver."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.domain import Behaviour, ChargedLine, ClaimResult, adjudicate, clock_date, rejection_reason
from sandbox.reader import Batch837, Claim837, read_837
from sandbox.writers import ClaimVerdict, Payment, RemittedClaim, Stamp, write_277ca, write_835, write_999


@dataclass
class AdjudicatedClaim:
    """An accepted claim with its adjudication, waiting for its payment date."""

    claim: Claim837
    result: ClaimResult
    remitted: bool = False


@dataclass
class RemittanceFile:
    """An 835 built for a submitter and payment date; delivered once remittance answers 2xx or 409."""

    file_id: str
    payment_date: date
    text: str
    claim_ids: list[str]
    status: str = "pending"
    attempts: int = 0
    next_try: float = 0.0
    backoff: float = 0.5
    last_error: str | None = None


@dataclass
class Submitter:
    """Everything the sandbox knows about one submitter (organization)."""

    behaviour: Behaviour
    clock_set: date | None = None
    latest_bht: date | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: list[AdjudicatedClaim] = field(default_factory=list)
    files: list[RemittanceFile] = field(default_factory=list)

    @property
    def today(self) -> date | None:
        """The submitter's sandbox business date."""
        return clock_date(self.clock_set, self.latest_bht)


class Clearinghouse:
    """Accepts batches, answers 999/277CA, adjudicates, and builds the 835 files that fall due."""

    def __init__(self, defaults: Behaviour) -> None:
        self.defaults = defaults
        self.submitters: dict[str, Submitter] = {}
        self._control = itertools.count(1)

    def submitter(self, submitter_id: str) -> Submitter:
        """The state of a submitter, created with the default behaviour (seeded per submitter)."""
        if submitter_id not in self.submitters:
            behaviour = replace(self.defaults, seed=f"{self.defaults.seed}:{submitter_id}")
            self.submitters[submitter_id] = Submitter(behaviour=behaviour)
        return self.submitters[submitter_id]

    def stamp(self, on: date) -> Stamp:
        """A fresh control number and the wall time of day for a file written on a business date."""
        return Stamp(next(self._control), on, datetime.now(UTC).strftime("%H%M"))

    def receive_batch(self, submitter_id: str, text: str) -> dict[str, Any]:
        """Answer a batch (the stored answer for a control number already seen); raises X12Error when unreadable."""
        state = self.submitter(submitter_id)
        batch = read_837(text)
        if batch.isa13 in state.answers:
            return state.answers[batch.isa13]
        if batch.bht_date is not None:
            state.latest_bht = max(d for d in (state.latest_bht, batch.bht_date) if d is not None)
        today = state.today or batch.bht_date or datetime.now(UTC).date()
        ack_999 = write_999(batch, self.stamp(today))
        verdicts = self._verdicts(submitter_id, state, batch)
        ack_277 = write_277ca(batch, verdicts, self.stamp(today)) if verdicts else None
        answer = {"batch_id": f"SBX-{submitter_id[:8]}-{batch.isa13}", "ack_999": ack_999, "ack_277ca": ack_277}
        state.answers[batch.isa13] = answer
        return answer

    def _verdicts(self, submitter_id: str, state: Submitter, batch: Batch837) -> list[ClaimVerdict]:
        """A2 (and an adjudication) for every claim of an accepted set, A7 with a reason otherwise."""
        verdicts: list[ClaimVerdict] = []
        for transaction in batch.sets:
            if not transaction.accepted:
                continue
            for claim in transaction.claims:
                rejection = rejection_reason(payer_id=claim.payer_id, diagnoses=claim.diagnoses)
                if rejection is not None:
                    verdicts.append(ClaimVerdict(claim, "A7", rejection[0], rejection[1], None))
                    continue
                result = adjudicate(
                    submitter=submitter_id,
                    claim_id=claim.claim_id,
                    lines=[
                        ChargedLine(
                            line.procedure_code, tuple(line.modifiers), line.units, line.charge, line.date_of_service
                        )
                        for line in claim.lines
                    ],
                    behaviour=state.behaviour,
                    bht_date=batch.bht_date or state.today or datetime.now(UTC).date(),
                )
                state.claims.append(AdjudicatedClaim(claim, result))
                verdicts.append(ClaimVerdict(claim, "A2", "20", "", result.payer_claim_number))
        return verdicts

    def build_due_files(self, submitter_id: str) -> list[RemittanceFile]:
        """Group the claims whose payment date has come into one 835 per payment date (one ST per payer/payee)."""
        state = self.submitter(submitter_id)
        today = state.today
        if today is None:
            return []
        due: dict[date, list[AdjudicatedClaim]] = {}
        for adjudicated in state.claims:
            if not adjudicated.remitted and adjudicated.result.payment_date <= today:
                due.setdefault(adjudicated.result.payment_date, []).append(adjudicated)
        built: list[RemittanceFile] = []
        for payment_date, claims in sorted(due.items()):
            payments: dict[tuple[str, str], list[AdjudicatedClaim]] = {}
            for adjudicated in claims:
                key = (adjudicated.claim.payer_id, adjudicated.claim.billing_npi)
                payments.setdefault(key, []).append(adjudicated)
            text = write_835(
                [
                    _payment(submitter_id, payment_date, group)
                    for _, group in sorted(payments.items(), key=lambda item: item[0])
                ],
                self.stamp(payment_date),
                receiver=submitter_id,
            )
            claim_ids = [a.claim.claim_id for a in claims]
            remittance = RemittanceFile(
                _trace(submitter_id, payment_date, claim_ids, ""), payment_date, text, claim_ids
            )
            for adjudicated in claims:
                adjudicated.remitted = True
            state.files.append(remittance)
            built.append(remittance)
        return built


def _trace(submitter_id: str, payment_date: date, claim_ids: list[str], salt: str) -> str:
    """A trace number fixed by the contents, so a rebuilt file never collides with a different payment."""
    digest = hashlib.sha256(f"{submitter_id}|{payment_date}|{'|'.join(sorted(claim_ids))}|{salt}".encode()).hexdigest()
    return f"{payment_date:%Y%m%d}{digest[:12].upper()}"


def _payment(submitter_id: str, payment_date: date, claims: list[AdjudicatedClaim]) -> Payment:
    """One payer's payment to one payee on a date."""
    first = claims[0].claim
    ids = [a.claim.claim_id for a in claims]
    return Payment(
        payer_name=first.payer_name,
        payer_id=first.payer_id,
        payee_name=first.billing_name,
        payee_npi=first.billing_npi,
        trace_number=_trace(submitter_id, payment_date, ids, f"{first.payer_id}/{first.billing_npi}"),
        payment_date=payment_date,
        claims=[
            RemittedClaim(a.result, a.claim.patient_last, a.claim.patient_first, a.claim.member_id) for a in claims
        ],
    )


def total_paid(remittance: RemittanceFile, state: Submitter) -> Decimal:
    """What a delivered file paid in all (for listings)."""
    ids = set(remittance.claim_ids)
    return sum((a.result.paid for a in state.claims if a.claim.claim_id in ids), Decimal("0"))
