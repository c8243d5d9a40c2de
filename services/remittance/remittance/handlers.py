"""Event type → remittance use case."""

from remittance.models import infra
from remittance.service import record_submitted_claim
from shared.consumer import Handler
from shared.replica import reference_handlers

HANDLERS: dict[str, Handler] = {
    "claim.submitted": record_submitted_claim,
}

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
