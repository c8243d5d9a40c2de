"""Settings of the coding service."""

from pydantic import Field

from shared.settings import ServiceSettings


class CodingSettings(ServiceSettings):
    """Coding configuration (environment prefix CLAIMFLOW_).

    Review sampling of new clinicians defaults to the rule data (policy.yaml); these override it per deployment.
    A care-management month closes on the business clock once this many business days (Monday to Friday) have
    passed after its last day, so documentation that arrives late still counts before the month is billed.
    """

    service_name: str = "coding"
    review_sample_share: float | None = None
    review_window_days: int | None = None
    care_management_close_business_days: int = Field(default=5, ge=0, le=20)
