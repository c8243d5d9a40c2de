"""Submission worker: consumes charges and reference data, sends 837P batches, relays the outbox."""

from shared.events.catalogue import CHARGE, DENIAL, REFERENCE, REMITTANCE
from shared.icd10 import configured_code_sets
from shared.settings import load_settings
from shared.worker import ConsumerSpec, WorkerSpec, main
from submission.config import SubmissionSettings
from submission.handlers import HANDLERS, REFERENCE_HANDLERS, REMITTANCE_HANDLERS
from submission.models import infra
from submission.sender import sender_task


def worker_spec() -> WorkerSpec:
    """What the submission worker runs."""
    settings = load_settings(SubmissionSettings)
    return WorkerSpec(
        settings=settings,
        infra=infra,
        consumers=(
            ConsumerSpec("reference", (REFERENCE,), REFERENCE_HANDLERS),
            ConsumerSpec("charges", (CHARGE,), HANDLERS),
            ConsumerSpec("remittance", (REMITTANCE, DENIAL), REMITTANCE_HANDLERS),
        ),
        background=(sender_task(settings),),
        warm=(configured_code_sets,),
    )


if __name__ == "__main__":
    main(worker_spec)
