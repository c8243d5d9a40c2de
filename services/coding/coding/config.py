"""Settings of the coding service."""

from shared.settings import ServiceSettings


class CodingSettings(ServiceSettings):
    """Coding configuration (environment prefix CLAIMFLOW_)."""

    service_name: str = "coding"
