"""A history checker for the fault matrix: what every service recorded for one organization's workload.

A workload is a seeded list of encounters of a behavioral-health and primary-care mix (psychotherapy of several
lengths, one with interactive complexity, medication management, an office E/M by time, a diagnostic evaluation);
the same seed in a fresh organization gives the same visits, so a fault-free run is the reference a faulty run is
compared with. The checker reads each service's own tables (through its runtime role, inside the organization) and
reports lost and duplicated effects:
- every accepted encounter has exactly one live charge;
- every charge that was not held has exactly one claim per payer, with exactly one original attempt;
- every claim the payer adjudicated has exactly one posting;
- the KPIs equal the reference run's.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from deploy.client import Tenant, encounter_body, npi_with_check_digit, wait_until
from shared.events.catalogue import TOPICS
from tests.db import connect_as, tenant_rows

SERVICES = ("intake", "coding", "submission", "remittance", "analytics")
DATE_OF_SERVICE = date(2026, 9, 28)


@dataclass
class History:
    """What the services hold for one organization."""

    encounters: set[str] = field(default_factory=set)
    live_charges: Counter[str] = field(default_factory=Counter)  # encounter id → live charges
    held_charges: set[str] = field(default_factory=set)
    claims: Counter[tuple[str, str]] = field(default_factory=Counter)  # (charge id, payer id) → claims
    original_attempts: Counter[str] = field(default_factory=Counter)  # claim id → frequency-1 attempts
    postings: Counter[str] = field(default_factory=Counter)  # claim id → payment postings (reversals apart)
    kpis: dict[str, Any] = field(default_factory=dict)

    def shape(self) -> tuple[int, int, int, int]:
        """Counts that say whether the pipeline has finished: encounters, charges, claims, postings."""
        return len(self.encounters), sum(self.live_charges.values()), sum(self.claims.values()), len(self.postings)


def violations(history: History) -> list[str]:
    """Lost or duplicated effects, one line each (empty when the history is sound)."""
    found = []
    for encounter_id in sorted(history.encounters):
        charges = history.live_charges.get(encounter_id, 0)
        if charges != 1:
            found.append(f"encounter {encounter_id}: {charges} live charges")
    charged = {charge for charge, _ in history.claims}
    for encounter_id in sorted(history.encounters - history.held_charges):
        if history.live_charges.get(encounter_id) and encounter_id not in charged:
            found.append(f"charge {encounter_id}: not held, but no claim")
    found += [f"charge {c} payer {p}: {n} claims" for (c, p), n in sorted(history.claims.items()) if n != 1]
    found += [f"claim {c}: {n} original attempts" for c, n in sorted(history.original_attempts.items()) if n != 1]
    found += [f"claim {c}: {n} postings" for c, n in sorted(history.postings.items()) if n != 1]
    return found


def comparable_kpis(report: dict[str, Any]) -> dict[str, Any]:
    """KPI values with their numerator and denominator counts and amounts (ids and dates aside)."""
    return {
        f"{k['name']}/{k.get('variant') or ''}": (k.get("value"), k.get("numerator"), k.get("denominator"))
        for k in report.get("kpis", [])
    }


async def read_history(env: dict[str, str], tenant: Tenant) -> History:
    """Everything the checker compares, read from each service's own tables and analytics' API."""
    org = tenant.organization_id
    history = History()
    rows = await tenant_rows(env, "intake", org, "SELECT encounter_id, status FROM intake.encounters")
    history.encounters = {str(r["encounter_id"]) for r in rows if r["status"] != "cancelled"}
    rows = await tenant_rows(env, "coding", org, "SELECT encounter_id, status FROM coding.charges")
    for row in rows:
        if row["encounter_id"] is not None and row["status"] != "voided":
            history.live_charges[str(row["encounter_id"])] += 1
            if row["status"] == "held":
                history.held_charges.add(str(row["encounter_id"]))
    rows = await tenant_rows(env, "submission", org, "SELECT claim_id, charge_id, payer_id FROM submission.claims")
    history.claims = Counter((r["charge_id"], str(r["payer_id"])) for r in rows)
    rows = await tenant_rows(
        env, "submission", org, "SELECT claim_id FROM submission.claim_attempts WHERE frequency_code = '1'"
    )
    history.original_attempts = Counter(r["claim_id"] for r in rows)
    rows = await tenant_rows(
        env, "remittance", org, "SELECT claim_id FROM remittance.postings WHERE claim_status_code <> '22'"
    )
    history.postings = Counter(r["claim_id"] for r in rows)
    response = await tenant.request("GET", "analytics", "/v1/kpis")
    history.kpis = comparable_kpis(response.json()) if response.status_code == 200 else {}
    return history


async def dead_letters(env: dict[str, str], since: float) -> list[tuple[str, str, str]]:
    """(service, topic, key) of every dead letter of a catalogue topic recorded since a Unix time, across the
    services (a consumer of another topic, such as the replay test's, is no part of the pipeline)."""
    topics = sorted(spec.name for spec in TOPICS)
    found = []
    for service in SERVICES:
        connection = await connect_as(env, service)
        try:
            rows = await connection.fetch(
                f"SELECT topic, message_key FROM {service}.dead_letters "
                "WHERE created_at >= to_timestamp($1) AND topic = ANY($2::text[])",
                since,
                topics,
            )
        finally:
            await connection.close()
        found += [(service, r["topic"], r["message_key"]) for r in rows]
    return sorted(found)


VISIT_MIX = (  # one entry per visit, in rotation: a week of an outpatient behavioral-health and primary-care practice
    "psychotherapy",
    "medication_management",
    "psychotherapy",
    "office_visit",
    "psychotherapy_interactive_complexity",
    "psychotherapy",
    "diagnostic_evaluation",
    "psychotherapy",
    "medication_management",
    "office_visit",
)
PRIMARY_CARE_DIAGNOSES = ("I10", "E11.9", "F41.1")


async def add_prescriber(tenant: Tenant, payer_ids: list[str]) -> str:
    """A psychiatrist (MD) in the tenant's first practice, credentialed with every payer, for the E/M visits."""
    practice = tenant.practices[0]
    provider_id = await tenant.create(
        "providers",
        {
            "practice_id": practice["practice_id"],
            "first_name": "Prescriber",
            "last_name": "Workload",
            "npi": npi_with_check_digit("300000001"),
            "taxonomy": "2084P0800X",
            "license_type": "MD",
            "credentialed_payer_ids": payer_ids,
        },
    )
    practice["prescriber_ids"] = [provider_id]
    return provider_id


@dataclass
class Workload:
    """A seeded stream of encounters of the visit mix for a tenant's first practice (with a prescriber added)."""

    count: int
    seed: int
    prefix: str

    def bodies(self, tenant: Tenant) -> list[dict[str, Any]]:
        """The same visits for every tenant seeded the same way; only the tenant's ids differ.

        One visit a day, so no patient sees the same clinician twice on a date (which coding rightly holds). Every
        visit is billable as documented, so each one becomes a charge and a claim, none held: psychotherapy of 30,
        45 or 55 minutes (90832, 90834, 90837), 53 minutes with a caregiver interfering (90837 with +90785),
        medication management at moderate MDM with 20 minutes of psychotherapy (99214 with +90833), an office E/M
        of 25 minutes total time (99213) and a diagnostic evaluation without medical services (90791). The E/M
        visits say the patient is established, so their level never depends on the order coding sees the visits in.
        """
        rng = random.Random(self.seed)
        practice = tenant.practices[0]
        if not practice.get("prescriber_ids"):
            raise ValueError("the workload's E/M visits need a prescriber: call add_prescriber for the tenant first")
        bodies = []
        for number in range(self.count):
            day = DATE_OF_SERVICE - timedelta(days=number)
            kind = VISIT_MIX[number % len(VISIT_MIX)]
            body = encounter_body(practice, rng, day, number, minutes=rng.choice([30, 45, 55]))
            body["ehr_encounter_id"] = f"{self.prefix}-{number}"
            if kind == "psychotherapy_interactive_complexity":
                body["minutes"] = {"psychotherapy": 53}
                body["flags"] = {"interactive_complexity": "caregiver_interference"}
            elif kind == "medication_management":
                body |= {"service_type": kind, "provider_id": practice["prescriber_ids"][0], "mdm_level": "moderate"}
                body["minutes"] = {"psychotherapy": 20}
                body["flags"] = {"patient_status": "established"}
            elif kind == "office_visit":
                body |= {"service_type": kind, "provider_id": practice["prescriber_ids"][0]}
                body["minutes"] = {"evaluation_and_management": 25}
                body["diagnoses"] = [rng.choice(PRIMARY_CARE_DIAGNOSES)]
                body["flags"] = {"patient_status": "established"}
            elif kind == "diagnostic_evaluation":
                body["service_type"] = kind
                body["minutes"] = {}
            bodies.append(body)
        return bodies

    async def post(self, tenant: Tenant, fault: tuple[int, Callable[[], Any]] | None = None) -> list[str]:
        """Post every encounter, retrying each until intake accepts it; run the fault before encounter N."""
        accepted = []
        for number, body in enumerate(self.bodies(tenant)):
            if fault is not None and number == fault[0]:
                await asyncio.to_thread(fault[1])

            async def attempt(body: dict[str, Any] = body) -> Any:
                try:
                    response = await tenant.request(
                        "POST",
                        "intake",
                        "/v1/encounters",
                        json=body,
                        headers={"Idempotency-Key": body["ehr_encounter_id"]},
                    )
                except OSError:
                    return None
                return response if response.status_code in (200, 202) else None

            response = await wait_until(attempt, timeout=120, what=f"intake to accept {body['ehr_encounter_id']}")
            accepted.append(response.json()["encounter_id"])
        return accepted


async def settled_history(
    env: dict[str, str],
    tenant: Tenant,
    expected: History | None,
    timeout: float,
    *,
    quiet_polls: int = 3,
) -> History:
    """The history once it matches the expected one's shape and KPIs (any, when None) and has stopped changing.

    Analytics is eventually consistent: after a fault it may still be catching up (a restarted consumer waits for
    the group to rebalance) while the other services are done, so the KPIs are part of what is awaited. At the
    timeout, the last history seen is returned, so the checks report what is missing.
    """
    last: list[History] = []

    async def probe() -> History | None:
        try:
            history = await read_history(env, tenant)
        except OSError:
            return None
        last.append(history)
        recent = last[-quiet_polls:]
        stable = len(recent) == quiet_polls and all(
            h.shape() == history.shape() and h.kpis == history.kpis for h in recent
        )
        shaped = (
            history.shape() == expected.shape() and history.kpis == expected.kpis
            if expected is not None
            else bool(history.encounters)
        )
        return history if shaped and stable and history.kpis else None

    try:
        return await wait_until(probe, timeout=timeout, what="the pipeline to settle", interval=2.0)
    except TimeoutError:
        return last[-1] if last else History()
