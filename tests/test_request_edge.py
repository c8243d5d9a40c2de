"""The request edge every service shares: text that is not text, dates out of bounds, errors keep the connection."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sqlalchemy import text

from shared.app import UnexpectedErrors
from shared.dates import EARLIEST, LATEST, CalendarDate
from shared.db import create_engine
from shared.events.catalogue import EVENT_ADAPTER
from shared.failures import describe_error
from shared.problems import install_problem_handlers
from shared.settings import ServiceSettings, load_settings
from shared.text_guard import FREE_TEXT_FIELDS, TextGuard, json_text_errors

CONTROLS = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]]
LINE_CONTROLS = ["\t", "\n", "\r"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


class Visit(BaseModel):
    ehr_encounter_id: str
    date_of_service: CalendarDate
    note: str | None = None


def edge_app() -> FastAPI:
    """A small application with the shared edge: the text guard, the problem handlers, the unexpected-error answer."""
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(TextGuard)
    app.add_middleware(UnexpectedErrors)

    @app.post("/visits")
    async def post_visit(visit: Visit) -> dict[str, str]:
        return {"ehr_encounter_id": visit.ehr_encounter_id}

    @app.get("/visits")
    async def list_visits(as_of: CalendarDate | None = None) -> dict[str, str | None]:
        return {"as_of": as_of.isoformat() if as_of else None}

    @app.get("/boom")
    async def boom(request: Request) -> dict[str, str]:
        raise RuntimeError("a defect")

    return app


async def post_json(app: FastAPI, body: bytes) -> httpx.Response:
    """POST raw JSON bytes to the app in process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge") as http:
        return await http.post("/visits", content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
async def test_a_control_character_in_any_json_text_field_is_a_422_naming_the_field(control: str) -> None:
    body = json.dumps({"ehr_encounter_id": f"EHR{control}1", "date_of_service": "2026-05-04"}).encode()
    response = await post_json(edge_app(), body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "ehr_encounter_id"
    assert f"U+{ord(control):04X}" in problem["errors"][0]["reason"]


@pytest.mark.parametrize("control", ["\u0085", "\u009f", "\u007f"], ids=["NEL", "APC", "DEL"])
async def test_a_raw_c1_or_del_character_in_utf8_json_is_refused_too(control: str) -> None:
    body = ('{"ehr_encounter_id": "EHR' + control + '1", "date_of_service": "2026-05-04"}').encode()
    response = await post_json(edge_app(), body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda c: f"U+{ord(c):04X}")
async def test_a_lone_surrogate_escape_is_refused(surrogate: str) -> None:
    body = ('{"ehr_encounter_id": "EHR\\u' + f"{ord(surrogate):04x}" + '", "date_of_service": "2026-05-04"}').encode()
    response = await post_json(edge_app(), body)
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["errors"][0]["reason"]


@pytest.mark.parametrize("control", LINE_CONTROLS, ids=["tab", "LF", "CR"])
async def test_a_note_keeps_tab_line_feed_and_carriage_return_other_fields_do_not(control: str) -> None:
    note = json.dumps({"ehr_encounter_id": "EHR-1", "date_of_service": "2026-05-04", "note": f"a{control}b"})
    assert (await post_json(edge_app(), note.encode())).status_code == 200
    field = json.dumps({"ehr_encounter_id": f"EHR{control}1", "date_of_service": "2026-05-04"})
    assert (await post_json(edge_app(), field.encode())).status_code == 422


async def test_a_nested_field_and_a_list_item_are_named_by_their_path() -> None:
    document = {"items": [{"ok": "fine"}, {"diagnoses": ["F41.1", "F32\u00001"]}], "notes": ["line\none"]}
    errors = json_text_errors(document)
    assert [e["field"] for e in errors] == ["items.1.diagnoses.1"]
    assert errors[0]["pointer"] == "/items/1/diagnoses/1"


async def test_escaped_backslashes_and_ordinary_unicode_pass_untouched() -> None:
    body = json.dumps({"ehr_encounter_id": "C:\\u0000 Zoë 漢字 😀", "date_of_service": "2026-05-04"}).encode()
    response = await post_json(edge_app(), body)
    assert response.status_code == 200, response.text
    assert response.json()["ehr_encounter_id"] == "C:\\u0000 Zoë 漢字 😀"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))))
def test_any_text_without_control_characters_passes(value: str) -> None:
    assert json_text_errors({"ehr_encounter_id": value}) == []


@given(st.text(), st.sampled_from(CONTROLS + SURROGATES), st.text())
def test_any_text_with_a_control_character_is_refused(before: str, bad: str, after: str) -> None:
    assert json_text_errors({"ehr_encounter_id": before + bad + after})


def test_the_free_text_fields_are_notes() -> None:
    assert {"note", "notes"} <= FREE_TEXT_FIELDS


async def test_a_control_character_in_the_query_or_path_is_a_422() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=edge_app()), base_url="http://edge") as http:
        query = await http.get("/visits?as_of=2026%00-01-01")
        path = await http.get("/visits%00")
    assert query.status_code == 422
    assert query.json()["errors"][0]["field"] == "query.as_of"
    assert path.status_code == 422


@pytest.mark.parametrize(
    "written",
    ["0", "1700000000", "20260504", "0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31", "2026-02-30", "05/04/2026"],
)
async def test_a_date_that_is_a_number_or_outside_1900_to_2100_is_a_422(written: str) -> None:
    body = json.dumps({"ehr_encounter_id": "EHR-1", "date_of_service": written}).encode()
    response = await post_json(edge_app(), body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "date_of_service"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=edge_app()), base_url="http://edge") as http:
        assert (await http.get("/visits", params={"as_of": written})).status_code == 422


async def test_a_json_number_is_not_a_date() -> None:
    response = await post_json(edge_app(), b'{"ehr_encounter_id": "EHR-1", "date_of_service": 0}')
    assert response.status_code == 422


@given(st.dates(min_value=EARLIEST, max_value=LATEST))
def test_every_date_from_1900_to_2100_is_read_as_written(day: date) -> None:
    assert Visit.model_validate_json(json.dumps({"ehr_encounter_id": "x", "date_of_service": day.isoformat()})) == (
        Visit(ehr_encounter_id="x", date_of_service=day)
    )


def test_an_event_with_a_date_the_front_door_would_refuse_is_schema_invalid() -> None:
    envelope = {
        "id": "00000000-0000-0000-0000-000000000001",
        "source": "claimflow/intake",
        "type": "encounter.cancelled",
        "specversion": "1.0",
        "subject": "x",
        "organizationid": "00000000-0000-0000-0000-000000000002",
        "correlationid": "c",
        "businessdate": "9999-12-31",
        "data": {},
    }
    with pytest.raises(ValidationError) as refused:
        EVENT_ADAPTER.validate_json(json.dumps(envelope))
    assert any(error["loc"][-1] == "businessdate" for error in refused.value.errors())


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def served_edge() -> AsyncIterator[str]:
    """The edge application served by uvicorn on loopback, as the services are."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(edge_app(), host="127.0.0.1", port=port, log_level="critical"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.025)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


async def test_after_a_500_the_same_keep_alive_connection_answers_the_next_request(served_edge: str) -> None:
    connections: list[object] = []

    async def note_connection(event_name: str, info: dict[str, object]) -> None:
        if event_name == "connection.connect_tcp.complete":
            connections.append(info["return_value"])

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=served_edge, limits=limits) as http:
        failed = await http.get("/boom", extensions={"trace": note_connection})
        following = await http.get("/visits", extensions={"trace": note_connection})
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.headers.get("connection", "").lower() != "close"
    assert following.status_code == 200
    assert len(connections) == 1, "the connection was dropped after the 500"


@pytest.mark.stack
async def test_a_failed_statement_never_carries_its_parameters_in_its_error(stack_env: dict[str, str]) -> None:
    marker = "MARKER-PHI-Zebediah-Quux"
    settings = load_settings(ServiceSettings).model_copy(update={"service_name": "intake"})
    engine = create_engine(settings, pool_size=1)
    try:
        async with engine.connect() as connection:
            with pytest.raises(Exception) as failed:  # noqa: PT011  # any driver error: its text is what is checked
                await connection.execute(text("SELECT CAST(:note AS integer)"), {"note": marker})
    finally:
        await engine.dispose()
    # The driver's own message may quote a value; what is logged is the description, and SQLAlchemy's text of the
    # error leaves out the statement's parameters.
    assert "SQL parameters hidden" in str(failed.value)
    assert marker not in describe_error(failed.value)
