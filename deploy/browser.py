"""Headless Chromium for page screenshots (Debian's package, installed on first use like the rest of the stack)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy.runtime import LOGS, StackError, last_line, say

CANDIDATES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    """The Chromium executable on PATH, if any."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> str:
    """Chromium's path, installing Debian's `chromium` (without recommends) when it is missing."""
    found = chromium_path()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError("chromium is missing: install it as root (apt-get install chromium), then rerun")
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / "apt.log"
    say(f"installing chromium with apt-get (a few minutes, once; output in {log})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(log, "ab") as out:
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            if result.returncode:
                raise StackError(f"`{' '.join(argv)}` failed (exit {result.returncode}): {last_line(log)} (see {log})")
    found = chromium_path()
    if found is None:
        raise StackError(f"apt-get installed chromium but no chromium binary is on PATH (see {log})")
    return found


def screenshot(url: str, target: Path, *, width: int = 1280, height: int = 900, timeout: float = 60) -> Path:
    """Load a page in headless Chromium with a fresh profile and save a PNG screenshot of it."""
    binary = ensure_chromium()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="claimflow-chromium-") as profile:
        argv = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={target}",
            f"--window-size={width},{height}",
            url,
        ]
        result = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    if result.returncode or not target.exists():
        reason = last_line(result.stderr.decode(errors="replace")) if result.stderr else "no output"
        raise StackError(f"chromium could not screenshot the page (exit {result.returncode}): {reason}")
    return target
