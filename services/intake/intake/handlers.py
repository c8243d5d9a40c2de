"""Event type → intake use case (intake consumes only its own reference topic, to verify API keys)."""

from intake.models import infra
from shared.consumer import Handler
from shared.replica import reference_handlers

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
