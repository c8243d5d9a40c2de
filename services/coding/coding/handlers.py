"""Event type → coding use case."""

from coding.models import infra
from coding.service import code_received_encounter
from shared.consumer import Handler
from shared.replica import reference_handlers

HANDLERS: dict[str, Handler] = {
    "encounter.received": code_received_encounter,
}

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
