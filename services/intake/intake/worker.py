"""Intake worker: relays the outbox and keeps the API-key replica the API verifies against."""

from intake.config import IntakeSettings
from intake.handlers import REFERENCE_HANDLERS
from intake.models import infra
from shared.events.catalogue import REFERENCE
from shared.settings import load_settings
from shared.worker import ConsumerSpec, WorkerSpec, main


def worker_spec() -> WorkerSpec:
    """What the intake worker runs."""
    return WorkerSpec(
        settings=load_settings(IntakeSettings),
        infra=infra,
        consumers=(ConsumerSpec("reference", (REFERENCE,), REFERENCE_HANDLERS),),
    )


if __name__ == "__main__":
    main(worker_spec)
