"""Stateful API fuzzing: schemathesis state machines that chain a service's operations along its OpenAPI links.

A scenario starts from an operation that needs no earlier answer (a create, a list), then follows the links its
answers declare: the id a POST returns is read, replaced, amended or deleted by the next steps. Only the links the
document declares are followed (schemathesis' own link inference is off), so the run exercises the workflows the
API promises to its users. Each scenario runs in an organization of its own, so what one scenario stored never
changes what another sees (Hypothesis requires a scenario to behave the same whenever it is replayed). Every
answer is checked like the stateless runs check theirs: never a 5xx, always the status, schema and content type
the document declares.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from deploy.client import ClaimflowClient, Tenant, seed_payers, seed_practice
from shared.dates import EARLIEST, LATEST

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Every date of the contract lies within shared.dates' bounds (anything else is refused, as tests/test_request_dates.py
# checks), so the dates generated as valid do too; otherwise nearly every generated date would be refused and the
# workflows that need one (a dashboard link as of a date) would never run.
schemathesis.openapi.format("date", st.dates(min_value=EARLIEST, max_value=LATEST).map(date.isoformat))
# Operator endpoints: a tenant's key must be refused (401), never crash them, so they get no key at all.
OPERATOR_PATHS = ("/admin/", "/v1/organizations")


def linked_schema(document: dict[str, Any]) -> OpenApiSchema:
    """A service's OpenAPI document for stateful runs: only the links it declares, none inferred, and schema-valid
    requests only (the stateless runs send the invalid ones; here each step should move a workflow on)."""
    stateful = {"inference": {"algorithms": []}, "generation": {"mode": "positive"}}
    config = SchemathesisConfig.from_dict({"phases": {"stateful": stateful}})
    return schemathesis.openapi.from_dict(document, config=config)


def link_count(schema: OpenApiSchema) -> int:
    """How many links the document declares over all operations and answers."""
    return sum(
        len(response.get("links", {}))
        for operations in schema.raw_schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
    )


def workflow_settings(*, scenarios: int, steps: int) -> settings:
    """A fixed, deterministic budget: at most `scenarios` scenarios of at most `steps` calls, no shrinking."""
    return settings(
        max_examples=scenarios,
        stateful_step_count=steps,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def organizations(env: dict[str, str], *, business_date: date | None = None) -> Callable[[], Tenant]:
    """A factory of fresh organizations; with a business date, each gets payers and a practice with a provider and
    two covered patients (`practices[0]`), ready for valid encounters on dates before it."""

    async def create() -> Tenant:
        client = ClaimflowClient(env)
        try:
            tenant = await client.create_tenant(f"stateful-{uuid.uuid4().hex[:8]}")
            if business_date is not None:
                await tenant.set_business_date(business_date)
                payer_ids = await seed_payers(tenant)
                await seed_practice(
                    tenant, name="Stateful Practice", seed=7, payer_ids=payer_ids, providers=1, patients=2
                )
            return tenant
        finally:
            await client.close()

    return lambda: asyncio.run(create())


def workflows(schema: OpenApiSchema, *, base_url: str, organization: Callable[[], Tenant]) -> type[APIStateMachine]:
    """The schema's state machine calling the running service as the admin of a new organization per scenario.

    Every POST carries a fresh Idempotency-Key, as an EHR client sends one; `answered` counts the statuses each
    operation gave over the run, so a test can show the links really carried ids from one step to the next.
    """
    machine: Any = schema.as_state_machine()
    http = requests.Session()

    class Workflows(machine):  # type: ignore[misc]
        """Calls the service at base_url and checks every answer with the stateless runs' checks."""

        answered: Counter[tuple[str, int]] = Counter()
        scenarios = 0
        tenant: Tenant

        def setup(self) -> None:
            """A new organization for the scenario."""
            self.tenant = organization()
            Workflows.scenarios += 1

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            """Where to send the call and which key to send with it."""
            key = self.tenant.api_key
            headers = {} if case.path.startswith(OPERATOR_PATHS) else {"Authorization": f"Bearer {key}"}
            if case.method.upper() == "POST" and not (case.headers and "Idempotency-Key" in case.headers):
                headers["Idempotency-Key"] = str(uuid.uuid4())
            return {"base_url": base_url, "headers": headers, "session": http}

        def after_call(self, response: Response, case: Case[Any]) -> None:
            """Count the answer by operation and status."""
            super().after_call(response, case)
            Workflows.answered[(case.operation.label, response.status_code)] += 1

        def validate_response(
            self, response: Response, case: Case[Any], additional_checks: Any = None, **kwargs: Any
        ) -> None:
            """The stateless runs' checks: no 5xx, answers as declared."""
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs, recorder=self.recorder)

    return Workflows


def run(machine: type[APIStateMachine], *, scenarios: int, steps: int) -> None:
    """Run the state machine within the budget; a failed check fails the test.

    Hypothesis stops a run when a scenario it replays draws differently from its first run (the service answered
    something else the second time, e.g. a background worker had moved a record on); schemathesis' own runner ends
    its stateful phase there too. The scenarios before it were checked; the caller asserts enough of them ran.
    A failure that does not reproduce (FlakyFailure) is still raised.
    """
    with contextlib.suppress(FlakyStrategyDefinition):
        machine.run(settings=workflow_settings(scenarios=scenarios, steps=steps))
