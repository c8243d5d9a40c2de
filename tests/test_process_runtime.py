"""How the stack's service processes run: workers yield the CPU to the request-serving APIs, and every process
freezes the reference data it loaded at start out of the garbage collector's reach."""

from __future__ import annotations

import os
import re

import pytest

from deploy.infra import PG_PORT, PG_SOCKET, as_postgres
from deploy.runtime import LOGS, SERVICES, pid_of, process_names
from shared.settings import ServiceSettings

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("service", SERVICES)
def test_each_worker_runs_at_a_lower_priority_than_its_api(stack_env: dict[str, str], service: str) -> None:
    api, worker = pid_of(f"{service}-api"), pid_of(f"{service}-worker")
    assert api is not None, f"{service}-api is not running"
    assert worker is not None, f"{service}-worker is not running"
    step = int(stack_env.get("CLAIMFLOW_WORKER_NICE", ServiceSettings().worker_nice))
    assert step > 0, "the stack is configured to run its workers at the APIs' priority"
    api_nice = os.getpriority(os.PRIO_PROCESS, api)
    assert os.getpriority(os.PRIO_PROCESS, worker) == min(19, api_nice + step)


FROZEN = re.compile(r"start-up heap frozen\W+objects\W+(\d+)|\"objects\": (\d+), \"event\": \"start-up heap frozen\"")


@pytest.mark.parametrize("name", [name for name in process_names() if name != "sandbox-api"])
def test_each_service_process_froze_its_start_up_heap(stack_env: dict[str, str], name: str) -> None:
    assert pid_of(name) is not None, f"{name} is not running"
    found = [int(a or b) for a, b in FROZEN.findall((LOGS / f"{name}.log").read_text(errors="replace"))]
    assert found, f"{name} never logged freezing its start-up heap"
    if name in ("intake-api", "submission-worker"):  # they hold the code sets and the ICD-10-CM tabular
        assert found[-1] > 500_000


def test_database_sessions_name_the_process_that_opened_them(stack_env: dict[str, str]) -> None:
    listed = as_postgres(
        "psql",
        "-X",
        "-h",
        str(PG_SOCKET),
        "-p",
        str(PG_PORT),
        "-d",
        "claimflow",
        "-Atc",
        "SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'claimflow-%'",
    ).stdout.split()
    # Every worker keeps connections open (its consumers and relay poll); an operator tells them from the APIs'.
    assert {f"claimflow-{service}-worker" for service in SERVICES} <= set(listed), listed
