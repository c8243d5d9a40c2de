"""Settings of the submission service."""

from shared.settings import ServiceSettings


class SubmissionSettings(ServiceSettings):
    """Submission configuration (environment prefix CLAIMFLOW_): clearinghouse address, ids and sender pacing."""

    service_name: str = "submission"
    sandbox_url: str = "http://127.0.0.1:8109"
    clearinghouse_timeout_seconds: float = 30.0
    interchange_sender_id: str = "CLAIMFLOW"
    interchange_receiver_id: str = "SANDBOXCH"
    submitter_name: str = "Claimflow"
    receiver_name: str = "Sandbox Clearinghouse"
    interchange_usage: str = "T"
    sender_batch_size: int = 100
    sender_poll_seconds: float = 0.5
