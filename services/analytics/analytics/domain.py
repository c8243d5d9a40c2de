"""Pure KPI rules over the facts of one organization (DOMAIN.md section 6). No I/O here.

Facts are kept per event exactly as they happened (their records are in ledger.py); every KPI is computed as of a
business date D by looking only at facts dated on or before D, so late or out-of-order events change nothing but the
facts. Here: the slices (Scope), each claim's history, the whole-ledger results KPIs share, and KPI arithmetic.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar, cast

from analytics.ledger import (
    ZERO,
    Acknowledgement,
    Adjudication,
    Charge,
    ClaimAttempt,
    ClaimRef,
    ClaimVoid,
    Denial,
    Ledger,
    ScrubberHold,
)

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
DAYS_PLACES = Decimal("0.1")

AR_DENOMINATOR_DAYS = 90
DEFAULT_WINDOW_DAYS = 30

T = TypeVar("T")
# Practice, provider, payer and program of a charge or claim: what a Scope slices by.
ScopeIds = tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None, str]


@dataclass(frozen=True)
class Scope:
    """A slice of the organization: practice, provider, payer, program (None means all)."""

    practice_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    payer_id: uuid.UUID | None = None
    program: str | None = None

    def admits(
        self, *, practice_id: uuid.UUID | None, provider_id: uuid.UUID | None, payer_id: uuid.UUID | None, program: str
    ) -> bool:
        """Whether a charge or claim with these ids belongs to the slice."""
        return (
            (self.practice_id is None or practice_id == self.practice_id)
            and (self.provider_id is None or provider_id == self.provider_id)
            and (self.payer_id is None or payer_id == self.payer_id)
            and (self.program is None or program == self.program)
        )


@dataclass
class ClaimHistory:
    """One claim's attempts, holds, acknowledgements, adjudications and denials, all facts known."""

    ref: ClaimRef
    charge: Charge | None = None
    attempts: list[ClaimAttempt] = field(default_factory=list)
    holds: list[ScrubberHold] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    adjudications: list[Adjudication] = field(default_factory=list)
    denials: list[Denial] = field(default_factory=list)
    withdrawals: list[ClaimVoid] = field(default_factory=list)

    @property
    def practice_id(self) -> uuid.UUID | None:
        """The claim's practice (from the claim, else from its charge)."""
        return self.ref.practice_id or (self.charge.practice_id if self.charge else None)

    def first_attempt(self, as_of: date) -> ClaimAttempt | None:
        """The first attempt submitted on or before D."""
        sent = [a for a in self.attempts if a.submitted_date <= as_of]
        return min(sent, key=lambda a: (a.attempt_number, a.submitted_date)) if sent else None

    def first_adjudication(self, as_of: date) -> Adjudication | None:
        """The earliest posting (not a reversal) with a payment date on or before D."""
        posted = [a for a in self.adjudications if not a.reversal and a.payment_date <= as_of]
        return min(posted, key=lambda a: (a.payment_date, not a.first_adjudication)) if posted else None

    def first_adjudication_denied(self, adjudication: Adjudication) -> bool:
        """Whether the first adjudication carries a denial (its own CAS, or an initial denial that day)."""
        return adjudication.has_denial or any(
            d.initial and d.payment_date == adjudication.payment_date for d in self.denials
        )

    def answers(self, attempt_number: int, as_of: date) -> list[Acknowledgement]:
        """The 999s and 277CAs that answered one attempt by D."""
        return [a for a in self.acknowledgements if a.attempt_number == attempt_number and a.acknowledged_date <= as_of]

    def latest_attempt(self, as_of: date) -> ClaimAttempt | None:
        """The newest attempt submitted on or before D."""
        sent = [a for a in self.attempts if a.submitted_date <= as_of]
        return max(sent, key=lambda a: a.attempt_number) if sent else None

    def known_by(self, as_of: date) -> bool:
        """Whether the claim existed on D: an attempt submitted or a hold made by then."""
        return any(a.submitted_date <= as_of for a in self.attempts) or any(h.held_date <= as_of for h in self.holds)

    def void_accepted(self, as_of: date) -> bool:
        """Whether the payer had accepted a void (frequency 8) of the claim by D: its newest attempt by D is a void
        that the answers by D accept (`accepted`); a void still unanswered, rejected, or followed by another attempt
        is not."""
        latest = self.latest_attempt(as_of)
        return (
            latest is not None and latest.frequency_code == "8" and accepted(self.answers(latest.attempt_number, as_of))
        )

    def voided(self, as_of: date) -> bool:
        """Whether the claim had stopped being billed by D: its void accepted by the payer, or its withdrawal
        (`claim.voided`) while the payer did not hold it (never sent, or its newest attempt rejected) when no void
        went out for it."""
        latest = self.latest_attempt(as_of)
        if latest is not None and latest.frequency_code == "8":
            return self.void_accepted(as_of)
        return any(w.voided_date <= as_of and not self.payer_held(w.voided_date) for w in self.withdrawals)

    def payer_held(self, on: date) -> bool:
        """Whether the payer held the claim on a date: an attempt had gone out by then and the newest was not
        rejected by then (a withdrawal then needs a void, frequency 8, to take the claim back)."""
        latest = self.latest_attempt(on)
        return latest is not None and not any(a.rejects for a in self.answers(latest.attempt_number, on))

    def first_scrub_date(self, as_of: date) -> date | None:
        """When the first attempt was scrubbed: its first hold, or its submission when never held."""
        first = self.first_attempt(as_of)
        number = first.attempt_number if first else 1
        dates = [h.held_date for h in self.holds if h.attempt_number <= number and h.held_date <= as_of]
        if first is not None:
            dates.append(first.submitted_date)
        return min(dates) if dates else None


def claim_histories(ledger: Ledger) -> dict[str, ClaimHistory]:
    """Group the ledger's claim facts by claim id (a claim known only from its holds still counts).

    Built once per ledger and reused while its fact lists keep their lengths (the ledger of a KPI computation is
    fixed once loaded; a ledger assembled fact by fact is regrouped as it grows).
    """

    def group() -> dict[str, ClaimHistory]:
        charges = {c.charge_id: c for c in ledger.charges}
        histories: dict[str, ClaimHistory] = {}
        for attempt in sorted(ledger.attempts, key=lambda a: a.attempt_number):
            histories.setdefault(attempt.claim.claim_id, ClaimHistory(attempt.claim)).attempts.append(attempt)
        for hold in ledger.holds:
            histories.setdefault(hold.claim.claim_id, ClaimHistory(hold.claim)).holds.append(hold)
        for history in histories.values():
            history.charge = charges.get(history.ref.charge_id)
        for ack in ledger.acknowledgements:
            if ack.claim_id in histories:
                histories[ack.claim_id].acknowledgements.append(ack)
        for adjudication in ledger.adjudications:
            if adjudication.claim_id in histories:
                histories[adjudication.claim_id].adjudications.append(adjudication)
        for denial in ledger.denials:
            if denial.claim_id in histories:
                histories[denial.claim_id].denials.append(denial)
        for withdrawal in ledger.claim_voids:
            if withdrawal.claim_id in histories:
                histories[withdrawal.claim_id].withdrawals.append(withdrawal)
        return histories

    return derived(ledger, "claim histories", None, group)


def derived(ledger: Ledger, name: str, arguments: object, compute: Callable[[], T]) -> T:
    """A whole-ledger result shared by the KPIs of one computation, recomputed when its arguments or the facts
    differ (one entry per name)."""
    counts = ledger.fact_counts()
    cached = ledger.derived.get(name)
    if cached is not None and cached[0] == arguments and cached[1] == counts:
        return cast(T, cached[2])
    value = compute()
    ledger.derived[name] = (arguments, counts, value)
    return value


def sliced(
    ledger: Ledger,
    name: str,
    arguments: object,
    compute: Callable[[], list[T]],
    ids: Callable[[T], ScopeIds],
    scope: Scope,
) -> list[T]:
    """The items of a whole-ledger list that belong to a slice: computed once, grouped once by practice (the
    slice every dashboard and gauge asks for), any other slice filtered."""
    everything = derived(ledger, name, arguments, compute)
    if scope == Scope():
        return list(everything)
    if scope.provider_id is None and scope.payer_id is None and scope.program is None:

        def by_practice() -> dict[uuid.UUID | None, list[T]]:
            groups: dict[uuid.UUID | None, list[T]] = defaultdict(list)
            for item in everything:
                groups[ids(item)[0]].append(item)
            return groups

        return list(derived(ledger, f"{name} by practice", arguments, by_practice).get(scope.practice_id, ()))
    return [
        item
        for item in everything
        if scope.admits(practice_id=(found := ids(item))[0], provider_id=found[1], payer_id=found[2], program=found[3])
    ]


def accepted(answers: Iterable[Acknowledgement]) -> bool:
    """Whether an attempt's answers accept it: none rejects it and a 277CA accepts it (A2/A5); a 277CA A1 only
    says it was received."""
    found = list(answers)
    return not any(a.rejects for a in found) and any(a.kind == "277CA" and a.accepts for a in found)


def voided_charges(ledger: Ledger, as_of: date) -> frozenset[str]:
    """Charges withdrawn by D: a `charge.voided` dated by then, or every claim of the charge known by D voided by D
    (accepted void or withdrawal) with no other claim billing it (DOMAIN.md 6)."""

    def compute() -> frozenset[str]:
        voided = {v.charge_id for v in ledger.voids if v.voided_date <= as_of}
        billed: dict[str, bool] = {}
        for history in claim_histories(ledger).values():
            if history.known_by(as_of):
                charge_id = history.ref.charge_id
                billed[charge_id] = billed.get(charge_id, False) or not history.voided(as_of)
        return frozenset(voided | {charge_id for charge_id, still_billed in billed.items() if not still_billed})

    return derived(ledger, "voided charges", as_of, compute)


def claim_scope_ids(history: ClaimHistory) -> ScopeIds:
    """Practice, provider, payer and program of a claim."""
    return history.practice_id, history.ref.provider_id, history.ref.payer_id, history.ref.program


def primary_claims(ledger: Ledger, scope: Scope) -> list[ClaimHistory]:
    """Primary claims of the slice (clean-claim and denial rates use primary claims only)."""

    def every_primary_claim() -> list[ClaimHistory]:
        return [history for history in claim_histories(ledger).values() if history.ref.payer_priority == "primary"]

    return sliced(ledger, "primary claims", None, every_primary_claim, claim_scope_ids, scope)


@dataclass(frozen=True)
class Tally:
    """A count of claims or charges and their dollars."""

    count: int = 0
    amount: Decimal = ZERO

    def plus(self, amount: Decimal) -> Tally:
        """This tally with one more item of the given amount."""
        return Tally(self.count + 1, self.amount + amount)


@dataclass(frozen=True)
class KpiValue:
    """A KPI as of D: its value, definition, numerator and denominator."""

    name: str
    variant: str | None
    value: Decimal | None
    unit: str
    definition: str
    numerator: Tally
    denominator: Tally
    period_start: date | None
    period_end: date


def ratio(numerator: Tally, denominator: Tally) -> Decimal | None:
    """Numerator count over denominator count, four places; None for an empty cohort."""
    if denominator.count == 0:
        return None
    return (Decimal(numerator.count) / Decimal(denominator.count)).quantize(RATE_PLACES, ROUND_HALF_UP)


def window(as_of: date, days: int) -> tuple[date, date]:
    """The window [D − (days − 1), D]."""
    return as_of - timedelta(days=days - 1), as_of


def in_window(day: date | None, bounds: tuple[date, date]) -> bool:
    """Whether a business date falls in a closed window."""
    return day is not None and bounds[0] <= day <= bounds[1]


def group_by_charge(items: Iterable[tuple[str | None, Decimal]]) -> dict[str, Decimal]:
    """Sum amounts per charge id, dropping amounts that cannot be tied to a charge."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for charge_id, amount in items:
        if charge_id is not None:
            totals[charge_id] += amount
    return totals
