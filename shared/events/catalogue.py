"""The event catalogue: topics, keys, event types with their payloads, and one parser for all of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import Field, TypeAdapter, ValidationError

from shared.dates import CalendarDate
from shared.events import charge, claim, encounter, reference, remittance
from shared.events.envelope import Envelope, Payload, schema_urn

REFERENCE = "claimflow.reference.v1"
PATIENT_INTAKE = "claimflow.patient-intake.v1"
CHARGE = "claimflow.charge.v1"
CLAIM_SUBMITTED = "claimflow.claim-submitted.v1"
CLAIM_ACKNOWLEDGED = "claimflow.claim-acknowledged.v1"
REMITTANCE = "claimflow.remittance.v1"
DENIAL = "claimflow.denial.v1"


@dataclass(frozen=True)
class TopicSpec:
    """A catalogue topic: producer, key, and how long it keeps messages."""

    name: str
    producer: str
    key: str
    compacted: bool = False

    @property
    def dead_letter(self) -> str:
        """Name of the topic's dead-letter topic."""
        return f"{self.name}.dlq"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(REFERENCE, "intake", "entity id", compacted=True),
    TopicSpec(PATIENT_INTAKE, "intake", "encounter id"),
    TopicSpec(CHARGE, "coding", "charge id"),
    TopicSpec(CLAIM_SUBMITTED, "submission", "claim id"),
    TopicSpec(CLAIM_ACKNOWLEDGED, "submission", "claim id"),
    TopicSpec(REMITTANCE, "remittance", "claim id; practice id for provider-level events"),
    TopicSpec(DENIAL, "remittance", "claim id; practice id for pattern escalations"),
)


class ReferenceUpsertedEvent(Envelope):
    """An upsert of master data."""

    type: Literal["reference.upserted"] = "reference.upserted"
    data: reference.ReferenceUpserted


class ReferenceDeletedEvent(Envelope):
    """A deletion of master data."""

    type: Literal["reference.deleted"] = "reference.deleted"
    data: reference.ReferenceDeleted


class EncounterReceivedEvent(Envelope):
    """An encounter accepted by intake."""

    type: Literal["encounter.received"] = "encounter.received"
    data: encounter.EncounterReceived


class EncounterAmendedEvent(Envelope):
    """An encounter amended by the EHR."""

    type: Literal["encounter.amended"] = "encounter.amended"
    data: encounter.EncounterAmended


class EncounterCancelledEvent(Envelope):
    """An encounter cancelled by the EHR."""

    type: Literal["encounter.cancelled"] = "encounter.cancelled"
    data: encounter.EncounterCancelled


class ChargeCreatedEvent(Envelope):
    """A charge coded from an encounter."""

    type: Literal["charge.created"] = "charge.created"
    data: charge.ChargeCreated


class ChargeHeldEvent(Envelope):
    """A charge held for coding review."""

    type: Literal["charge.held"] = "charge.held"
    data: charge.ChargeHeld


class ChargeReleasedEvent(Envelope):
    """A held charge released by a reviewer."""

    type: Literal["charge.released"] = "charge.released"
    data: charge.ChargeReleased


class ChargeVoidedEvent(Envelope):
    """A charge withdrawn."""

    type: Literal["charge.voided"] = "charge.voided"
    data: charge.ChargeVoided


class ClaimSubmittedEvent(Envelope):
    """An attempt of a claim sent to the clearinghouse."""

    type: Literal["claim.submitted"] = "claim.submitted"
    data: claim.ClaimSubmitted


class ClaimHeldEvent(Envelope):
    """A claim held by the scrubber."""

    type: Literal["claim.held"] = "claim.held"
    data: claim.ClaimHeld


class ClaimVoidedEvent(Envelope):
    """A claim withdrawn."""

    type: Literal["claim.voided"] = "claim.voided"
    data: claim.ClaimVoided


class ClaimAcknowledgedEvent(Envelope):
    """A 999 or 277CA outcome for a claim attempt."""

    type: Literal["claim.acknowledged"] = "claim.acknowledged"
    data: claim.ClaimAcknowledged


class RemittancePostedEvent(Envelope):
    """An 835 claim payment posted."""

    type: Literal["remittance.posted"] = "remittance.posted"
    data: remittance.RemittancePosted


class RemittanceReversedEvent(Envelope):
    """An 835 reversal posted."""

    type: Literal["remittance.reversed"] = "remittance.reversed"
    data: remittance.RemittanceReversed


class PatientPaymentPostedEvent(Envelope):
    """A patient payment posted."""

    type: Literal["patient-payment.posted"] = "patient-payment.posted"
    data: remittance.PatientPaymentPosted


class BalanceWrittenOffEvent(Envelope):
    """A balance written off."""

    type: Literal["balance.written-off"] = "balance.written-off"
    data: remittance.BalanceWrittenOff


class ProviderAdjustmentPostedEvent(Envelope):
    """A PLB provider-level adjustment posted."""

    type: Literal["provider-adjustment.posted"] = "provider-adjustment.posted"
    data: remittance.ProviderAdjustmentPosted


class ClaimDeniedEvent(Envelope):
    """A denial with its root cause."""

    type: Literal["claim.denied"] = "claim.denied"
    data: remittance.ClaimDenied


class DenialEscalatedEvent(Envelope):
    """An escalation of a denial or a denial pattern."""

    type: Literal["denial.escalated"] = "denial.escalated"
    data: remittance.DenialEscalated


class DenialAppealedEvent(Envelope):
    """A denial appealed."""

    type: Literal["denial.appealed"] = "denial.appealed"
    data: remittance.DenialAppealed


class DenialResolvedEvent(Envelope):
    """A denial resolved."""

    type: Literal["denial.resolved"] = "denial.resolved"
    data: remittance.DenialResolved


class CorrectionRequestedEvent(Envelope):
    """A corrected claim requested of submission."""

    type: Literal["correction.requested"] = "correction.requested"
    data: remittance.CorrectionRequested


EVENT_CLASSES: dict[str, tuple[str, type[Envelope]]] = {
    "reference.upserted": (REFERENCE, ReferenceUpsertedEvent),
    "reference.deleted": (REFERENCE, ReferenceDeletedEvent),
    "encounter.received": (PATIENT_INTAKE, EncounterReceivedEvent),
    "encounter.amended": (PATIENT_INTAKE, EncounterAmendedEvent),
    "encounter.cancelled": (PATIENT_INTAKE, EncounterCancelledEvent),
    "charge.created": (CHARGE, ChargeCreatedEvent),
    "charge.held": (CHARGE, ChargeHeldEvent),
    "charge.released": (CHARGE, ChargeReleasedEvent),
    "charge.voided": (CHARGE, ChargeVoidedEvent),
    "claim.submitted": (CLAIM_SUBMITTED, ClaimSubmittedEvent),
    "claim.held": (CLAIM_SUBMITTED, ClaimHeldEvent),
    "claim.voided": (CLAIM_SUBMITTED, ClaimVoidedEvent),
    "claim.acknowledged": (CLAIM_ACKNOWLEDGED, ClaimAcknowledgedEvent),
    "remittance.posted": (REMITTANCE, RemittancePostedEvent),
    "remittance.reversed": (REMITTANCE, RemittanceReversedEvent),
    "patient-payment.posted": (REMITTANCE, PatientPaymentPostedEvent),
    "balance.written-off": (REMITTANCE, BalanceWrittenOffEvent),
    "provider-adjustment.posted": (REMITTANCE, ProviderAdjustmentPostedEvent),
    "claim.denied": (DENIAL, ClaimDeniedEvent),
    "denial.escalated": (DENIAL, DenialEscalatedEvent),
    "denial.appealed": (DENIAL, DenialAppealedEvent),
    "denial.resolved": (DENIAL, DenialResolvedEvent),
    "correction.requested": (DENIAL, CorrectionRequestedEvent),
}

AnyEvent = Annotated[
    ReferenceUpsertedEvent
    | ReferenceDeletedEvent
    | EncounterReceivedEvent
    | EncounterAmendedEvent
    | EncounterCancelledEvent
    | ChargeCreatedEvent
    | ChargeHeldEvent
    | ChargeReleasedEvent
    | ChargeVoidedEvent
    | ClaimSubmittedEvent
    | ClaimHeldEvent
    | ClaimVoidedEvent
    | ClaimAcknowledgedEvent
    | RemittancePostedEvent
    | RemittanceReversedEvent
    | PatientPaymentPostedEvent
    | BalanceWrittenOffEvent
    | ProviderAdjustmentPostedEvent
    | ClaimDeniedEvent
    | DenialEscalatedEvent
    | DenialAppealedEvent
    | DenialResolvedEvent
    | CorrectionRequestedEvent,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


class UnknownEventType(Exception):
    """An event type this build does not know: skipped and counted, not dead-lettered."""


def peek_attribute(raw: bytes, name: str) -> str | None:
    """A string attribute of a raw event, or None when absent or the bytes are not a JSON object."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = document.get(name) if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def peek_type(raw: bytes) -> str | None:
    """The `type` attribute of a raw event, or None when the bytes are not a JSON object."""
    return peek_attribute(raw, "type")


def parse_event(raw: bytes) -> Envelope:
    """Parse any catalogue event; raises ValueError subclasses for bad input, UnknownEventType for new types.

    The type is looked at only when validation fails: decoding every event twice to tell a new type from a bad
    document cost a third of a replay's parsing.
    """
    try:
        return EVENT_ADAPTER.validate_json(raw)
    except ValidationError:
        event_type = peek_type(raw)
        if event_type is not None and event_type not in EVENT_CLASSES:
            raise UnknownEventType(event_type) from None
        raise


def serialize_event(event: Envelope) -> bytes:
    """JSON bytes of an event as it goes on the wire."""
    return event.model_dump_json(exclude_none=False).encode()


def build_event(
    event_type: str,
    payload: Payload,
    *,
    source: str,
    subject: str,
    organization_id: uuid.UUID,
    business_date: CalendarDate,
    correlation_id: str,
    causation_id: str | None = None,
    practice_id: uuid.UUID | None = None,
) -> tuple[str, Envelope]:
    """A new event of a catalogue type, with the topic it belongs on."""
    topic, cls = EVENT_CLASSES[event_type]
    event = cls(  # type: ignore[call-arg]
        source=f"claimflow/{source}",
        subject=subject,
        dataschema=schema_urn(event_type),
        organizationid=organization_id,
        practiceid=practice_id,
        correlationid=correlation_id,
        causationid=causation_id,
        businessdate=business_date,
        data=payload,
    )
    return topic, event


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every event type, keyed by type (checked in under shared/schemas)."""
    return {name: cls.model_json_schema() for name, (_, cls) in sorted(EVENT_CLASSES.items())}
