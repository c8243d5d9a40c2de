"""Settings of the remittance service."""

from shared.settings import ServiceSettings


class RemittanceSettings(ServiceSettings):
    """Remittance configuration (environment prefix CLAIMFLOW_; the clearinghouse secret signs ERA deliveries)."""

    service_name: str = "remittance"
    era_max_bytes: int = 20_000_000
    max_request_bytes: int = 20_000_000  # an 835 upload is the largest request any service takes
