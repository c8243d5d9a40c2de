"""The sandbox clearinghouse's in-memory state per submitter: batches answered, claims adjudicated, 835s to deliver."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.domain import (
    Behaviour,
    ChargedLine,
    ClaimResult,
    VisitKey,
    adjudicate,
    clock_date,
    deductible_applied,
    member_rejected,
    rejection_reason,
    reversal_of,
    rule_denial,
)
from sandbox.domain import payment_date as payment_due
from sandbox.reader import Batch837, Claim837, read_837
from sandbox.writers import ClaimVerdict, Payment, RemittedClaim, Stamp, write_277ca, write_835, write_999


@dataclass
class AdjudicatedClaim:
    """An accepted claim with its adjudication (or the reversal of an earlier one), waiting for its payment date.

    `superseded` marks an adjudication a replacement (7) or void (8) took back: dropped when not yet remitted,
    reversed (CLP02 22) in the next 835 when it was."""

    claim: Claim837
    result: ClaimResult
    remitted: bool = False
    superseded: bool = False

    @property
    def visit(self) -> VisitKey:
        """The visit this claim bills, for the duplicate rule."""
        return _visit(self.claim)


@dataclass
class ReceivedBatch:
    """An interchange as received: its control numbers, its claims and how many times it arrived."""

    isa13: str
    gs06: str
    claim_ids: list[str]
    received_date: date
    times_received: int = 1


@dataclass
class RemittanceFile:
    """An 835 built for a submitter and payment date; delivered once remittance answers 2xx or 409."""

    file_id: str
    payment_date: date
    text: str
    claim_ids: list[str]
    total_paid: Decimal = Decimal("0")
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
    answers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    received: list[ReceivedBatch] = field(default_factory=list)
    claims: list[AdjudicatedClaim] = field(default_factory=list)
    deductible_used: dict[tuple[str, str, int], Decimal] = field(default_factory=dict)
    files: list[RemittanceFile] = field(default_factory=list)
    # Indexes over `claims` (same objects, insertion order kept): by claim id, by visit, and not yet remitted.
    by_claim_id: dict[str, list[AdjudicatedClaim]] = field(default_factory=dict)
    by_visit: dict[VisitKey, list[AdjudicatedClaim]] = field(default_factory=dict)
    unremitted: list[AdjudicatedClaim] = field(default_factory=list)

    def add(self, adjudicated: AdjudicatedClaim) -> None:
        """Keep an adjudication (or reversal) and index it."""
        self.claims.append(adjudicated)
        self.by_claim_id.setdefault(adjudicated.claim.claim_id, []).append(adjudicated)
        self.by_visit.setdefault(adjudicated.visit, []).append(adjudicated)
        self.unremitted.append(adjudicated)

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
        """Answer a batch; an interchange already seen from this submitter (same ISA13 and GS06) is not processed
        again and gets the stored answer. Raises X12Error when unreadable."""
        state = self.submitter(submitter_id)
        batch = read_837(text)
        key = (batch.isa13, batch.gs06)
        if key in state.answers:
            next(r for r in state.received if (r.isa13, r.gs06) == key).times_received += 1
            return state.answers[key]
        if batch.bht_date is not None:
            state.latest_bht = max(d for d in (state.latest_bht, batch.bht_date) if d is not None)
        today = state.today or batch.bht_date or datetime.now(UTC).date()
        ack_999 = write_999(batch, self.stamp(today))
        verdicts = self._verdicts(submitter_id, state, batch)
        ack_277 = write_277ca(batch, verdicts, self.stamp(today)) if verdicts else None
        answer = {"batch_id": f"SBX-{submitter_id[:8]}-{batch.isa13}", "ack_999": ack_999, "ack_277ca": ack_277}
        state.answers[key] = answer
        claim_ids = [claim.claim_id for transaction in batch.sets for claim in transaction.claims]
        state.received.append(ReceivedBatch(batch.isa13, batch.gs06, claim_ids, today))
        return answer

    def _verdicts(self, submitter_id: str, state: Submitter, batch: Batch837) -> list[ClaimVerdict]:
        """A2 (and an adjudication) for every claim of an accepted set, A7 with a reason otherwise."""
        verdicts: list[ClaimVerdict] = []
        received = batch.bht_date or state.today or datetime.now(UTC).date()
        for transaction in batch.sets:
            if not transaction.accepted:
                continue
            for claim in transaction.claims:
                rejection = rejection_reason(payer_id=claim.payer_id, diagnoses=claim.diagnoses)
                if rejection is None and member_rejected(state.behaviour, claim.member_id):
                    rejection = ("33:IL", "subscriber and subscriber id not found")
                prior = _latest(state, claim.claim_id)
                if rejection is None and claim.frequency_code in ("7", "8") and prior is None:
                    rejection = ("21", "no adjudicated original claim to replace or void")
                if rejection is not None:
                    verdicts.append(ClaimVerdict(claim, "A7", rejection[0], rejection[1], None))
                    continue
                if prior is not None and claim.frequency_code in ("7", "8"):
                    self._take_back(state, prior, received)
                if claim.frequency_code == "8":
                    assert prior is not None
                    verdicts.append(ClaimVerdict(claim, "A2", "20", "", prior.result.payer_claim_number))
                    continue
                result = self._adjudicate(submitter_id, state, claim, received)
                state.add(AdjudicatedClaim(claim, result))
                verdicts.append(ClaimVerdict(claim, "A2", "20", "", result.payer_claim_number))
        return verdicts

    def _adjudicate(self, submitter_id: str, state: Submitter, claim: Claim837, received: date) -> ClaimResult:
        """Adjudicate a claim by its payer's terms, counting the deductible it takes against the member's year."""
        rules = state.behaviour.rules_for(claim.payer_id)
        visit = _visit(claim)
        duplicate = next(
            (
                other.claim.claim_id
                for other in state.by_visit.get(visit, ())
                if not other.superseded
                and other.result.status != "22"
                and other.claim.claim_id != claim.claim_id
                and other.visit == visit
            ),
            None,
        )
        year = (claim.date_of_service or received).year
        deductible_key = (claim.payer_id, claim.member_id, year)
        used = state.deductible_used.get(deductible_key, Decimal("0"))
        result = adjudicate(
            submitter=submitter_id,
            claim_id=claim.claim_id,
            lines=[
                ChargedLine(line.procedure_code, tuple(line.modifiers), line.units, line.charge, line.date_of_service)
                for line in claim.lines
            ],
            behaviour=state.behaviour,
            bht_date=received,
            rules=rules,
            billing_npi=claim.billing_npi,
            deductible_left=max(rules.deductible - used, Decimal("0")),
            denial=rule_denial(
                rules=rules,
                procedure_codes=[line.procedure_code for line in claim.lines],
                has_authorization_number=bool(claim.authorization_number.strip()),
                date_of_service=claim.date_of_service,
                received=received,
                duplicate_of=duplicate,
                replacement=claim.frequency_code == "7",
            ),
        )
        state.deductible_used[deductible_key] = used + deductible_applied(result)
        return replace(result, filing_indicator=claim.filing_indicator or result.filing_indicator)

    def _take_back(self, state: Submitter, prior: AdjudicatedClaim, received: date) -> None:
        """A replacement or void takes back the earlier adjudication: dropped before payment, reversed after."""
        prior.superseded = True
        claim = prior.claim
        key = (claim.payer_id, claim.member_id, (claim.date_of_service or received).year)
        state.deductible_used[key] = max(
            state.deductible_used.get(key, Decimal("0")) - deductible_applied(prior.result), Decimal("0")
        )
        if prior.remitted:
            reversal = reversal_of(prior.result, payment_due(received, state.behaviour))
            state.add(AdjudicatedClaim(claim, reversal, superseded=True))

    def build_due_files(self, submitter_id: str) -> list[RemittanceFile]:
        """Group the claims whose payment date has come into one 835 per payment date (one ST per payer/payee)."""
        state = self.submitter(submitter_id)
        today = state.today
        if today is None:
            return []
        due: dict[date, list[AdjudicatedClaim]] = {}
        for adjudicated in state.unremitted:
            if adjudicated.remitted or adjudicated.result.payment_date > today:
                continue
            if adjudicated.superseded and adjudicated.result.status != "22":
                adjudicated.remitted = True  # taken back before payment: never remitted
            else:
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
                _trace(submitter_id, payment_date, claim_ids, ""),
                payment_date,
                text,
                claim_ids,
                sum((a.result.paid for a in claims), Decimal("0")),
            )
            for adjudicated in claims:
                adjudicated.remitted = True
            state.files.append(remittance)
            built.append(remittance)
        state.unremitted = [adjudicated for adjudicated in state.unremitted if not adjudicated.remitted]
        return built


def _visit(claim: Claim837) -> VisitKey:
    """The duplicate-rule key of a claim."""
    return VisitKey(
        claim.member_id,
        claim.date_of_service,
        claim.rendering_npi,
        tuple(sorted(line.procedure_code for line in claim.lines)),
    )


def _latest(state: Submitter, claim_id: str) -> AdjudicatedClaim | None:
    """The adjudication in force for a claim id (not taken back by a replacement or void), if any."""
    return next(
        (a for a in reversed(state.by_claim_id.get(claim_id, ())) if not a.superseded),
        None,
    )


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
    """What a file paid in all (Σ CLP04, reversals included), for listings."""
    return remittance.total_paid
