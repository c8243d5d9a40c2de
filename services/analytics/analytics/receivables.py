"""A/R aging (payer and patient apart) and net collection rate of DOMAIN.md section 6. Pure: no I/O here."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from analytics.domain import RATE_PLACES, KpiValue, Scope, Tally, claim_histories, window
from analytics.kpis import charge_balances, effective_charges
from analytics.ledger import ZERO, Adjudication, Ledger

# Buckets of days from the date of service to D: (label, lowest day, highest day or None for open-ended).
AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("over_120", 121, None),
)
NET_COLLECTION_DAYS = 365
PRIORITY_RANK = {"primary": 1, "secondary": 2, "tertiary": 3}

AGING_DEFINITION = (
    "A/R at D of charges with A/R > 0, by days from the date of service to D (0-30, 31-60, 61-90, 91-120, "
    "over 120), payer A/R and patient A/R apart; value = bucket dollars over total A/R at D. Patient A/R is the "
    "patient responsibility of the last payer that adjudicated the charge, less patient payments and patient "
    "write-offs posted by D; payer A/R is the rest."
)
NET_COLLECTION_DEFINITION = (
    "Charges with a date of service in [D-364, D]: payer and patient payments posted by D over billed less "
    "contractual adjustments posted by D (reversals cancel what they reverse)."
)


@dataclass(frozen=True)
class SplitBalance:
    """One charge's A/R at D, split into what the payer and what the patient still owe."""

    charge_id: str
    date_of_service: date
    payer: Decimal
    patient: Decimal

    @property
    def total(self) -> Decimal:
        """The charge's whole A/R at D."""
        return self.payer + self.patient


def _net_patient_responsibility(postings: list[Adjudication]) -> Decimal:
    """A claim's patient responsibility after reversals, from its postings dated by D."""
    return sum((p.effect(p.patient_responsibility) for p in postings), ZERO)


def split_balances(ledger: Ledger, *, as_of: date, scope: Scope | None = None) -> list[SplitBalance]:
    """A/R at D per charge with A/R > 0, split into payer and patient A/R."""
    histories = claim_histories(ledger)
    responsibility: dict[str, tuple[int, Decimal]] = {}
    for claim in histories.values():
        postings = [a for a in claim.adjudications if a.payment_date <= as_of]
        if sum(-1 if a.reversal else 1 for a in postings) <= 0:
            continue  # nothing posted yet, or every posting of this claim was reversed
        rank = PRIORITY_RANK.get(claim.ref.payer_priority, 1)
        known = responsibility.get(claim.ref.charge_id)
        if known is None or rank > known[0]:
            responsibility[claim.ref.charge_id] = (rank, _net_patient_responsibility(postings))
    claim_charge = {h.ref.claim_id: h.ref.charge_id for h in histories.values()}
    patient_reductions: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in ledger.patient_payments:
        charge_id = payment.charge_id or claim_charge.get(payment.claim_id)
        if payment.posted_date <= as_of and charge_id:
            patient_reductions[charge_id] += payment.amount
    for write_off in ledger.write_offs:
        charge_id = write_off.charge_id or claim_charge.get(write_off.claim_id)
        if write_off.balance == "patient" and write_off.written_off_date <= as_of and charge_id:
            patient_reductions[charge_id] += write_off.amount
    result = []
    for item in charge_balances(ledger, as_of=as_of, scope=scope):
        if item.balance <= ZERO:
            continue
        owed = responsibility.get(item.charge.charge_id, (0, ZERO))[1] - patient_reductions[item.charge.charge_id]
        patient = min(max(owed, ZERO), item.balance)
        result.append(SplitBalance(item.charge.charge_id, item.charge.date_of_service, item.balance - patient, patient))
    return result


def bucket_of(age_days: int) -> str:
    """The aging bucket of an age in days from the date of service."""
    for label, low, high in AGING_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    return AGING_BUCKETS[0][0]  # a date of service after D (not expected) ages as current


def ar_aging(ledger: Ledger, *, as_of: date, scope: Scope | None = None) -> list[KpiValue]:
    """A/R aging buckets for payer, patient and all A/R; each value is the bucket's share of total A/R."""
    balances = split_balances(ledger, as_of=as_of, scope=scope)
    total = Tally()
    for balance in balances:
        total = total.plus(balance.total)
    values = []
    for part in ("payer", "patient", "total"):
        for label, _, _ in AGING_BUCKETS:
            bucket = Tally()
            for balance in balances:
                amount = {"payer": balance.payer, "patient": balance.patient, "total": balance.total}[part]
                if amount > ZERO and bucket_of((as_of - balance.date_of_service).days) == label:
                    bucket = bucket.plus(amount)
            share = (bucket.amount / total.amount).quantize(RATE_PLACES, ROUND_HALF_UP) if total.amount else None
            values.append(
                KpiValue(
                    name="ar_aging",
                    variant=f"{part}/{label}",
                    value=share,
                    unit="ratio",
                    definition=AGING_DEFINITION,
                    numerator=bucket,
                    denominator=total,
                    period_start=None,
                    period_end=as_of,
                )
            )
    return values


def net_collection_rate(ledger: Ledger, *, as_of: date, scope: Scope | None = None) -> KpiValue:
    """Net collection rate: payments over billed less contractual, for charges seen in the last 365 days."""
    bounds = window(as_of, NET_COLLECTION_DAYS)
    cohort = {
        c.charge_id: c
        for c in effective_charges(ledger, as_of, scope or Scope())
        if bounds[0] <= c.date_of_service <= bounds[1]
    }
    claim_charge = {h.ref.claim_id: h.ref.charge_id for h in claim_histories(ledger).values()}
    payments, contractual = Tally(), ZERO
    for posting in ledger.adjudications:
        charge_id = posting.charge_id or claim_charge.get(posting.claim_id)
        if posting.payment_date <= as_of and charge_id in cohort:
            payments = Tally(payments.count + 1, payments.amount + posting.effect(posting.paid))
            contractual += posting.effect(posting.contractual)
    for payment in ledger.patient_payments:
        charge_id = payment.charge_id or claim_charge.get(payment.claim_id)
        if payment.posted_date <= as_of and charge_id in cohort:
            payments = payments.plus(payment.amount)
    billed = sum((c.billed for c in cohort.values()), ZERO)
    collectible = Tally(len(cohort), billed - contractual)
    value = None
    if collectible.amount > 0:
        value = (payments.amount / collectible.amount).quantize(RATE_PLACES, ROUND_HALF_UP)
    return KpiValue(
        name="net_collection_rate",
        variant=None,
        value=value,
        unit="ratio",
        definition=NET_COLLECTION_DEFINITION,
        numerator=payments,
        denominator=collectible,
        period_start=bounds[0],
        period_end=as_of,
    )
