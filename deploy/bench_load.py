"""Load for `make bench`: seeded practices and payers, a realistic visit mix, and the poster that sends it."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rich.progress import Progress

from deploy.client import Tenant, npi_with_check_digit

SERVICE_TYPES = (  # (service type, share of visits): an outpatient behavioral-health and primary-care mix
    ("psychotherapy", 55),
    ("medication_management", 12),
    ("diagnostic_evaluation", 5),
    ("crisis", 3),
    ("family", 5),
    ("office_visit", 15),
    ("preventive", 5),
)


@dataclass
class BenchConfig:
    """What one run does."""

    encounters: int = 20_000
    practices: int = 20
    payers: int = 5
    batch_share: float = 0.5
    batch_size: int = 100
    concurrency: int = 8
    latency_seconds: float = 60
    soak_minutes: float = 10
    floor_messages: int = 20_000
    seed: int = 11
    settle_timeout: float = 3600


async def seed(tenant: Tenant, config: BenchConfig, today: date) -> list[dict[str, Any]]:
    """Payers with different profiles, then practices with providers, patients and coverages."""
    rng = random.Random(config.seed)
    policies = [
        {"mode": "none"},
        {"mode": "listed_codes", "codes": ["90837"]},
        {"mode": "after_visits", "unmanaged_visits": 20},
        {"mode": "none"},
        {"mode": "none"},
    ]
    payer_ids = []
    for index in range(config.payers):
        profile = {
            "effective_from": "2020-01-01",
            "payer_type": "medicare" if index == 3 else "commercial",
            "timely_filing_days": 365 if index == 3 else 180,
            "authorization": policies[index % len(policies)],
            "telehealth": {"video_modifier": "95" if index % 2 == 0 else "GT"},
        }
        payer_ids.append(
            await tenant.create(
                "payers", {"name": f"Bench Payer {index}", "x12_payer_id": f"BP{index:03d}", "profiles": [profile]}
            )
        )
    practices = []
    for index in range(config.practices):
        address = {"line1": f"{index + 1} Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}
        practice_id = await tenant.create(
            "practices",
            {
                "name": f"Bench Practice {index}",
                "npi": npi_with_check_digit(f"15{index:07d}"),
                "tin": f"{rng.randrange(10**8, 10**9)}",
                "taxonomy": "261QM0801X",
                "address": address,
            },
        )
        providers = []
        for number, license_type in enumerate(("MD", "LCSW", "PSYCHOLOGIST")):
            providers.append(
                await tenant.create(
                    "providers",
                    {
                        "practice_id": practice_id,
                        "first_name": f"Clinician{number}",
                        "last_name": f"Bench{index}",
                        "npi": npi_with_check_digit(f"25{index:03d}{number:04d}"),
                        "taxonomy": "2084P0800X" if license_type == "MD" else "101YM0800X",
                        "license_type": license_type,
                        "credentialed_payer_ids": payer_ids,
                    },
                )
            )
        patients = []
        for number in range(30):
            patient_id = await tenant.create(
                "patients",
                {
                    "practice_id": practice_id,
                    "first_name": f"Benchpat{number}",
                    "last_name": f"Load{index}",
                    "birth_date": date(
                        1950 + rng.randrange(55), 1 + rng.randrange(12), 1 + rng.randrange(28)
                    ).isoformat(),
                    "sex": rng.choice(["F", "M"]),
                    "address": address,
                },
            )
            await tenant.create(
                "coverages",
                {
                    "patient_id": patient_id,
                    "payer_id": rng.choice(payer_ids),
                    "member_id": f"BM{index:03d}{number:05d}",
                    "priority": "primary",
                    "relationship": "self",
                    "start_date": (today - timedelta(days=400)).isoformat(),
                    "copay": "20.00",
                },
            )
            patients.append(patient_id)
        practices.append({"practice_id": practice_id, "providers": providers, "patients": patients})
    return practices


def encounter(practice: dict[str, Any], rng: random.Random, day: date, number: int, run: str) -> dict[str, Any]:
    """One visit of the mix, documented the way an EHR would send it."""
    service_type = rng.choices([s for s, _ in SERVICE_TYPES], weights=[w for _, w in SERVICE_TYPES])[0]
    place = rng.choices(["in_person", "telehealth_video", "telehealth_audio"], weights=[6, 3, 1])[0]
    minutes: dict[str, int] = {}
    body: dict[str, Any] = {}
    if service_type == "psychotherapy":
        minutes["psychotherapy"] = rng.choice([20, 30, 40, 45, 50, 53, 55, 60])
    elif service_type == "medication_management":
        minutes["psychotherapy"] = rng.choice([16, 20, 30])
        body["mdm_level"] = rng.choice(["low", "moderate"])
    elif service_type == "crisis":
        minutes["crisis"] = rng.choice([45, 60, 80, 110])
    elif service_type == "family":
        minutes["family"] = rng.choice([30, 45, 50])
    elif service_type == "office_visit":
        minutes["evaluation_and_management"] = rng.choice([15, 20, 25, 30, 40])
        body["mdm_level"] = rng.choice(["low", "moderate"])
    providers = practice["providers"]
    prescriber = service_type in {"medication_management", "office_visit", "preventive"}
    return {
        "ehr_encounter_id": f"BENCH-{run}-{number:07d}",
        "practice_id": practice["practice_id"],
        "provider_id": providers[0] if prescriber else rng.choice(providers[1:]),
        "patient_id": rng.choice(practice["patients"]),
        "date_of_service": day.isoformat(),
        "service_type": service_type,
        "place_of_care": place if service_type not in {"preventive", "crisis"} else "in_person",
        "patient_at_home": place != "in_person" and rng.random() < 0.8,
        "minutes": minutes,
        "diagnoses": [rng.choice(["F41.1", "F32.1", "F43.10", "F33.1", "F90.0", "I10", "E11.9"])],
        **body,
    }


# ---------------------------------------------------------------- load


class Poster:
    """Posts encounters through intake's single and batch endpoints with bounded concurrency."""

    def __init__(self, tenant: Tenant, config: BenchConfig) -> None:
        self.tenant, self.config = tenant, config
        self.latencies: list[float] = []
        self.accepted, self.refused = 0, 0
        self.batch_supported = True
        self.ids: dict[str, str] = {}

    async def single(self, body: dict[str, Any]) -> None:
        """One POST /v1/encounters."""
        started = time.perf_counter()
        response = await self.tenant.request(
            "POST", "intake", "/v1/encounters", json=body, headers={"Idempotency-Key": body["ehr_encounter_id"]}
        )
        self.latencies.append(time.perf_counter() - started)
        accepted = response.status_code in (200, 202)
        if accepted:
            self.ids[body["ehr_encounter_id"]] = response.json()["encounter_id"]
        self.count(accepted, 1)

    async def batch(self, bodies: list[dict[str, Any]]) -> None:
        """One POST /v1/encounters/batch (singles when the deployment has no batch endpoint)."""
        if not self.batch_supported:
            for body in bodies:
                await self.single(body)
            return
        response = await self.tenant.request("POST", "intake", "/v1/encounters/batch", json={"encounters": bodies})
        if response.status_code in (404, 405):
            self.batch_supported = False
            await self.batch(bodies)
            return
        if response.status_code not in (200, 207):
            self.count(False, len(bodies))
            return
        results = response.json().get("results", [])
        ok = sum(1 for r in results if r.get("status") in (200, 202))
        self.count(True, ok)
        self.count(False, len(bodies) - ok)

    def count(self, ok: bool, how_many: int) -> None:
        """Tally accepted and refused encounters."""
        if ok:
            self.accepted += how_many
        else:
            self.refused += how_many

    async def run(self, bodies: list[dict[str, Any]], progress: Progress | None = None) -> None:
        """Post everything: a share as batches, the rest one by one, `concurrency` requests in flight."""
        cut = int(len(bodies) * self.config.batch_share)
        units: list[list[dict[str, Any]]] = [
            bodies[i : min(i + self.config.batch_size, cut)] for i in range(0, cut, self.config.batch_size)
        ]
        units += [[body] for body in bodies[cut:]]
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        for unit in units:
            queue.put_nowait(unit)
        task = progress.add_task("posting encounters", total=len(bodies)) if progress else None

        async def worker() -> None:
            while not queue.empty():
                unit = queue.get_nowait()
                await (self.batch(unit) if len(unit) > 1 else self.single(unit[0]))
                if progress is not None and task is not None:
                    progress.advance(task, len(unit))

        await asyncio.gather(*(worker() for _ in range(self.config.concurrency)))
