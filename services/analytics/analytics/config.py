"""Settings of the analytics service."""

from datetime import timedelta

from pydantic import SecretStr

from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    """Analytics configuration (environment prefix CLAIMFLOW_)."""

    service_name: str = "analytics"
    # Prometheus scrapes every 15 s: refreshing more often only recomputes values nobody reads.
    gauge_refresh_seconds: float = 15.0
    # Share of the worker's time the business gauges may take: each pass rebuilds the ledger of every organization
    # whose facts changed, so a large organization's gauges refresh less often rather than slowing the consumers.
    gauge_refresh_budget: float = 0.05
    # The business gauges carry organization and practice labels: they cover the organizations whose facts changed
    # most recently, at most this many, so the label set stays bounded however many tenants a deployment serves
    # (the KPI API answers for every organization; claimflow_business_gauge_organizations counts those left out).
    gauge_max_organizations: int = 100
    # Signs dashboard links; the launcher generates one into the stack's settings file. Without it analytics neither
    # signs nor verifies links (nothing is derived from another secret).
    dashboard_link_secret: SecretStr = SecretStr("")
    # The longest a dashboard link may live (ISO 8601 duration or seconds); a longer one is refused when asked for
    # and when presented.
    dashboard_link_max_lifetime: timedelta = timedelta(days=7)

    def link_secret(self) -> bytes:
        """The key signing and verifying dashboard links; LinkSecretMissing when none is configured.

        Every API replica shares the stack's configuration, so a link signed by one verifies on another.
        """
        configured = self.dashboard_link_secret.get_secret_value()
        if not configured:
            raise LinkSecretMissing("CLAIMFLOW_DASHBOARD_LINK_SECRET is not set")
        return configured.encode()


class LinkSecretMissing(RuntimeError):
    """No dashboard link secret is configured, so links can be neither signed nor verified."""
