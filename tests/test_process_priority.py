"""CPU priorities of the running stack: the workers yield the CPU to the request-serving APIs."""

from __future__ import annotations

import os

import pytest

from deploy.runtime import SERVICES, pid_of
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
