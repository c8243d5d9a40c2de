"""Settings of the analytics service."""

from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    """Analytics configuration (environment prefix CLAIMFLOW_)."""

    service_name: str = "analytics"
    gauge_refresh_seconds: float = 5.0
