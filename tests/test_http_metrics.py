"""Request metrics are labelled by route template, including the routes of included routers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from shared.observability import http_metrics_middleware


def test_requests_are_counted_under_the_template_of_the_route_they_reached() -> None:
    service = f"svc{uuid.uuid4().hex[:8]}"
    router = APIRouter(prefix="/v1")

    @router.get("/claims/{claim_id}")
    async def read_claim(claim_id: str) -> dict[str, str]:
        return {"claim_id": claim_id}

    app = FastAPI()
    app.include_router(router)
    app.middleware("http")(http_metrics_middleware(service))
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
