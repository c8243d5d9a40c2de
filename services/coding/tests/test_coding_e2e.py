"""End to end over the real broker: encounters posted to intake come out of coding as the expected charges."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from typing import Any

import pytest

from deploy.client import Tenant, npi_with_check_digit, wait_until
from tests.db import outbox_rows

pytestmark = pytest.mark.stack
ADDRESS = {"line1": "9 Lake Rd", "city": "Springfield", "state": "IL", "postal_code": "62701"}


class Clinic:
    """A practice with payers, providers and patients created through intake's API."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.practice_id = ""
        self.providers: dict[str, str] = {}
        self.payers: dict[str, str] = {}
        self.numbers = iter(range(1, 10_000))

    async def setup(self) -> Clinic:
        """Payers with telehealth profiles, a practice fee for 90834, two clinicians."""
        self.payers["medicare"] = await self.tenant.create(
            "payers",
            {
                "name": "Medicare Part B",
                "x12_payer_id": "MCARE",
                "profiles": [
                    {"effective_from": "2020-01-01", "payer_type": "medicare", "telehealth": {"video_modifier": "95"}}
                ],
            },
        )
        self.payers["commercial"] = await self.tenant.create(
            "payers",
            {
                "name": "Legacy Health",
                "x12_payer_id": "LEGCY",
                "profiles": [
                    {
                        "effective_from": "2020-01-01",
                        "telehealth": {"video_modifier": "GT", "audio_only_covered": False},
                    }
                ],
            },
        )
        seed = uuid.uuid4().int % 10**7
        self.practice_id = await self.tenant.create(
            "practices",
            {
                "name": "Lakeside Behavioral Health",
                "npi": npi_with_check_digit(f"1{seed:08d}"),
                "tin": "123456789",
                "taxonomy": "261QM0801X",
                "address": ADDRESS,
            },
        )
        await self.tenant.create(
            "fee-schedules",
            {"practice_id": self.practice_id, "code": "90834", "amount": "140.00", "effective_from": "2026-01-01"},
        )
        for index, license_type in enumerate(("LCSW", "MD")):
            self.providers[license_type] = await self.provider(license_type, seed, index)
        return self

    async def provider(self, license_type: str, seed: int, index: int, **extra: Any) -> str:
        """A rendering clinician of the practice."""
        return await self.tenant.create(
            "providers",
            {
                "practice_id": self.practice_id,
                "first_name": f"Clin{index}",
                "last_name": "Ician",
                "npi": npi_with_check_digit(f"2{seed % 10**4:04d}{index:04d}"),
                "taxonomy": "101YM0800X",
                "license_type": license_type,
                "credentialed_payer_ids": list(self.payers.values()),
                **extra,
            },
        )

    async def patient(self, payer: str) -> str:
        """A patient with primary coverage at a payer."""
        patient_id = await self.tenant.create(
            "patients",
            {
                "practice_id": self.practice_id,
                "first_name": "Pat",
                "last_name": "Example",
                "birth_date": "1970-04-02",
                "sex": "F",
                "address": ADDRESS,
            },
        )
        await self.tenant.create(
            "coverages",
            {
                "patient_id": patient_id,
                "payer_id": self.payers[payer],
                "member_id": f"M{uuid.uuid4().hex[:8]}",
                "priority": "primary",
                "relationship": "self",
                "start_date": "2025-01-01",
            },
        )
        return patient_id

    async def encounter(self, patient_id: str, provider: str = "LCSW", **facts: Any) -> str:
        """Post an encounter; returns its id."""
        body = {
            "ehr_encounter_id": f"EHR-{uuid.uuid4().hex[:10]}",
            "practice_id": self.practice_id,
            "provider_id": self.providers.get(provider, provider),
            "patient_id": patient_id,
            "date_of_service": "2026-10-01",
            "diagnoses": ["F41.1"],
            **facts,
        }
        response = await self.tenant.request("POST", "intake", "/v1/encounters", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["encounter_id"])

    async def charge(self, charge_id: str, status: str | None = None) -> dict[str, Any]:
        """Wait for coding's charge (optionally in a given status)."""

        async def probe() -> dict[str, Any] | None:
            found = await self.tenant.request("GET", "coding", f"/v1/charges/{charge_id}")
            if found.status_code != 200:
                return None
            body: dict[str, Any] = found.json()
            return body if status is None or body["status"] == status else None

        return await wait_until(probe, timeout=60, what=f"coding to produce charge {charge_id} ({status or 'any'})")


def rendered(charge: dict[str, Any]) -> list[str]:
    """Lines as code[xunits][-modifier...]@POS $amount."""
    return [
        line["procedure_code"]
        + (f"x{line['units']}" if line["units"] > 1 else "")
        + "".join(f"-{m}" for m in line["modifiers"])
        + f"@{line['place_of_service']} ${line['amount']}"
        for line in charge["lines"]
    ]


async def charge_events(stack_env: dict[str, str], tenant: Tenant, charge_id: str) -> list[dict[str, Any]]:
    """Charge events coding queued for a charge id (its outbox is the record of what it published)."""
    rows = await outbox_rows(
        stack_env,
        "coding",
        "SELECT value FROM coding.outbox WHERE message_key = $1 ORDER BY id",
        charge_id,
    )
    events = [json.loads(row["value"]) for row in rows]
    return [event for event in events if event["organizationid"] == tenant.organization_id]


async def test_encounters_posted_to_intake_become_charges_with_codes_modifiers_pos_and_amounts(
    organization: Tenant,
) -> None:
    clinic = await Clinic(organization).setup()
    medicare = [await clinic.patient("medicare") for _ in range(3)]
    commercial = [await clinic.patient("commercial") for _ in range(2)]
    cases = {
        await clinic.encounter(medicare[0], minutes={"psychotherapy": 53}): ["90837@11 $200.00"],
        await clinic.encounter(
            medicare[1], place_of_care="telehealth_video", patient_at_home=True, minutes={"psychotherapy": 45}
        ): ["90834-95@10 $140.00"],
        await clinic.encounter(commercial[0], place_of_care="telehealth_video", minutes={"psychotherapy": 40}): [
            "90834-GT@02 $140.00"
        ],
        await clinic.encounter(
            medicare[2],
            "MD",
            service_type="medication_management",
            mdm_level="moderate",
            minutes={"psychotherapy": 30, "evaluation_and_management": 20},
            flags={"patient_status": "established"},
        ): ["99214@11 $180.00", "90833@11 $85.00"],
        await clinic.encounter(commercial[1], service_type="crisis", minutes={"crisis": 80}): [
            "90839@11 $210.00",
            "90840@11 $100.00",
        ],
    }
    for encounter_id, expected in cases.items():
        charge = await clinic.charge(encounter_id)
        assert charge["status"] == "created", (charge["hold_reasons"], charge["lines"])
        assert rendered(charge) == expected
        assert all(line["explanation"] and line["rule_ids"] for line in charge["lines"])
    mm = await clinic.charge(list(cases)[3])
    assert mm["program"] == "psychiatry"
    assert mm["total_amount"] == "265.00"
    assert mm["lines"][1]["explanation"] == "30 min psychotherapy beside E/M (E/M time excluded) → +90833"


async def test_held_charges_are_listed_and_resolved_by_a_person(
    stack_env: dict[str, str], organization: Tenant
) -> None:
    clinic = await Clinic(organization).setup()
    commercial = await clinic.patient("commercial")
    audio = await clinic.encounter(
        commercial, place_of_care="telehealth_audio", patient_at_home=True, minutes={"psychotherapy": 45}
    )
    short = await clinic.encounter(commercial, minutes={"psychotherapy": 14})
    billed = await clinic.encounter(commercial, minutes={"psychotherapy": 20})
    held_audio = await clinic.charge(audio, "held")
    assert [hold["rule_id"] for hold in held_audio["hold_reasons"]] == ["TH-AUDIO-NOT-COVERED"]
    assert rendered(held_audio) == ["90834-93@10 $140.00"]
    held_short = await clinic.charge(short, "held")
    assert held_short["lines"] == []
    assert "under 16 minutes" in held_short["hold_reasons"][0]["reason"]
    await clinic.charge(billed, "created")
    queue = (await organization.request("GET", "coding", "/v1/holds")).json()["items"]
    assert {charge["charge_id"] for charge in queue} == {audio, short}

    path = f"/v1/holds/{audio}/resolve"
    bad = await organization.request(
        "POST", "coding", path, json={"action": "override", "reason": "coder", "lines": [{"procedure_code": "90785"}]}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "lines.0.procedure_code"
    malformed = await organization.request(
        "POST", "coding", path, json={"action": "override", "reason": "coder", "lines": [{"procedure_code": "9"}]}
    )
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "lines.0.procedure_code"
    not_held = await organization.request(
        "POST", "coding", f"/v1/holds/{billed}/resolve", json={"action": "reject", "reason": "not needed"}
    )
    assert not_held.status_code == 409, not_held.text

    override = {
        "action": "override",
        "reason": "payer confirmed audio-only coverage by phone",
        "lines": [{"procedure_code": "90834", "modifiers": ["93"]}],
    }
    headers = {"Idempotency-Key": f"resolve-{audio}"}
    resolved = await organization.request("POST", "coding", path, json=override, headers=headers)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "released"
    assert rendered(resolved.json()) == ["90834-93@10 $140.00"]
    replay = await organization.request("POST", "coding", path, json=override, headers=headers)
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    events = await charge_events(stack_env, organization, audio)
    assert [event["type"] for event in events] == ["charge.held", "charge.released"]
    released = events[1]["data"]
    assert released["manually_touched"] is True
    assert released["resolution"] == "overridden"
    assert released["override"]["reason"] == "payer confirmed audio-only coverage by phone"
    assert released["override"]["original_codes"] == ["90834"]
    assert [hold["rule_id"] for hold in released["hold_reasons"]] == ["TH-AUDIO-NOT-COVERED"]

    rejected = await organization.request(
        "POST", "coding", f"/v1/holds/{short}/resolve", json={"action": "reject", "reason": "not billable"}
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert [event["type"] for event in await charge_events(stack_env, organization, short)] == [
        "charge.held",
        "charge.voided",
    ]
    assert (await organization.request("GET", "coding", "/v1/holds")).json() == {"items": [], "next_cursor": None}


async def test_amended_encounters_are_recoded_and_cancelled_ones_voided(organization: Tenant) -> None:
    clinic = await Clinic(organization).setup()
    patient = await clinic.patient("medicare")
    amended = await clinic.encounter(
        patient, place_of_care="telehealth_video", patient_at_home=True, minutes={"psychotherapy": 45}
    )
    evaluated = await clinic.patient("medicare")
    cancelled = await clinic.encounter(evaluated, "MD", service_type="diagnostic_evaluation", mdm_level="low")
    await clinic.charge(amended, "created")
    assert rendered(await clinic.charge(cancelled, "created")) == ["90792@11 $260.00"]

    response = await organization.request(
        "POST",
        "intake",
        f"/v1/encounters/{amended}/amendments",
        json={"reason": "late minutes", "minutes": {"psychotherapy": 60}},
    )
    assert response.status_code in (200, 202), response.text

    # Re-coded after it was billed: the same charge, its next revision (submission replaces the claim).
    async def revised() -> dict[str, Any] | None:
        charge: dict[str, Any] = (await organization.request("GET", "coding", f"/v1/charges/{amended}")).json()
        return charge if charge["revision"] == 2 else None

    recoded = await wait_until(revised, timeout=60, what="coding to re-code the amended encounter")
    assert rendered(recoded) == ["90837-95@10 $200.00"]
    revisions = (await organization.request("GET", "coding", "/v1/charges", params={"encounter_id": amended})).json()[
        "items"
    ]
    assert [(charge["charge_id"], charge["status"], charge["revision"]) for charge in revisions] == [
        (amended, "created", 2)
    ]

    response = await organization.request(
        "POST", "intake", f"/v1/encounters/{cancelled}/cancel", json={"reason": "entered in error"}
    )
    assert response.status_code in (200, 202), response.text
    await clinic.charge(cancelled, "voided")


async def test_a_new_clinicians_sampled_encounters_wait_for_review(organization: Tenant) -> None:
    clinic = await Clinic(organization).setup()
    newcomer = await clinic.provider("LPC", uuid.uuid4().int % 10**4, 7, first_service_date="2026-09-15")
    patient = await clinic.patient("commercial")
    encounters = [
        await clinic.encounter(patient, newcomer, date_of_service=f"2026-09-{day}", minutes={"psychotherapy": 40})
        for day in range(20, 28)
    ]
    for encounter_id in encounters:
        # Sampled when sha256(encounter id) read as a fraction falls under the default share of 0.2.
        fraction = int(hashlib.sha256(encounter_id.encode()).hexdigest()[:16], 16) / 16**16
        charge = await clinic.charge(encounter_id)
        if fraction < 0.2:
            assert charge["status"] == "held"
            assert charge["review_sampled"] is True
            assert [hold["rule_id"] for hold in charge["hold_reasons"]] == ["REVIEW-NEW-CLINICIAN"]
        else:
            assert charge["status"] == "created"
            assert charge["review_sampled"] is False


async def test_care_management_minutes_bill_once_when_the_business_month_closes(organization: Tenant) -> None:
    clinic = await Clinic(organization).setup()
    enrolled = await clinic.patient("medicare")
    await organization.set_business_date(date(2026, 9, 30))
    for day, spent in (("2026-09-03", 25), ("2026-09-24", 20)):
        await clinic.encounter(
            enrolled,
            "MD",
            service_type="care_management",
            date_of_service=day,
            minutes={"care_management": spent},
            flags={"care_management_model": "collaborative_care"},
        )

    async def open_month() -> list[dict[str, Any]] | None:
        outcomes = (await organization.request("GET", "coding", "/v1/care-management/months/2026-09")).json()["items"]
        return outcomes if outcomes and outcomes[0]["collaborative_minutes"] == 45 else None

    (pending,) = await wait_until(open_month, timeout=60, what="coding to accumulate 45 care-management minutes")
    assert pending["status"] == "open"
    early = await organization.request("POST", "coding", "/v1/care-management/months/2026-09/close")
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")

    # September closes once its grace period (5 business days, October 1-7) is over on the business clock.
    await organization.set_business_date(date(2026, 10, 8))
    other = await clinic.patient("commercial")
    await clinic.encounter(other, minutes={"psychotherapy": 30})
    charge = await clinic.charge(f"cm-{enrolled}-2026-09", "created")
    assert rendered(charge) == ["99492@11 $170.00"]
    assert charge["date_of_service"] == "2026-09-30"
    assert charge["program"] == "collaborative_care"
    (closed,) = (await organization.request("GET", "coding", "/v1/care-management/months/2026-09")).json()["items"]
    assert closed["status"] == "charged"
    assert closed["charge_id"] == f"cm-{enrolled}-2026-09"
    bad = await organization.request("POST", "coding", "/v1/care-management/months/2026-13/close")
    assert bad.status_code == 422
