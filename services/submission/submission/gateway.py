"""The clearinghouse gateway: the interface submission sends 837P batches through, and the sandbox adapter."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Protocol

import httpx

SUBMITTER_HEADER = "X-Claimflow-Submitter"


@dataclass(frozen=True)
class GatewayAnswer:
    """What a clearinghouse answers to a batch: its own batch id, the 999 and (when any set was accepted) the 277CA."""

    batch_id: str
    ack_999: str
    ack_277ca: str | None


class ClearinghouseUnavailable(Exception):
    """A transient failure (unreachable, timeout, 5xx): the same batch is sent again later.

    `outcome_unknown` is True when the batch may have arrived (the connection broke or timed out after the request
    went out): the resend carries the same ISA13/GS06 so the clearinghouse can recognise it.
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class ClearinghouseRefused(Exception):
    """The clearinghouse refused the request itself (4xx: credentials, size); retried slowly, needs an operator."""


class ClearinghouseGateway(Protocol):
    """Sends one 837P batch and returns the synchronous acknowledgements; real adapters implement the same call."""

    async def send_batch(self, *, organization_id: uuid.UUID, control_number: int, x12: str) -> GatewayAnswer:
        """Send a batch; raise ClearinghouseUnavailable or ClearinghouseRefused."""
        ...


def submitter_token(secret: str, organization_id: uuid.UUID | str) -> str:
    """The bearer token of a submitter: hex HMAC-SHA256 of the organization id under the clearinghouse secret."""
    return hmac.new(secret.encode(), str(organization_id).encode(), hashlib.sha256).hexdigest()


class SandboxGateway:
    """The sandbox clearinghouse over HTTP: `POST {base_url}/v1/batches` with the 837 as the body."""

    def __init__(self, *, base_url: str, secret: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.client = client

    async def send_batch(self, *, organization_id: uuid.UUID, control_number: int, x12: str) -> GatewayAnswer:
        """Post the batch; 5xx, timeouts and connection errors are transient, other non-2xx answers are refusals."""
        headers = {
            "Content-Type": "application/edi-x12",
            SUBMITTER_HEADER: str(organization_id),
            "Authorization": f"Bearer {submitter_token(self.secret, organization_id)}",
        }
        try:
            response = await self.client.post(f"{self.base_url}/v1/batches", content=x12.encode(), headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise ClearinghouseUnavailable(f"{type(error).__name__} sending batch {control_number}") from error
        except (httpx.TransportError, httpx.TimeoutException) as error:
            raise ClearinghouseUnavailable(
                f"{type(error).__name__} after sending batch {control_number}", outcome_unknown=True
            ) from error
        if response.status_code >= 500:
            raise ClearinghouseUnavailable(f"clearinghouse answered {response.status_code} to batch {control_number}")
        if response.status_code >= 300:
            raise ClearinghouseRefused(
                f"clearinghouse refused batch {control_number} with {response.status_code}: {response.text[:200]}"
            )
        try:
            document = response.json()
            return GatewayAnswer(
                batch_id=str(document["batch_id"]),
                ack_999=str(document["ack_999"]),
                ack_277ca=document.get("ack_277ca") or None,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ClearinghouseUnavailable(
                f"unreadable answer to batch {control_number}", outcome_unknown=True
            ) from error
