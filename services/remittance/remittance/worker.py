"""Remittance worker: consumes submitted claims and reference data, relays the outbox."""

from remittance.config import RemittanceSettings
from remittance.handlers import HANDLERS, PREPARE_CLAIMS_BATCH, REFERENCE_HANDLERS
from remittance.models import infra
from shared.events.catalogue import CLAIM_SUBMITTED, REFERENCE
from shared.settings import load_settings
from shared.worker import ConsumerSpec, WorkerSpec, main


def worker_spec() -> WorkerSpec:
    """What the remittance worker runs."""
    return WorkerSpec(
        settings=load_settings(RemittanceSettings),
        infra=infra,
        consumers=(
            ConsumerSpec("reference", (REFERENCE,), REFERENCE_HANDLERS),
            ConsumerSpec("claims", (CLAIM_SUBMITTED,), HANDLERS, prepare=PREPARE_CLAIMS_BATCH),
        ),
    )


if __name__ == "__main__":
    main(worker_spec)
