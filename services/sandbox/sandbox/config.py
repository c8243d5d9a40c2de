"""Settings of the sandbox clearinghouse (not a Claimflow service: no database, no Kafka)."""

from decimal import Decimal

from shared.settings import ServiceSettings


class SandboxSettings(ServiceSettings):
    """Sandbox configuration: payer behaviour defaults (CLAIMFLOW_SANDBOX_*) and where 835s are delivered."""

    service_name: str = "sandbox"
    remittance_url: str = "http://127.0.0.1:8104"
    sandbox_allowed_pct: Decimal = Decimal("0.80")
    sandbox_copay: Decimal = Decimal("20.00")
    sandbox_denial_rate: float = 0.05
    sandbox_payment_lag_business_days: int = 10
    sandbox_seed: str = "claimflow-sandbox"
    sandbox_delivery_seconds: float = 0.5
    sandbox_delivery_timeout_seconds: float = 30.0
