"""Request metrics are labelled by route template, including the routes of included routers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from shared.observability import HttpMetrics, correlation_id_var


def test_requests_are_counted_under_the_template_of_the_route_they_reached() -> None:
    service = f"svc{uuid.uuid4().hex[:8]}"
    router = APIRouter(prefix="/v1")

    @router.get("/claims/{claim_id}")
    async def read_claim(claim_id: str) -> dict[str, str]:
        return {"claim_id": claim_id}

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(HttpMetrics, service=service)
    client = TestClient(app)
    assert client.get("/v1/claims/CLM-1").status_code == 200
    assert client.get("/v1/claims/CLM-2").status_code == 200
    assert client.get("/v1/nothing-here").status_code == 404

    def count(route: str, status: str) -> float | None:
        labels = {"service": service, "method": "GET", "route": route, "status": status}
        return REGISTRY.get_sample_value("claimflow_http_requests_total", labels)

    assert count("/v1/claims/{claim_id}", "200") == 2
    assert count("/v1/claims/CLM-1", "200") is None  # never the raw path: label values stay bounded
    assert count("unmatched", "404") == 1


def test_a_request_sees_its_correlation_id_and_a_failed_one_is_counted_as_a_500() -> None:
    service = f"svc{uuid.uuid4().hex[:8]}"
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/v1/echo")
    async def echo() -> dict[str, str | None]:
        seen.append(correlation_id_var.get())
        return {"correlation_id": correlation_id_var.get()}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a defect")

    app.add_middleware(HttpMetrics, service=service)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/v1/echo", headers={"X-Correlation-ID": "corr-7"}).json() == {"correlation_id": "corr-7"}
    assert client.get("/v1/echo").json() == {"correlation_id": None}
    assert client.get("/v1/broken").status_code == 500
    assert seen == ["corr-7", None]

    labels = {"service": service, "method": "GET", "route": "/v1/broken", "status": "500"}
    assert REGISTRY.get_sample_value("claimflow_http_requests_total", labels) == 1
