"""Settings of the remittance service."""

from shared.settings import ServiceSettings


class RemittanceSettings(ServiceSettings):
    """Remittance configuration (environment prefix CLAIMFLOW_; the clearinghouse secret signs ERA deliveries)."""

    service_name: str = "remittance"
    era_max_bytes: int = 20_000_000
