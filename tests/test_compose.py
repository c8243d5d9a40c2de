"""docker-compose.yml describes the same stack as the native launcher: same processes, same Kafka version."""

from pathlib import Path

import yaml

from deploy import stack

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_names_every_process_the_native_stack_starts():
    native = set(stack.process_names())
    assert native - set(compose()["services"]) == set()


def test_compose_runs_the_same_kafka_version_as_the_native_stack():
    image = compose()["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{stack.kafka_version()}"


def test_compose_runs_postgresql_15_and_the_observability_stack():
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert {"prometheus", "grafana"} <= set(services)


def test_compose_publishes_ports_only_on_loopback():
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
