"""Event type → remittance use case."""

from remittance.models import infra
from remittance.service import lock_submitted_claims, record_submitted_claim
from shared.consumer import Handler
from shared.replica import reference_handlers

HANDLERS: dict[str, Handler] = {
    "claim.submitted": record_submitted_claim,
}
PREPARE_CLAIMS_BATCH = lock_submitted_claims

REFERENCE_HANDLERS: dict[str, Handler] = reference_handlers(infra)
