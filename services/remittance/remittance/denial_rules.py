"""Denial work rules: escalation (DOMAIN.md 5.4, evaluated by remittance) and the work-queue state machine. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

EscalationRule = Literal["high_dollar", "recurring_pattern", "credentialing"]
Outcome = Literal["overturned", "upheld", "written_off", "corrected"]
CREDENTIALING_ROOT_CAUSE = "provider_not_credentialed"
ROUTES: dict[EscalationRule, str] = {
    "high_dollar": "senior_biller",
    "recurring_pattern": "root_cause_ticket",
    "credentialing": "credentialing_queue",
}
OPEN_STATUSES = ("open", "appealed")


@dataclass(frozen=True)
class EscalationSettings:
    """An organization's escalation thresholds; the defaults are DOMAIN.md 5.4's."""

    high_dollar_threshold: Decimal = Decimal("250.00")
    pattern_min_denials: int = 10
    pattern_window_days: int = 30
    credentialing_enabled: bool = True


def denial_escalations(root_cause: str, denied_amount: Decimal, settings: EscalationSettings) -> list[EscalationRule]:
    """The per-denial rules that fire: high dollar (amount at or above the threshold) and credentialing."""
    rules: list[EscalationRule] = []
    if denied_amount >= settings.high_dollar_threshold:
        rules.append("high_dollar")
    if settings.credentialing_enabled and root_cause == CREDENTIALING_ROOT_CAUSE:
        rules.append("credentialing")
    return rules


def work_queue(root_cause: str) -> str:
    """Credentialing denials go to the credentialing queue, not to appeals."""
    return "credentialing" if root_cause == CREDENTIALING_ROOT_CAUSE else "appeals"


def pattern_window(as_of: date, settings: EscalationSettings) -> tuple[date, date]:
    """First and last payment date of the recurring-pattern window ending on `as_of` (both inclusive)."""
    return as_of - timedelta(days=settings.pattern_window_days - 1), as_of


def pattern_fires(denied_visits: int, escalated_in_window: bool, settings: EscalationSettings) -> bool:
    """A recurring pattern escalates once per window when the denied visits reach the threshold."""
    return denied_visits >= settings.pattern_min_denials and not escalated_in_window


def action_refusal(status: str, action: str) -> str | None:
    """Why an action is not allowed on a denial in this status (None when it is)."""
    if status == "resolved":
        return f"the denial is already resolved; it cannot be {action}"
    if action == "appealed" and status == "appealed":
        return "the denial is already appealed"
    return None


def resolution_errors(
    outcome: Outcome,
    denied_amount: Decimal,
    recovered_amount: Decimal,
    written_off_amount: Decimal,
    open_in_bucket: Decimal,
) -> list[tuple[str, str]]:
    """(field, reason) for every amount that does not fit the outcome; empty when the resolution is consistent."""
    errors: list[tuple[str, str]] = []
    if recovered_amount > denied_amount:
        errors.append(("recovered_amount", f"is more than the denied amount ({denied_amount})"))
    if outcome == "written_off":
        if written_off_amount <= 0:
            errors.append(("written_off_amount", "must be greater than 0 when the outcome is written_off"))
        elif written_off_amount > open_in_bucket:
            errors.append(("written_off_amount", f"is more than the open balance it comes from ({open_in_bucket})"))
    elif written_off_amount != 0:
        errors.append(("written_off_amount", "is only allowed with the outcome written_off"))
    if outcome == "overturned" and recovered_amount <= 0:
        errors.append(("recovered_amount", "must be greater than 0 when the outcome is overturned"))
    return errors
