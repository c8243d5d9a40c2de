"""Event type → coding use case."""

from coding.models import infra
from coding.service import code_received_encounter, recode_amended_encounter, void_cancelled_encounter
from shared.consumer import Handler
from shared.replica import reference_handlers

# Encounter events also move coding's business clock (closing care-management months). Reference events do not:
# master data is often created before a demo or a backfill pins the clock to an earlier date.
HANDLERS: dict[str, Handler] = {
    "encounter.received": code_received_encounter,
    "encounter.amended": recode_amended_encounter,
    "encounter.cancelled": void_cancelled_encounter,
}

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
