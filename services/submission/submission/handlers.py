"""Event type → submission use case."""

from shared.consumer import Handler
from shared.replica import reference_handlers
from submission.corrections import bill_charge, on_remittance_posted, void_claims_of_charge
from submission.models import infra
from submission.queues import on_correction_requested

HANDLERS: dict[str, Handler] = {
    "charge.created": bill_charge,
    "charge.released": bill_charge,
    "charge.voided": void_claims_of_charge,
}

# Outcomes from remittance: which claims the payer adjudicated (payer claim number), and corrections it asks for.
REMITTANCE_HANDLERS: dict[str, Handler] = {
    "remittance.posted": on_remittance_posted,
    "correction.requested": on_correction_requested,
}

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
