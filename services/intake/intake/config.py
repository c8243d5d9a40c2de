"""Settings of the intake service."""

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Intake configuration (environment prefix CLAIMFLOW_)."""

    service_name: str = "intake"
