"""Analytics worker: consumes the lifecycle topics into facts, refreshes the business gauges, serves /metrics."""

from analytics.config import AnalyticsSettings
from analytics.gauges import business_gauge_task
from analytics.handlers import HANDLERS, REFERENCE_HANDLERS
from analytics.models import infra
from shared.events.catalogue import (
    CHARGE,
    CLAIM_ACKNOWLEDGED,
    CLAIM_SUBMITTED,
    DENIAL,
    PATIENT_INTAKE,
    REFERENCE,
    REMITTANCE,
)
from shared.settings import load_settings
from shared.worker import ConsumerSpec, WorkerSpec, main

# Every topic the read model is built from (the replay command reads the same ones from the beginning).
LIFECYCLE_TOPICS = (PATIENT_INTAKE, CHARGE, CLAIM_SUBMITTED, CLAIM_ACKNOWLEDGED, REMITTANCE, DENIAL)


def worker_spec() -> WorkerSpec:
    """What the analytics worker runs."""
    settings = load_settings(AnalyticsSettings)
    return WorkerSpec(
        settings=settings,
        infra=infra,
        consumers=(
            ConsumerSpec("reference", (REFERENCE,), REFERENCE_HANDLERS),
            ConsumerSpec("lifecycle", LIFECYCLE_TOPICS, HANDLERS),
        ),
        background=(
            business_gauge_task(
                settings.gauge_refresh_seconds, settings.gauge_refresh_budget, settings.gauge_max_organizations
            ),
        ),
    )


if __name__ == "__main__":
    main(worker_spec)
