"""The CI entry point reports a failing phase: its exit status is the failing command's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

CI_RUN = Path(__file__).resolve().parents[1] / ".ci" / "run"


def phase_function() -> str:
    """The `phase` shell function as .ci/run defines it."""
    found = re.search(r"^phase\(\) \{\n.*?^\}\n", CI_RUN.read_text(), flags=re.S | re.M)
    assert found, ".ci/run no longer defines phase() as a multi-line function"
    return found.group(0)


def run_bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False)


def test_a_phase_that_fails_under_or_carries_its_status_to_the_caller() -> None:
    script = "set -euo pipefail\n" + phase_function() + 'status=0\nphase "tests" bash -c "exit 3" || status=$?\n'
    result = run_bash(script + 'echo "status=$status"\n')
    assert "status=3" in result.stdout
    assert "::phase tests took" in result.stdout


def test_a_failing_phase_stops_the_run_under_errexit() -> None:
    script = "set -euo pipefail\n" + phase_function() + 'phase "lint" false\necho "went on"\n'
    result = run_bash(script)
    assert result.returncode == 1
    assert "went on" not in result.stdout
