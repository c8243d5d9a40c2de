"""Escalations of DOMAIN.md 5.4 that remittance evaluates (high dollar, recurring pattern, credentialing)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from remittance import denial_rules
from remittance.denial_rules import EscalationRule, EscalationSettings
from remittance.models import denial_settings, denials, escalations, infra
from shared.events.catalogue import build_event
from shared.events.remittance import DenialEscalated
from shared.outbox import add_event


async def load_escalation_settings(session: AsyncSession) -> EscalationSettings:
    """The organization's thresholds, or DOMAIN.md's defaults when it never changed them."""
    row = (await session.execute(select(denial_settings))).first()
    if row is None:
        return EscalationSettings()
    return EscalationSettings(
        high_dollar_threshold=row.high_dollar_threshold,
        pattern_min_denials=row.pattern_min_denials,
        pattern_window_days=row.pattern_window_days,
        credentialing_enabled=row.credentialing_enabled,
    )


async def save_escalation_settings(
    session: AsyncSession, organization_id: uuid.UUID, changes: dict[str, Any]
) -> EscalationSettings:
    """Change some thresholds of the organization; the others keep their current value."""
    settings = replace(await load_escalation_settings(session), **changes)
    values = {
        "high_dollar_threshold": settings.high_dollar_threshold,
        "pattern_min_denials": settings.pattern_min_denials,
        "pattern_window_days": settings.pattern_window_days,
        "credentialing_enabled": settings.credentialing_enabled,
        "updated_at": func.now(),
    }
    statement = pg_insert(denial_settings).values(organization_id=organization_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["organization_id"], set_=values))
    return settings


async def _escalate(
    session: AsyncSession,
    rule: EscalationRule,
    *,
    organization_id: uuid.UUID,
    root_cause: str,
    escalated_date: date,
    common: dict[str, Any],
    denial_id: uuid.UUID | None = None,
    claim_id: str | None = None,
    practice_id: uuid.UUID | None = None,
    payer_id: uuid.UUID | None = None,
    denied_amount: Decimal | None = None,
    denied_visits: int | None = None,
    window_days: int | None = None,
) -> None:
    """Record one escalation and queue its denial.escalated event."""
    escalation_id = uuid.uuid4()
    route = denial_rules.ROUTES[rule]
    await session.execute(
        pg_insert(escalations).values(
            escalation_id=escalation_id,
            organization_id=organization_id,
            rule=rule,
            route=route,
            denial_id=denial_id,
            claim_id=claim_id,
            practice_id=practice_id,
            payer_id=payer_id,
            root_cause=root_cause,
            denied_visits=denied_visits,
            escalated_date=escalated_date,
        )
    )
    payload = DenialEscalated(
        rule=rule,
        denial_id=denial_id,
        claim_id=claim_id,
        root_cause=root_cause,
        route=route,
        escalated_date=escalated_date,
        escalation_id=escalation_id,
        practice_id=practice_id,
        payer_id=payer_id,
        denied_amount=denied_amount,
        denied_visits=denied_visits,
        window_days=window_days,
    )
    topic, event = build_event("denial.escalated", payload, **common)
    await add_event(session, infra, topic, event)


async def escalate_new_denial(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    denial_id: uuid.UUID,
    claim_id: str,
    practice_id: uuid.UUID | None,
    payer_id: uuid.UUID | None,
    root_cause: str,
    denied_amount: Decimal,
    payment_date: date,
    common: dict[str, Any],
) -> list[str]:
    """Evaluate the rules for a denial just recorded; returns the rules that fired (pattern included)."""
    settings = await load_escalation_settings(session)
    fired: list[str] = []
    for rule in denial_rules.denial_escalations(root_cause, denied_amount, settings):
        await _escalate(
            session,
            rule,
            organization_id=organization_id,
            root_cause=root_cause,
            escalated_date=payment_date,
            common=common,
            denial_id=denial_id,
            claim_id=claim_id,
            practice_id=practice_id,
            payer_id=payer_id,
            denied_amount=denied_amount,
        )
        fired.append(rule)
    if fired:
        await session.execute(update(denials).where(denials.c.denial_id == denial_id).values(escalation_rules=fired))
    if (
        practice_id is not None
        and payer_id is not None
        and await _pattern(session, organization_id, practice_id, payer_id, root_cause, payment_date, settings, common)
    ):
        fired.append("recurring_pattern")
    return fired


async def _pattern(
    session: AsyncSession,
    organization_id: uuid.UUID,
    practice_id: uuid.UUID,
    payer_id: uuid.UUID,
    root_cause: str,
    as_of: date,
    settings: EscalationSettings,
    common: dict[str, Any],
) -> bool:
    """Escalate once per window when one practice + payer + root cause has enough denied visits."""
    first, last = denial_rules.pattern_window(as_of, settings)
    same = (denials.c.practice_id == practice_id, denials.c.payer_id == payer_id, denials.c.root_cause == root_cause)
    visits = int(
        await session.scalar(
            select(func.count(func.distinct(denials.c.claim_id))).where(
                *same, denials.c.payment_date.between(first, last)
            )
        )
        or 0
    )
    already = await session.scalar(
        select(func.count())
        .select_from(escalations)
        .where(
            escalations.c.rule == "recurring_pattern",
            escalations.c.practice_id == practice_id,
            escalations.c.payer_id == payer_id,
            escalations.c.root_cause == root_cause,
            escalations.c.escalated_date.between(first, last),
        )
    )
    if not denial_rules.pattern_fires(visits, bool(already), settings):
        return False
    await _escalate(
        session,
        "recurring_pattern",
        organization_id=organization_id,
        root_cause=root_cause,
        escalated_date=as_of,
        common={**common, "subject": str(practice_id)},
        practice_id=practice_id,
        payer_id=payer_id,
        denied_visits=visits,
        window_days=settings.pattern_window_days,
    )
    return True
