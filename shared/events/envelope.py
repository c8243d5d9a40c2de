"""CloudEvents 1.0 envelope with Claimflow's extension attributes, shared by every event type."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import utcnow
from shared.dates import CalendarDate


class Payload(BaseModel):
    """Base of every event payload: strict about unknown fields, tolerant of added optional ones."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


class Envelope(BaseModel):
    """Envelope attributes: CloudEvents names plus organization, practice, correlation, causation, business date."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="Unique event id")
    source: str = Field(description="Producing service, e.g. 'claimflow/intake'")
    type: str = Field(description="Event type, a fact in the past tense")
    specversion: str = "1.0"
    time: datetime = Field(default_factory=utcnow, description="Instant the event was recorded (UTC)")
    subject: str = Field(description="Id of the entity the event is about; also the Kafka key")
    datacontenttype: str = "application/json"
    dataschema: str = Field(default="", description="URN of the payload schema and its major version")
    organizationid: uuid.UUID = Field(description="Tenant the event belongs to")
    practiceid: uuid.UUID | None = Field(default=None, description="Practice the event is about, if any")
    correlationid: str = Field(description="Id shared by every event of one encounter's journey")
    causationid: str | None = Field(default=None, description="Id of the event (or request) that caused this one")
    businessdate: CalendarDate = Field(
        description="The business date the fact is about (from the data or the business clock)"
    )
    data: Any = None


def schema_urn(event_type: str, major: int = 1) -> str:
    """The dataschema attribute for an event type and major version."""
    return f"urn:claimflow:event:{event_type}:v{major}"
