"""Coding's own Prometheus metrics (labels are bounded: programs, statuses, rule families)."""

from prometheus_client import Counter

CHARGES_CODED = Counter(
    "claimflow_coding_charges_total", "Charges stored by coding, by program and status", ["program", "status"]
)
HOLD_REASONS = Counter(
    "claimflow_coding_hold_reasons_total", "Hold reasons raised, by rule family (PT, PAIR, UNITS, REVIEW...)", ["rule"]
)
MONTHS_CLOSED = Counter(
    "claimflow_coding_care_management_months_total", "Care-management patient-months closed, by outcome", ["status"]
)


def rule_family(rule_id: str) -> str:
    """The bounded family of a rule id: 'PAIR-90834-90839' → 'PAIR'."""
    return rule_id.split("-", 1)[0]
