"""Event type → submission use case."""

from shared.consumer import Handler
from shared.replica import reference_handlers
from submission.models import infra
from submission.service import create_claim_for_charge, void_claims_of_charge

HANDLERS: dict[str, Handler] = {
    "charge.created": create_claim_for_charge,
    "charge.voided": void_claims_of_charge,
}

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
