"""Coding worker: consumes encounters and reference data, relays the outbox."""

from coding.config import CodingSettings
from coding.handlers import HANDLERS, REFERENCE_HANDLERS
from coding.models import infra
from shared.events.catalogue import PATIENT_INTAKE, REFERENCE
from shared.settings import load_settings
from shared.worker import ConsumerSpec, WorkerSpec, main


def worker_spec() -> WorkerSpec:
    """What the coding worker runs."""
    return WorkerSpec(
        settings=load_settings(CodingSettings),
        infra=infra,
        consumers=(
            ConsumerSpec("reference", (REFERENCE,), REFERENCE_HANDLERS),
            ConsumerSpec("encounters", (PATIENT_INTAKE,), HANDLERS),
        ),
    )


if __name__ == "__main__":
    main(worker_spec)
