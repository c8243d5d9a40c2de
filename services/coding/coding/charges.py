"""Charges as coding stores and announces them: drafts, pricing, revisions, charge events through the outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coding import domain, monthly, repository
from coding.config import CodingSettings
from coding.metrics import CHARGES_CODED, HOLD_REASONS, rule_family
from coding.models import infra
from coding.rulebook import FeeEntry, RuleBook
from shared.events.catalogue import build_event
from shared.events.charge import ChargeCreated, ChargeHeld, ChargeLine, ChargeVoided, HoldReason
from shared.events.encounter import EncounterFacts
from shared.events.envelope import Envelope
from shared.outbox import add_event
from shared.settings import load_settings


@cache
def settings() -> CodingSettings:
    """The coding settings, read on first use (never at import)."""
    return load_settings(CodingSettings)


@dataclass(frozen=True)
class EventContext:
    """Envelope facts of the events a use case emits."""

    organization_id: uuid.UUID
    business_date: date
    correlation_id: str
    causation_id: str | None = None

    @classmethod
    def caused_by(cls, event: Envelope) -> EventContext:
        """The context of events caused by an incoming event."""
        return cls(event.organizationid, event.businessdate, event.correlationid, event.id)


@dataclass
class ChargeDraft:
    """A charge about to be stored and announced."""

    charge_id: str
    encounter_id: uuid.UUID | None
    facts: dict[str, Any]
    date_of_service: date
    program: str
    lines: list[ChargeLine] = field(default_factory=list)
    holds: list[HoldReason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    review_sampled: bool = False
    revision: int = 1
    amendment_number: int = 0
    care_management_month: date | None = None
    # A charge revised in place keeps the date it was first posted: it is still the one charge of its visit or month.
    posted_date: date | None = None

    @property
    def total(self) -> Decimal:
        """Sum of the line amounts."""
        return sum((line.amount for line in self.lines), Decimal("0"))

    def signature(self) -> tuple[Any, ...]:
        """What makes two codings of the same visit the same charge."""
        return (
            tuple(
                (line.procedure_code, tuple(line.modifiers), line.units, line.place_of_service) for line in self.lines
            ),
            tuple(sorted(hold.rule_id for hold in self.holds)),
            self.total,
        )


def stored_signature(row: Any) -> tuple[Any, ...]:
    """The signature of a stored charge row."""
    return (
        tuple(
            (line["procedure_code"], tuple(line["modifiers"]), line["units"], line["place_of_service"])
            for line in row.lines
        ),
        tuple(sorted(hold["rule_id"] for hold in row.hold_reasons)),
        Decimal(row.total_amount),
    )


def revision_id(base: str, revision: int) -> str:
    """Charge id of a revision: the base id first, then base.2, base.3 ..."""
    return base if revision == 1 else f"{base}.{revision}"


def charge_lines(
    coded: tuple[domain.CodedLine, ...] | list[domain.CodedLine],
    *,
    diagnosis_count: int,
    program: str,
    payer_id: str | None,
    fees: tuple[FeeEntry, ...],
    rules: RuleBook,
) -> tuple[list[ChargeLine], list[HoldReason]]:
    """Priced service lines with pointers; a code without any fee is held rather than billed at zero."""
    pointers = domain.diagnosis_pointers(diagnosis_count, rules)
    lines: list[ChargeLine] = []
    holds: list[HoldReason] = []
    for number, line in enumerate(coded, start=1):
        unit_fee = domain.fee_for(line.procedure_code, line.modifiers, payer_id, fees, rules)
        if unit_fee <= 0:
            holds.append(HoldReason(rule_id="FEE-MISSING", reason=f"no fee on file for {line.procedure_code}"))
        lines.append(
            ChargeLine(
                line_number=number,
                procedure_code=line.procedure_code,
                modifiers=list(line.modifiers),
                units=line.units,
                diagnosis_pointers=pointers,
                place_of_service=line.place_of_service,
                amount=unit_fee * line.units,
                rule_ids=list(line.rule_ids),
                explanation=line.explanation,
                program=program,
            )
        )
    return lines, holds


def snapshot(facts: EncounterFacts) -> dict[str, Any]:
    """What a later charge event needs of the encounter."""
    return facts.model_dump(mode="json")


def charge_payload(draft: ChargeDraft, posted: date) -> ChargeCreated:
    """The charge.created payload of a draft."""
    facts = draft.facts
    return ChargeCreated.model_validate(
        {
            "charge_id": draft.charge_id,
            "encounter_id": draft.encounter_id,
            "date_of_service": draft.date_of_service,
            "charge_posted_date": posted,
            "program": draft.program,
            "practice": facts["practice"],
            "provider": facts["provider"],
            "patient": facts["patient"],
            "coverage": facts.get("coverage"),
            "authorization": facts.get("authorization"),
            "diagnoses": facts["diagnoses"],
            "lines": draft.lines,
            "total_amount": draft.total,
            "review_sampled": draft.review_sampled,
            "notes": draft.notes,
            "revision": draft.revision,
            "care_management_month": monthly.month_label(draft.care_management_month)
            if draft.care_management_month
            else None,
        }
    )


async def store_and_announce(session: AsyncSession, context: EventContext, draft: ChargeDraft) -> bool:
    """Insert a new charge (created or held) and queue its event; False when it already existed."""
    status = "held" if draft.holds else "created"
    facts = draft.facts
    inserted = await repository.insert_charge(
        session,
        {
            "charge_id": draft.charge_id,
            "organization_id": context.organization_id,
            "practice_id": facts["practice"]["practice_id"],
            "encounter_id": draft.encounter_id,
            "status": status,
            "date_of_service": draft.date_of_service,
            "charge_posted_date": context.business_date,
            "program": draft.program,
            "total_amount": draft.total,
            "lines": [line.model_dump(mode="json") for line in draft.lines],
            "hold_reasons": [hold.model_dump(mode="json") for hold in draft.holds],
            "source_event_id": context.causation_id or context.correlation_id,
            "patient_id": facts["patient"]["patient_id"],
            "provider_id": facts["provider"]["provider_id"],
            "provider_taxonomy": facts["provider"]["taxonomy"],
            "revision": draft.revision,
            "amendment_number": draft.amendment_number,
            "review_sampled": draft.review_sampled,
            "notes": draft.notes,
            "facts": facts,
            "care_management_month": draft.care_management_month,
        },
        announcement(context, draft, status),
    )
    if inserted:
        CHARGES_CODED.labels(draft.program, status).inc()
        for hold in draft.holds:
            HOLD_REASONS.labels(rule_family(hold.rule_id)).inc()
    return inserted


def announcement(context: EventContext, draft: ChargeDraft, status: str) -> tuple[str, Envelope]:
    """charge.held or charge.created for a draft, with its topic."""
    practice_id = uuid.UUID(str(draft.facts["practice"]["practice_id"]))
    if status == "held":
        held = ChargeHeld(
            charge_id=draft.charge_id,
            encounter_id=draft.encounter_id,
            date_of_service=draft.date_of_service,
            reasons=draft.holds,
            program=draft.program,
            lines=draft.lines,
            review_sampled=draft.review_sampled,
            revision=draft.revision,
        )
        return charge_event(context, "charge.held", held, draft.charge_id, practice_id)
    payload = charge_payload(draft, draft.posted_date or context.business_date)
    return charge_event(context, "charge.created", payload, draft.charge_id, practice_id)


async def announce(session: AsyncSession, context: EventContext, draft: ChargeDraft, status: str) -> None:
    """Queue charge.held or charge.created for a draft in the caller's transaction."""
    await add_event(session, infra, *announcement(context, draft, status))


async def emit(
    session: AsyncSession,
    context: EventContext,
    event_type: str,
    payload: Any,
    charge_id: str,
    practice_id: uuid.UUID,
) -> None:
    """Queue one charge event in the caller's transaction."""
    await add_event(session, infra, *charge_event(context, event_type, payload, charge_id, practice_id))


def charge_event(
    context: EventContext, event_type: str, payload: Any, charge_id: str, practice_id: uuid.UUID
) -> tuple[str, Envelope]:
    """A charge event caused by what the context names, with its topic."""
    return build_event(
        event_type,
        payload,
        source="coding",
        subject=charge_id,
        organization_id=context.organization_id,
        business_date=context.business_date,
        correlation_id=context.correlation_id,
        causation_id=context.causation_id,
        practice_id=practice_id,
    )


async def void_charge(
    session: AsyncSession, context: EventContext, row: Any, reason: str, *, replaced_by: str | None = None
) -> None:
    """Withdraw a charge and tell downstream (claims not yet sent are voided there)."""
    await repository.update_charge(session, row.charge_id, {"status": "voided"})
    payload = ChargeVoided(
        charge_id=row.charge_id, reason=reason, encounter_id=row.encounter_id, replaced_by=replaced_by
    )
    await emit(session, context, "charge.voided", payload, row.charge_id, row.practice_id)


def revised_in_place(row: Any) -> bool:
    """Whether a stored charge is a later revision under its first id (billed before, then re-coded), rather than a
    charge of its own issued after an earlier one was withdrawn (whose id carries its revision)."""
    return bool(row.revision > 1 and not row.charge_id.endswith(f".{row.revision}"))


def same_billing_party(row: Any, draft: ChargeDraft) -> bool:
    """Whether a re-coded charge bills the same patient to the same payer (at the same priority) as the stored one:
    only then is it a replacement of the claim already billed."""

    def party(facts: dict[str, Any]) -> tuple[Any, ...]:
        coverage = facts.get("coverage") or {}
        return (str(facts["patient"]["patient_id"]), str(coverage.get("payer_id")), coverage.get("priority"))

    return party(dict(row.facts or {})) == party(draft.facts)


async def revise_charge(
    session: AsyncSession, context: EventContext, live: Any, draft: ChargeDraft, *, after_review: HoldReason
) -> bool:
    """Re-code a live charge under its own id (False, and nothing done, when the billed lines are the same): a billed
    one becomes the next revision, announced again with the same charge id and its first posting date, so submission
    replaces the claim it billed instead of voiding it and billing another (DOMAIN.md 6); a held one is re-coded
    under its revision. A charge a person resolved goes back to review with `after_review`."""
    if stored_signature(live) == draft.signature():
        return False
    if live.status == "released":
        draft.holds.append(after_review)
    draft.revision = live.revision if live.status == "held" else live.revision + 1
    draft.charge_id = live.charge_id
    draft.posted_date = live.charge_posted_date
    status = "held" if draft.holds else "created"
    await repository.update_charge(
        session,
        live.charge_id,
        {
            "status": status,
            "revision": draft.revision,
            "program": draft.program,
            "date_of_service": draft.date_of_service,
            "total_amount": draft.total,
            "lines": [line.model_dump(mode="json") for line in draft.lines],
            "hold_reasons": [hold.model_dump(mode="json") for hold in draft.holds],
            "notes": draft.notes,
            "review_sampled": draft.review_sampled,
            "facts": draft.facts,
            "amendment_number": draft.amendment_number,
            "resolution": None,
        },
    )
    await announce(session, context, draft, status)
    return True
