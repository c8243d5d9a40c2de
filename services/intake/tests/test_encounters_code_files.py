"""A newer CMS ICD-10-CM release loaded from CLAIMFLOW_ICD10_CODE_FILES (intake API in process, real database)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from deploy.client import Tenant
from services.intake.tests.test_encounters_support import Clinic

pytestmark = pytest.mark.stack

FY2027_ORDER_FILE = Path(__file__).parent / "fixtures" / "icd10cm-order-2027.txt"


@pytest.fixture
async def intake_with_fy2027(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The intake API in process with the FY2027 fixture release configured."""
    from intake.main import create_app

    monkeypatch.setenv(
        "CLAIMFLOW_ICD10_CODE_FILES",
        json.dumps([{"fiscal_year": 2027, "path": str(FY2027_ORDER_FILE)}]),
    )
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as http,
    ):
        yield http


async def test_a_loaded_fy2027_release_validates_fy2027_dates_of_service(
    organization: Tenant, stack_env: dict[str, str], intake_with_fy2027: httpx.AsyncClient
) -> None:
    clinic = await Clinic.create(organization, stack_env)

    async def post(ehr_id: str, diagnoses: list[str], date_of_service: str = "2026-11-16") -> httpx.Response:
        body = clinic.encounter(ehr_encounter_id=ehr_id, diagnoses=diagnoses, date_of_service=date_of_service)
        return await intake_with_fy2027.post("/v1/encounters", json=body, headers=organization.headers())

    new_code = await post("E-1", ["F41.12"])
    assert new_code.status_code == 202, new_code.text
    assert new_code.json()["work_queue_flags"] == []

    dropped = await post("E-2", ["F41.1", "F33.1"])
    assert dropped.status_code == 202
    [flag] = dropped.json()["work_queue_flags"]
    assert (flag["queue"], flag["reason_code"]) == ("coding", "DX-NOT-VALID-ON-DATE")
    assert "FY2027" in flag["reason"]

    too_early = await post("E-3", ["F41.12"], date_of_service="2026-09-30")
    assert [f["reason_code"] for f in too_early.json()["work_queue_flags"]] == ["DX-NOT-VALID-ON-DATE"]

    nowhere = await post("E-4", ["F41.1", "F99.999"])
    assert nowhere.status_code == 422
    assert nowhere.json()["errors"] == [
        {"field": "diagnoses.1", "pointer": "/diagnoses/1", "reason": "'F99.999' exists in no ICD-10-CM code set"}
    ]
    assert {row["ehr_encounter_id"] for row in await clinic.encounter_rows()} == {"E-1", "E-2", "E-3"}
