"""Master data and database reads the encounter tests share (one fresh organization per test)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from deploy.client import Tenant, npi_with_check_digit
from tests.db import outbox_rows, tenant_rows

ADDRESS = {"line1": "12 Lake Rd", "city": "Springfield", "state": "IL", "postal_code": "62701"}
PRACTICE_NPI = npi_with_check_digit("124531959")
PROVIDER_NPI = npi_with_check_digit("123456789")


@dataclass
class Clinic:
    """One practice with a provider, a payer, and a patient with a primary coverage from 2026-01-01."""

    tenant: Tenant
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(
        cls,
        tenant: Tenant,
        env: dict[str, str],
        *,
        authorization_policy: dict[str, Any] | None = None,
        coverage_end: str | None = None,
        with_patient: bool = True,
    ) -> Clinic:
        """Create the clinic's master data."""
        clinic = cls(tenant, env)
        profile: dict[str, Any] = {"effective_from": "2020-01-01", "timely_filing_days": 180}
        if authorization_policy:
            profile["authorization"] = authorization_policy
        clinic.ids["payer"] = await tenant.create(
            "payers", {"name": "Acme Health", "x12_payer_id": "ACME1", "profiles": [profile]}
        )
        clinic.ids["practice"] = await tenant.create(
            "practices",
            {
                "name": "Lakeside Counseling",
                "npi": PRACTICE_NPI,
                "tin": "123456789",
                "taxonomy": "261QM0801X",
                "address": ADDRESS,
            },
        )
        clinic.ids["provider"] = await tenant.create(
            "providers",
            {
                "practice_id": clinic.ids["practice"],
                "first_name": "Robin",
                "last_name": "Hale",
                "npi": PROVIDER_NPI,
                "taxonomy": "101YM0800X",
                "license_type": "LCSW",
            },
        )
        if not with_patient:
            return clinic
        clinic.ids["patient"] = await tenant.create(
            "patients",
            {
                "practice_id": clinic.ids["practice"],
                "first_name": "Ana",
                "last_name": "Rivera",
                "birth_date": "1984-03-09",
                "sex": "F",
                "address": ADDRESS,
                "ehr_patient_id": "MRN-4711",
            },
        )
        clinic.ids["coverage"] = await clinic.add_coverage(end_date=coverage_end)
        return clinic

    async def add_coverage(self, *, start_date: str = "2026-01-01", end_date: str | None = None) -> str:
        """A primary self coverage of the patient with the payer."""
        return await self.tenant.create(
            "coverages",
            {
                "patient_id": self.ids["patient"],
                "payer_id": self.ids["payer"],
                "member_id": "M0004711",
                "priority": "primary",
                "relationship": "self",
                "start_date": start_date,
                "end_date": end_date,
                "copay": "20.00",
            },
        )

    def encounter(self, **changes: Any) -> dict[str, Any]:
        """A 53-minute video psychotherapy visit on 2026-05-04 (a FY2026 date of service)."""
        body: dict[str, Any] = {
            "ehr_encounter_id": "EHR-000123",
            "practice_id": self.ids["practice"],
            "provider_id": self.ids["provider"],
            "patient_id": self.ids["patient"],
            "date_of_service": "2026-05-04",
            "service_type": "psychotherapy",
            "place_of_care": "telehealth_video",
            "patient_at_home": True,
            "minutes": {"psychotherapy": 53},
            "diagnoses": ["F41.1"],
            "flags": {"patient_status": "established"},
        }
        return {**body, **changes}

    async def post(self, path: str, body: Any, **headers: str) -> Any:
        """POST to intake as this organization."""
        return await self.tenant.request("POST", "intake", path, json=body, headers=headers)

    async def get(self, path: str) -> Any:
        """GET from intake as this organization."""
        return await self.tenant.request("GET", "intake", path)

    async def encounter_rows(self) -> list[Any]:
        """The organization's stored encounters."""
        return await tenant_rows(
            self.env, "intake", self.tenant.organization_id, "SELECT * FROM intake.encounters ORDER BY created_at"
        )

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The organization's outbox events (published or not), oldest first."""
        return await outbox_events(self.env, self.tenant.organization_id, event_type)

    async def masters(self, entity_type: str) -> list[Any]:
        """The organization's live master records of a kind."""
        return await tenant_rows(
            self.env,
            "intake",
            self.tenant.organization_id,
            "SELECT entity_id, attributes FROM intake.master_records WHERE entity_type = $1 AND NOT deleted",
            entity_type,
        )

    async def audit_rows(self, action: str) -> list[Any]:
        """Audit rows of encounters for an action."""
        return await tenant_rows(
            self.env,
            "intake",
            self.tenant.organization_id,
            "SELECT * FROM intake.audit_log WHERE resource_type = 'encounter' AND action = $1",
            action,
        )


async def outbox_events(
    env: dict[str, str], organization_id: str, event_type: str | None = None
) -> list[dict[str, Any]]:
    """Patient-intake events of an organization in intake's outbox, oldest first."""
    rows = await outbox_rows(
        env,
        "intake",
        "SELECT event_type, value FROM intake.outbox WHERE topic = 'claimflow.patient-intake.v1' "
        "AND convert_from(value, 'UTF8')::jsonb ->> 'organizationid' = $1 ORDER BY id",
        organization_id,
    )
    events = [json.loads(bytes(row["value"])) for row in rows]
    return [e for e in events if event_type is None or e["type"] == event_type]
