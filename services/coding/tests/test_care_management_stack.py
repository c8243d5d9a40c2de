"""End to end over the real broker and the sandbox clearinghouse: care-management minutes that arrive after their
month was billed replace its one claim (frequency 7, REF*F8 in the 837P), change nothing, or bill it first; an
encounter amended after it was billed replaces its claim the same way."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from deploy.client import Tenant, seed_payers, seed_practice, wait_until
from tests.db import outbox_rows, tenant_rows

pytestmark = pytest.mark.stack


class Billing:
    """A practice billing care-management months through the whole stack."""

    def __init__(self, tenant: Tenant, stack_env: dict[str, str]) -> None:
        self.tenant = tenant
        self.env = stack_env
        self.practice: dict[str, Any] = {}

    async def setup(self) -> Billing:
        """Payers, a practice with clinicians and patients; the sandbox pays at once and denies nothing."""
        payer_ids = await seed_payers(self.tenant)
        self.practice = await seed_practice(
            self.tenant, name="Collaborative Care Clinic", seed=31, payer_ids=payer_ids, providers=1, patients=4
        )
        await self.tenant.sandbox(
            "PUT",
            "/v1/behaviour",
            json={"submitter": self.tenant.organization_id, "payment_lag_business_days": 0, "denial_rate": 0.0},
        )
        return self

    def patient(self, index: int) -> str:
        """One of the practice's patients."""
        return str(self.practice["patient_ids"][index])

    async def post(self, patient_id: str, day: str, body: dict[str, Any]) -> str:
        """Post an encounter of the practice to intake; its id."""
        response = await self.tenant.request(
            "POST",
            "intake",
            "/v1/encounters",
            json={
                "ehr_encounter_id": f"EHR-{patient_id[:8]}-{day}-{len(json.dumps(body))}",
                "practice_id": self.practice["practice_id"],
                "provider_id": self.practice["provider_ids"][0],
                "patient_id": patient_id,
                "date_of_service": day,
                "diagnoses": ["F32.1"],
                **body,
            },
        )
        assert response.status_code == 202, response.text
        return str(response.json()["encounter_id"])

    async def minutes(self, patient_id: str, day: str, spent: int) -> None:
        """Care-management minutes of a day of September."""
        await self.post(
            patient_id,
            day,
            {
                "service_type": "care_management",
                "minutes": {"care_management": spent},
                "flags": {"care_management_model": "collaborative_care"},
            },
        )

    async def month(self) -> dict[str, dict[str, Any]]:
        """September's outcome per patient, as coding answers it."""
        answer = await self.tenant.request("GET", "coding", "/v1/care-management/months/2026-09")
        assert answer.status_code == 200, answer.text
        return {row["patient_id"]: row for row in answer.json()["items"]}

    async def wait_for_month(self, what: str, ready: Any) -> dict[str, dict[str, Any]]:
        """September's outcomes once `ready(outcomes)` holds."""

        async def probe() -> dict[str, dict[str, Any]] | None:
            outcomes = await self.month()
            return outcomes if ready(outcomes) else None

        found: dict[str, dict[str, Any]] = await wait_until(probe, timeout=90, what=what)
        return found

    async def claims(self, charge_id: str) -> list[Any]:
        """Submission's claims of a charge."""
        return await tenant_rows(
            self.env,
            "submission",
            self.tenant.organization_id,
            "SELECT claim_id, status, payer_claim_number FROM submission.claims WHERE charge_id = $1",
            charge_id,
        )

    async def attempts(self, claim_id: str) -> list[tuple[int, str, str]]:
        """(number, frequency, status) of a claim's attempts."""
        rows = await tenant_rows(
            self.env,
            "submission",
            self.tenant.organization_id,
            "SELECT attempt_number, frequency_code, status FROM submission.claim_attempts WHERE claim_id = $1 "
            "ORDER BY attempt_number",
            claim_id,
        )
        return [(row["attempt_number"], row["frequency_code"], row["status"]) for row in rows]

    async def sent_claim(self, charge_id: str, attempts: int) -> Any:
        """The one claim of a charge once its `attempts` attempts were all answered by the clearinghouse."""

        async def probe() -> Any:
            rows = await self.claims(charge_id)
            if len(rows) != 1 or not rows[0]["payer_claim_number"]:
                return None
            answered = [a for a in await self.attempts(rows[0]["claim_id"]) if a[2] == "sent"]
            return rows[0] if len(answered) == attempts else None

        return await wait_until(probe, timeout=90, what=f"{attempts} answered attempt(s) of the claim of {charge_id}")

    async def file_of(self, claim_id: str, attempt_number: int) -> list[list[str]]:
        """The segments of the 837P an attempt went out in."""
        (row,) = await tenant_rows(
            self.env,
            "submission",
            self.tenant.organization_id,
            "SELECT b.file_text FROM submission.batches b JOIN submission.claim_attempts a "
            "ON a.batch_control_number = b.control_number WHERE a.claim_id = $1 AND a.attempt_number = $2",
            claim_id,
            attempt_number,
        )
        text = str(row["file_text"])
        terminator = text[105]  # ISA is fixed width: its segment terminator follows ISA16
        return [segment.strip().split("*") for segment in text.split(terminator) if segment.strip()]

    async def charge_events(self, charge_id: str) -> list[str]:
        """Types of the charge events coding published for a charge id."""
        rows = await outbox_rows(
            self.env,
            "coding",
            "SELECT event_type FROM coding.outbox WHERE message_key = $1 ORDER BY id",
            charge_id,
        )
        return [row["event_type"] for row in rows]


def claim_of(segments: list[list[str]], claim_id: str) -> list[list[str]]:
    """The 2300 loop of one claim: its CLM segment up to the next claim's."""
    start = next(i for i, segment in enumerate(segments) if segment[:2] == ["CLM", claim_id])
    end = next((i for i in range(start + 1, len(segments)) if segments[i][0] in ("CLM", "HL", "SE")), len(segments))
    return segments[start:end]


async def test_minutes_after_a_billed_month_replace_its_claim_change_nothing_or_bill_it_first(
    organization: Tenant, stack_env: dict[str, str]
) -> None:
    billing = await Billing(organization, stack_env).setup()
    revised, unchanged, light = billing.patient(0), billing.patient(1), billing.patient(2)
    await organization.set_business_date(date(2026, 9, 30))
    for patient_id, spent in ((revised, 40), (unchanged, 40), (light, 15)):
        await billing.minutes(patient_id, "2026-09-10", spent)
    await billing.wait_for_month("coding to count September's minutes", lambda outcomes: len(outcomes) == 3)

    # The fifth business day of October (the 7th) is still in the grace period; an encounter on the 8th closes it.
    await organization.set_business_date(date(2026, 10, 8))
    await billing.post(billing.patient(3), "2026-10-08", {"minutes": {"psychotherapy": 45}})
    closed = await billing.wait_for_month(
        "coding to close September", lambda outcomes: all(row["status"] != "open" for row in outcomes.values())
    )
    assert [closed[p]["status"] for p in (revised, unchanged, light)] == ["charged", "charged", "no_charge"]
    revised_charge, unchanged_charge = (f"cm-{p}-2026-09" for p in (revised, unchanged))
    original = await billing.sent_claim(revised_charge, 1)
    await billing.sent_claim(unchanged_charge, 1)

    # Documentation that arrives on October 9th for the closed month.
    await organization.set_business_date(date(2026, 10, 9))
    await billing.minutes(revised, "2026-09-28", 50)  # 90 minutes: 99492 and one +99494
    await billing.minutes(unchanged, "2026-09-28", 5)  # 45 minutes: still 99492 alone
    await billing.minutes(light, "2026-09-28", 25)  # 40 minutes: now 99492
    await billing.wait_for_month(
        "coding to count the late minutes",
        lambda outcomes: [outcomes[p]["collaborative_minutes"] for p in (revised, unchanged, light)] == [90, 45, 40],
    )

    # Codes or units changed: one claim, its original and a replacement that names the payer's claim number.
    replaced = await billing.sent_claim(revised_charge, 2)
    assert replaced["claim_id"] == original["claim_id"]
    assert await billing.attempts(original["claim_id"]) == [(1, "1", "sent"), (2, "7", "sent")]
    assert await billing.charge_events(revised_charge) == ["charge.created", "charge.created"]
    loop = claim_of(await billing.file_of(original["claim_id"], 2), original["claim_id"])
    clm = loop[0]
    assert (clm[2], clm[5]) == ("235", "11:B:7"), clm
    assert ["REF", "F8", original["payer_claim_number"]] in loop
    assert [segment[1].split(":")[1] for segment in loop if segment[0] == "SV1"] == ["99492", "99494"]
    first = claim_of(await billing.file_of(original["claim_id"], 1), original["claim_id"])
    assert first[0][5] == "11:B:1"
    assert not any(segment[:2] == ["REF", "F8"] for segment in first)

    # Nothing billed changed: no event, no attempt.
    assert await billing.charge_events(unchanged_charge) == ["charge.created"]
    (kept,) = await billing.claims(unchanged_charge)
    assert await billing.attempts(kept["claim_id"]) == [(1, "1", "sent")]

    # A month below every threshold that now meets one: its first claim, an original.
    light_claim = await billing.sent_claim(f"cm-{light}-2026-09", 1)
    assert await billing.attempts(light_claim["claim_id"]) == [(1, "1", "sent")]
    assert (await billing.month())[light]["status"] == "charged"


async def test_an_encounter_amended_after_it_was_billed_replaces_its_one_claim(
    organization: Tenant, stack_env: dict[str, str]
) -> None:
    billing = await Billing(organization, stack_env).setup()
    visit = await billing.post(billing.patient(0), "2026-10-01", {"minutes": {"psychotherapy": 45}})
    original = await billing.sent_claim(visit, 1)
    await organization.set_business_date(date(2026, 10, 2))
    amended = await organization.request(
        "POST",
        "intake",
        f"/v1/encounters/{visit}/amendments",
        json={"reason": "late minutes", "minutes": {"psychotherapy": 60}},
    )
    assert amended.status_code in (200, 202), amended.text
    replaced = await billing.sent_claim(visit, 2)
    assert replaced["claim_id"] == original["claim_id"]
    assert await billing.attempts(original["claim_id"]) == [(1, "1", "sent"), (2, "7", "sent")]
    assert await billing.charge_events(visit) == ["charge.created", "charge.created"]
    assert await billing.claims(f"{visit}.2") == []
    loop = claim_of(await billing.file_of(original["claim_id"], 2), original["claim_id"])
    assert loop[0][5].endswith(":B:7")
    assert ["REF", "F8", original["payer_claim_number"]] in loop
    assert [segment[1].split(":")[1] for segment in loop if segment[0] == "SV1"] == ["90837"]
