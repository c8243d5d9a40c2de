"""Settings of the coding service."""

from shared.settings import ServiceSettings


class CodingSettings(ServiceSettings):
    """Coding configuration (environment prefix CLAIMFLOW_).

    Review sampling of new clinicians defaults to the rule data (policy.yaml); these override it per deployment.
    """

    service_name: str = "coding"
    review_sample_share: float | None = None
    review_window_days: int | None = None
