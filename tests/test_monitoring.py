"""Alert rules, dashboards and the local Prometheus: rules pass promtool's unit tests, every query names a metric
the services export, and Prometheus scrapes every service process of the running stack."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from deploy.runtime import PROMETHEUS_PORT

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
METRIC = re.compile(r"\b(claimflow_[a-z0-9_]+)")
DEFINED = re.compile(r"(?:Counter|Gauge|Histogram|Summary)\(\s*\"(claimflow_[a-z0-9_]+)\"")
EXPOSITION_SUFFIXES = ("_bucket", "_sum", "_count")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool (installed with Prometheus by the stack launcher)."""
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: `make up` installs Debian's prometheus package"
    return subprocess.run([binary, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120, check=False)


def defined_metrics() -> set[str]:
    """Metric names the Python code defines (counters are exposed with _total already in their names here)."""
    names: set[str] = set()
    for path in [*REPO.glob("shared/**/*.py"), *REPO.glob("services/*/*/**/*.py")]:
        names |= set(DEFINED.findall(path.read_text()))
    return names


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expression) of every panel target."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            found += [(path.name, panel["title"], target["expr"]) for target in panel["targets"]]
    return found


def alert_rules() -> list[dict[str, object]]:
    """Every rule of the alert file."""
    document = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_the_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "tests/alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_the_brief_asks_for_exists_and_each_has_a_unit_test() -> None:
    names = {str(rule["alert"]) for rule in alert_rules()}
    assert {"CleanClaimRateLow", "ArOver90DaysHigh", "ConsumerLagHigh", "DeadLettersGrowing"} <= names
    assert "OutboxBacklogGrowing" in names
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "tests" / "alerts_test.yml").read_text()))
    assert names == tested


def test_every_query_of_the_dashboards_and_rules_names_a_metric_the_services_export() -> None:
    defined = defined_metrics()
    assert "claimflow_clean_claim_rate" in defined
    assert "claimflow_events_consumed_total" in defined
    expressions = [(f"{file}: {title}", expr) for file, title, expr in dashboard_queries()]
    expressions += [(f"alert {rule['alert']}", str(rule["expr"])) for rule in alert_rules()]
    unknown = []
    for where, expression in expressions:
        for name in METRIC.findall(expression):
            base = next((name.removesuffix(s) for s in EXPOSITION_SUFFIXES if name.endswith(s)), name)
            if name not in defined and base not in defined:
                unknown.append(f"{where}: {name}")
    assert not unknown


def test_the_dashboards_cover_revenue_denials_and_pipeline_and_use_the_provisioned_datasource() -> None:
    dashboards = {path.stem: json.loads(path.read_text()) for path in DASHBOARDS.glob("*.json")}
    assert set(dashboards) == {"revenue-cycle", "denials", "pipeline-health"}
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids)
    datasource = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for name, dashboard in dashboards.items():
        assert dashboard["panels"], name
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(set(ids)) == len(ids), name
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == uid, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            assert all(t["expr"].strip() for t in panel["targets"]), (name, panel["title"])


@pytest.mark.usefixtures("stack_env")
async def test_the_local_prometheus_scrapes_every_service_process_and_loads_the_rules() -> None:
    base = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1"
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        for _ in range(60):
            targets = (await http.get(f"{base}/targets")).json()["data"]["activeTargets"]
            health = {t["scrapeUrl"]: t["health"] for t in targets}
            if len(health) == 10 and set(health.values()) == {"up"}:
                break
            await asyncio.sleep(1)
        assert len(health) == 10, health
        assert set(health.values()) == {"up"}, health
        groups = (await http.get(f"{base}/rules")).json()["data"]["groups"]
        loaded = {rule["name"] for group in groups for rule in group["rules"]}
        assert loaded == {str(rule["alert"]) for rule in alert_rules()}
        # Every process reports its readiness; earlier fault tests may leave one reconnecting for a moment.
        for _ in range(60):
            ready = (await http.get(f"{base}/query", params={"query": "claimflow_ready"})).json()["data"]["result"]
            if ready and all(series["value"][1] == "1" for series in ready):
                break
            await asyncio.sleep(1)
        assert len(ready) >= 10, ready
        assert all(series["value"][1] == "1" for series in ready), ready
