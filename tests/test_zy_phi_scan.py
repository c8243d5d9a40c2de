"""Runs after every other stack test, before the stack stops: no PHI in logs or metrics.

Every patient and coverage the suite created (names, member ids, dates of birth) is read from intake's tables as the
database superuser, and every service log and every /metrics page is searched for those values.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any

import pytest

from deploy import stack
from deploy.infra import PG_PORT, PG_SOCKET, as_postgres
from deploy.runtime import LOGS

pytestmark = pytest.mark.stack
PHI_SQL = """
SELECT json_agg(json_build_object('kind', entity_type, 'attributes', attributes))
FROM intake.master_records WHERE entity_type IN ('patient', 'coverage')
"""
SHORTEST = 5  # shorter names ("Ann") occur in ordinary words; member ids and dates are longer anyway


def phi_values() -> set[str]:
    """Names, dates of birth and member ids of every patient and subscriber on record."""
    env = stack.load_env()
    argv = ["psql", "-X", "-q", "-t", "-A", "-h", PG_SOCKET, "-p", str(PG_PORT), "-d", env["CLAIMFLOW_PG_DATABASE"]]
    result = as_postgres(*argv, "-c", PHI_SQL)
    assert result.returncode == 0, result.stderr
    values: set[str] = set()
    for record in json.loads(result.stdout.strip() or "[]") or []:
        attributes = record["attributes"]
        people = [attributes, attributes.get("subscriber") or {}]
        for person in people:
            values |= {str(person[k]) for k in ("first_name", "last_name", "birth_date") if person.get(k)}
        if attributes.get("member_id"):
            values.add(str(attributes["member_id"]))
    return {value for value in values if len(value) >= SHORTEST}


def metrics_pages() -> dict[str, str]:
    """The /metrics page of every service process."""
    env = stack.load_env()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    pages = {}
    for name in stack.process_names():
        if name == "sandbox-api":
            continue
        port = stack._port_of(name, env)
        with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            pages[name] = response.read().decode()
    return pages


def test_no_patient_name_member_id_or_birth_date_appears_in_logs_or_metrics() -> None:
    values = phi_values()
    assert values, "the suite should have created patients before this scan"
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    sources = {path.name: path.read_text(errors="replace") for path in LOGS.glob("*-*.log")}
    sources |= {f"{name} /metrics": page for name, page in metrics_pages().items()}
    assert any(name.endswith("worker.log") for name in sources)
    leaks = {name: sorted(set(pattern.findall(text)))[:5] for name, text in sources.items() if pattern.search(text)}
    assert not leaks


def marker_835(last_name: str, member_id: str, *, complete: bool) -> str:
    """An 835 naming a marker patient; without its trailers when not complete."""
    segments = [
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*SUBMITTER      *261001*1200*^*00501*000000901*0*P*:",
        "GS*HP*PAYER*SUBMITTER*20261001*1200*901*X*005010X221A1",
        "ST*835*0001",
        "BPR*I*100.00*C*ACH*CCP*01*999999999*DA*123456*1234567890**01*999999999*DA*654321*20261001",
        "TRN*1*MARKERTRN*1234567890",
        "N1*PR*ACME HEALTH",
        "N1*PE*LAKESIDE*XX*1234567893",
        "LX*1",
        "CLP*MARKERCLAIM*1*150.00*100.00*20.00*12*PCN1",
        f"NM1*QC*1*{last_name}*ANA****MI*{member_id}",
        "SVC*HC:90837*150.00*100.00**1",
    ]
    if complete:
        segments += ["SE*11*0001", "GE*1*901", "IEA*1*000000901"]
    return "~".join(segments) + "~"


async def test_marker_phi_sent_through_bad_input_paths_reaches_no_log() -> None:
    from deploy.client import ClaimflowClient

    token = uuid.uuid4().hex[:10].upper()
    last_name, member_id, note = f"ZQMARKER{token}", f"MK{token}", f"note about ZQMARKER{token}"
    markers = [last_name, member_id, note]
    claimflow = ClaimflowClient()
    try:
        tenant = await claimflow.create_tenant(f"phi-markers-{token.lower()}")
        some_id = str(uuid.uuid4())
        era = marker_835(last_name, member_id, complete=True)
        bad_requests: list[tuple[str, str, str, dict[str, Any]]] = [
            ("POST", "intake", "/v1/patients", {"json": {"first_name": "Ana\u0000", "last_name": last_name}}),
            (
                "POST",
                "intake",
                "/v1/patients",
                {"json": {"last_name": last_name, "birth_date": "0"}},
            ),
            (
                "POST",
                "intake",
                "/v1/encounters",
                {"json": {"ehr_encounter_id": member_id, "date_of_service": "0"}},
            ),
            ("POST", "intake", "/v1/fhir/Bundle", {"content": f'{{"resourceType": "Bundle", "x": "{last_name}"'}),
            ("POST", "remittance", f"/v1/denials/{some_id}/notes", {"json": {"note": note + "\u0000"}}),
            ("POST", "remittance", f"/v1/denials/{some_id}/notes", {"json": {"note": note}}),
            ("POST", "remittance", "/v1/era", {"content": marker_835(last_name, member_id, complete=False)}),
            ("POST", "remittance", "/v1/era", {"content": era[:-30]}),
            (
                "POST",
                "remittance",
                "/v1/era",
                {"content": era.encode("utf-16")},
            ),
            ("POST", "remittance", "/v1/era", {"content": marker_835(last_name + "\u0000", member_id, complete=True)}),
            (
                "POST",
                "submission",
                f"/v1/claims/{some_id}/corrections",
                {"json": {"diagnoses": [member_id]}},
            ),
            ("GET", "analytics", "/v1/claims", {"params": {"member_id": member_id, "q": last_name + "\u0000"}}),
            ("POST", "coding", f"/v1/holds/{some_id}/resolve", {"json": {"note": note + "\u0001"}}),
        ]
        for method, service, path, arguments in bad_requests:
            answer = await tenant.request(method, service, path, **arguments)
            assert answer.status_code < 500, (method, service, path, answer.status_code, answer.text[:300])
    finally:
        await claimflow.close()
    pattern = re.compile("|".join(re.escape(marker) for marker in markers))
    logs = {path.name: path.read_text(errors="replace") for path in LOGS.glob("*-*.log")}
    assert logs, "the stack's logs should be there"
    leaks = {name: sorted(set(pattern.findall(text)))[:3] for name, text in logs.items() if pattern.search(text)}
    assert not leaks
