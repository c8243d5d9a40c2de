"""Runs last: `make down` stops every process of the stack, leaving none behind."""

import subprocess
import sys
from pathlib import Path

import pytest

from deploy import stack

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parent.parent


def test_make_down_leaves_no_process_of_the_stack():
    pids = {name: stack.pid_of(name) for name in ["postgres", "kafka", "prometheus", *stack.process_names()]}
    running = {name: pid for name, pid in pids.items() if pid}
    assert running, "the stack should be running before it is stopped"
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "stack.py"), "down"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    survivors = [
        name
        for name, pid in running.items()
        if Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    ]
    assert survivors == []
    assert not any(stack.is_running(name) for name in pids)
