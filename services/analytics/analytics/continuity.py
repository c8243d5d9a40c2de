"""Denials by root cause and authorization continuity of DOMAIN.md section 6. Pure: no I/O here."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from analytics.domain import DEFAULT_WINDOW_DAYS, KpiValue, Scope, Tally, claim_histories, in_window, ratio, window
from analytics.ledger import ZERO, AuthorizationPolicy, Ledger, Visit

# DOMAIN.md 5.3 categories as remittance names them, listed even when empty so reports keep their shape.
ROOT_CAUSES = (
    "authorization_missing",
    "authorization_denied",
    "authorization_exhausted",
    "not_covered",
    "visit_limit",
    "telehealth",
    "provider_not_credentialed",
    "eligibility",
    "coding",
    "timely_filing",
    "duplicate",
    "medical_necessity",
    "unclassified",
)

DENIALS_DEFINITION = (
    "Denials posted (835 payment date) in [D-(window-1), D] with the root cause remittance gave them (DOMAIN.md "
    "5.3); numerator: count and denied dollars of the root cause; denominator: all denials of the window. "
    "value = the root cause's share of the denial count."
)
CONTINUITY_DEFINITION = (
    "Visits with a date of service in [D-(window-1), D] of services the payer profile in force on that date says "
    "need authorization (all services, listed codes, or visits past the unmanaged allowance of the calendar "
    "year); numerator: visits inside an active authorization with at least one unit left before the visit. "
    "Amounts are the billed dollars of the visits' charges."
)


def denials_by_root_cause(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> list[KpiValue]:
    """Count and dollars of denials per root cause over the window, with the window's total as denominator."""
    bounds = window(as_of, window_days)
    scope = scope or Scope()
    histories = claim_histories(ledger)
    per_cause: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for denial in ledger.denials:
        history = histories.get(denial.claim_id)
        if not in_window(denial.payment_date, bounds):
            continue
        if history is None and scope != Scope():
            continue
        if history is not None and not scope.admits(
            practice_id=history.practice_id,
            provider_id=history.ref.provider_id,
            payer_id=history.ref.payer_id,
            program=history.ref.program,
        ):
            continue
        cause = denial.root_cause if denial.root_cause in ROOT_CAUSES else "unclassified"
        per_cause[cause] = per_cause[cause].plus(denial.denied_amount)
        total = total.plus(denial.denied_amount)
    return [
        KpiValue(
            name="denials_by_root_cause",
            variant=cause,
            value=ratio(per_cause[cause], total),
            unit="ratio",
            definition=DENIALS_DEFINITION,
            numerator=per_cause[cause],
            denominator=total,
            period_start=bounds[0],
            period_end=bounds[1],
        )
        for cause in ROOT_CAUSES
    ]


def policy_on(policies: list[AuthorizationPolicy], day: date) -> AuthorizationPolicy | None:
    """The payer's authorization rule in force on a date (the latest effective on or before it)."""
    in_force = [p for p in policies if p.effective_from <= day]
    return max(in_force, key=lambda p: p.effective_from) if in_force else None


def needs_authorization(policy: AuthorizationPolicy | None, codes: tuple[str, ...], visit_ordinal: int) -> bool:
    """Whether a visit needs an authorization under the payer's rule (unknown codes: not counted for listed)."""
    if policy is None or policy.mode == "none":
        return False
    if policy.mode == "all":
        return True
    if policy.mode == "listed_codes":
        return any(code in policy.codes for code in codes)
    if policy.mode == "after_visits":
        return visit_ordinal > (policy.unmanaged_visits or 0)
    return False


def _latest_visits(ledger: Ledger, as_of: date) -> list[Visit]:
    """One visit per encounter (its latest amendment known by D), cancelled ones left out."""
    latest: dict[str, Visit] = {}
    for visit in sorted(ledger.visits, key=lambda v: v.received_date):
        if visit.received_date <= as_of:
            latest[visit.encounter_id] = visit
    return [v for key, v in latest.items() if key not in ledger.cancelled_visits]


def _visit_ordinals(visits: list[Visit]) -> dict[str, int]:
    """Each visit's rank among the patient's visits with the same payer in the calendar year (1 = first)."""
    groups: dict[tuple[uuid.UUID | None, uuid.UUID | None, int], list[Visit]] = defaultdict(list)
    for visit in visits:
        groups[(visit.patient_id, visit.payer_id, visit.date_of_service.year)].append(visit)
    ordinals: dict[str, int] = {}
    for group in groups.values():
        for rank, visit in enumerate(sorted(group, key=lambda v: (v.date_of_service, v.encounter_id)), start=1):
            ordinals[visit.encounter_id] = rank
    return ordinals


def authorization_continuity(
    ledger: Ledger, *, as_of: date, window_days: int = DEFAULT_WINDOW_DAYS, scope: Scope | None = None
) -> KpiValue:
    """Share of visits needing authorization that fell inside an active authorization with a unit left."""
    bounds = window(as_of, window_days)
    scope = scope or Scope()
    charges = {c.charge_id: c for c in ledger.charges}
    visits = _latest_visits(ledger, as_of)
    ordinals = _visit_ordinals(visits)
    cohort, covered = Tally(), Tally()
    for visit in visits:
        if not in_window(visit.date_of_service, bounds) or visit.payer_id is None:
            continue
        charge = charges.get(visit.encounter_id)
        program = charge.program if charge else ""
        if not scope.admits(
            practice_id=visit.practice_id, provider_id=visit.provider_id, payer_id=visit.payer_id, program=program
        ):
            continue
        policy = policy_on(ledger.authorization_policies.get(visit.payer_id, []), visit.date_of_service)
        codes = ledger.procedure_codes.get(visit.encounter_id, ())
        if not needs_authorization(policy, codes, ordinals[visit.encounter_id]):
            continue
        billed = charge.billed if charge else ZERO
        cohort = cohort.plus(billed)
        if visit.authorized:
            covered = covered.plus(billed)
    return KpiValue(
        name="authorization_continuity",
        variant=None,
        value=ratio(covered, cohort),
        unit="ratio",
        definition=CONTINUITY_DEFINITION,
        numerator=covered,
        denominator=cohort,
        period_start=bounds[0],
        period_end=bounds[1],
    )
