"""Settings of the analytics service."""

import hashlib

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
    dashboard_link_secret: SecretStr = SecretStr("")

    def link_secret(self) -> bytes:
        """Key signing dashboard links: the configured secret, else one derived from the runtime role's password.

        Every API replica shares the stack's configuration, so a link signed by one verifies on another.
        """
        configured = self.dashboard_link_secret.get_secret_value()
        if configured:
            return configured.encode()
        _, password = self.role_credentials()
        return hashlib.sha256(f"claimflow-dashboard-link:{password}".encode()).digest()
