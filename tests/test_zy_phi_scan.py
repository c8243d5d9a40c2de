"""Runs after every other stack test, before the stack stops: no PHI in logs or metrics.

Every patient and coverage the suite created (names, member ids, dates of birth) is read from intake's tables as the
database superuser, and every service log and every /metrics page is searched for those values.
"""

from __future__ import annotations

import json
import re
import urllib.request

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
