"""Event type → analytics use case."""

from analytics.facts import EXTRACTORS
from analytics.models import infra
from analytics.service import record_fact
from shared.consumer import Handler
from shared.replica import reference_handlers

HANDLERS: dict[str, Handler] = dict.fromkeys(EXTRACTORS, record_fact)

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
