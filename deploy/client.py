"""A small HTTP client for the running stack, used by the demo, the end-to-end tests and the benchmark."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import httpx

from deploy.stack import load_env

T = TypeVar("T")
SERVICES = ("intake", "coding", "submission", "remittance", "analytics", "sandbox")


def base_url(env: dict[str, str], service: str) -> str:
    """Base URL of a service of the local stack."""
    return f"http://127.0.0.1:{env[f'CLAIMFLOW_{service.upper()}_PORT']}"


def npi_with_check_digit(base9: str) -> str:
    """A valid NPI (Luhn with prefix 80840) from nine digits."""
    for check in "0123456789":
        digits = [int(d) for d in "80840" + base9 + check]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return base9 + check
    raise ValueError(base9)


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, interval: float = 0.25
) -> T:
    """Poll until the probe returns something truthy, or fail after a bounded wait naming what was awaited."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}; last seen: {last!r}")


@dataclass
class Tenant:
    """An organization on the running stack with its admin key and seeded master data."""

    client: ClaimflowClient
    organization_id: str
    api_key: str
    practices: list[dict[str, Any]] = field(default_factory=list)

    def headers(self, **extra: str) -> dict[str, str]:
        """Authorization headers for this organization."""
        return {"Authorization": f"Bearer {self.api_key}", **extra}

    async def request(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to a service as this organization."""
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return await self.client.http.request(
            method, base_url(self.client.env, service) + path, headers=headers, **kwargs
        )

    async def create(self, plural: str, body: dict[str, Any]) -> str:
        """Create a master-data record in intake; returns its id."""
        response = await self.request("POST", "intake", f"/v1/{plural}", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"creating {plural} failed: {response.status_code} {response.text}")
        return str(response.json()["id"])

    async def set_business_date(self, business_date: date) -> None:
        """Pin the business date in intake and in the sandbox clearinghouse."""
        response = await self.request("PUT", "intake", "/v1/clock", json={"business_date": business_date.isoformat()})
        response.raise_for_status()
        await self.sandbox(
            "PUT", "/v1/clock", json={"submitter": self.organization_id, "date": business_date.isoformat()}
        )

    async def sandbox(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the sandbox clearinghouse as this organization's submitter."""
        token = hmac.new(
            self.client.env["CLAIMFLOW_CLEARINGHOUSE_SECRET"].encode(), self.organization_id.encode(), hashlib.sha256
        ).hexdigest()
        response = await self.client.http.request(
            method, base_url(self.client.env, "sandbox") + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        response.raise_for_status()
        return response


class ClaimflowClient:
    """Talks to the local stack as the platform operator and as organizations."""

    def __init__(self, env: dict[str, str] | None = None, *, timeout: float = 30) -> None:
        self.env = env or load_env()
        self.http = httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()

    async def create_tenant(self, name: str) -> Tenant:
        """Create an organization; waits until its key is usable in every service."""
        response = await self.http.post(
            base_url(self.env, "intake") + "/v1/organizations",
            json={"name": name},
            headers={"Authorization": f"Bearer {self.env['CLAIMFLOW_OPERATOR_TOKEN']}"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"creating the organization failed: {response.status_code} {response.text}")
        created = response.json()
        tenant = Tenant(self, created["organization_id"], created["admin_key"]["api_key"])

        async def key_replicated() -> bool:
            for service in ("intake", "analytics"):
                probe = await tenant.request(
                    "GET", service, "/v1/encounters/" + str(uuid.uuid4()) if service == "intake" else "/v1/kpis"
                )
                if probe.status_code == 401:
                    return False
            return True

        await wait_until(key_replicated, timeout=30, what="the new API key to reach intake and analytics")
        return tenant


async def seed_practice(
    tenant: Tenant,
    *,
    name: str,
    seed: int,
    payer_ids: list[str],
    providers: int = 3,
    patients: int = 20,
    coverage_start: date = date(2025, 1, 1),
) -> dict[str, Any]:
    """A practice with providers, patients and primary coverages (deterministic for a seed)."""
    rng = random.Random(seed)
    address = {"line1": f"{100 + seed} Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}
    practice_id = await tenant.create(
        "practices",
        {
            "name": name,
            "npi": npi_with_check_digit(f"1{seed:08d}"),
            "tin": f"{rng.randrange(10**8, 10**9)}",
            "taxonomy": "261QM0801X",
            "address": address,
        },
    )
    provider_ids = []
    for index in range(providers):
        provider_ids.append(
            await tenant.create(
                "providers",
                {
                    "practice_id": practice_id,
                    "first_name": f"Clinician{index}",
                    "last_name": f"P{seed}",
                    "npi": npi_with_check_digit(f"2{seed:04d}{index:04d}"),
                    "taxonomy": "101YM0800X",
                    "license_type": rng.choice(["LCSW", "LPC", "PSYCHOLOGIST"]),
                    "credentialed_payer_ids": payer_ids,
                },
            )
        )
    patient_ids = []
    for index in range(patients):
        patient_id = await tenant.create(
            "patients",
            {
                "practice_id": practice_id,
                "first_name": f"Pat{index}",
                "last_name": f"Demo{seed}",
                "birth_date": date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28)).isoformat(),
                "sex": rng.choice(["F", "M"]),
                "address": address,
            },
        )
        await tenant.create(
            "coverages",
            {
                "patient_id": patient_id,
                "payer_id": rng.choice(payer_ids),
                "member_id": f"M{seed}{index:06d}",
                "priority": "primary",
                "relationship": "self",
                "start_date": coverage_start.isoformat(),
                "copay": "20.00",
            },
        )
        patient_ids.append(patient_id)
    practice = {"practice_id": practice_id, "name": name, "provider_ids": provider_ids, "patient_ids": patient_ids}
    tenant.practices.append(practice)
    return practice


async def seed_payers(tenant: Tenant) -> list[str]:
    """Two commercial payers with simple profiles: a commercial insurer (claim filing indicator CI) and a Blue Cross
    Blue Shield plan (BL)."""
    payers = []
    for name, x12_id, indicator in (("Acme Health", "ACME1", "CI"), ("Blue Lake Plan", "BLAKE", "BL")):
        payers.append(
            await tenant.create(
                "payers",
                {
                    "name": name,
                    "x12_payer_id": x12_id,
                    "profiles": [
                        {
                            "effective_from": "2020-01-01",
                            "claim_filing_indicator": indicator,
                            "timely_filing_days": 180,
                            "telehealth": {"video_modifier": "95"},
                        }
                    ],
                },
            )
        )
    return payers


def encounter_body(
    practice: dict[str, Any], rng: random.Random, date_of_service: date, number: int, minutes: int | None = None
) -> dict[str, Any]:
    """A realistic psychotherapy encounter for a seeded practice."""
    place = rng.choices(["in_person", "telehealth_video", "telehealth_audio"], weights=[6, 3, 1])[0]
    return {
        "ehr_encounter_id": f"EHR-{practice['practice_id'][:8]}-{number:06d}",
        "practice_id": practice["practice_id"],
        "provider_id": rng.choice(practice["provider_ids"]),
        "patient_id": rng.choice(practice["patient_ids"]),
        "date_of_service": date_of_service.isoformat(),
        "service_type": "psychotherapy",
        "place_of_care": place,
        "patient_at_home": place != "in_person" and rng.random() < 0.8,
        "minutes": {
            "psychotherapy": minutes if minutes is not None else rng.choice([14, 25, 30, 40, 45, 50, 53, 55, 60])
        },
        "diagnoses": [rng.choice(["F41.1", "F32.1", "F43.10", "F33.1", "F90.0"])],
    }
