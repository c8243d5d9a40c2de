"""Settings of the intake service."""

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Intake configuration (environment prefix CLAIMFLOW_)."""

    service_name: str = "intake"
    max_batch_encounters: int = 500
    max_request_bytes: int = 5_000_000
