"""Submission's collections on the real database: claims and work-queue items take filters (status with no hidden
default for claims, practice, payer, provider, patient, charge, dates) and answer bounded pages in a stable order
with an opaque next_cursor, every row exactly once, a practice-limited key getting full pages of its practices."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

pytestmark = pytest.mark.stack
OTHER_PRACTICE = uuid.UUID("55555555-5555-4555-8555-555555555555")


async def _every(http: Any, path: str, headers: dict[str, str], **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a collection, page after page; and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await http.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= int(params.get("limit", 50))
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


@pytest.fixture
async def billed(biller: Any, charges: Any) -> dict[str, Any]:
    """Seven claims: five queued and two held (a category diagnosis), over two practices, two payers and dates."""
    acme, blue = await biller.payer(), await biller.payer(claim_filing_indicator="BL")
    made: dict[str, Any] = {"acme": acme, "blue": blue, "unused": await biller.payer(), "claims": {}}
    base = charges.make()
    other = base.practice.model_copy(update={"practice_id": OTHER_PRACTICE})
    await biller.practice(base.practice)
    await biller.practice(other)
    for number, (day, payer, practice, diagnoses) in enumerate(
        [
            (date(2026, 9, 1), acme, base.practice, ["F41.1"]),
            (date(2026, 9, 2), acme, base.practice, ["F41"]),
            (date(2026, 9, 3), blue, base.practice, ["F41.1"]),
            (date(2026, 9, 4), blue, other, ["F41.1"]),
            (date(2026, 9, 5), acme, other, ["F41"]),
            (date(2026, 9, 6), acme, other, ["F41.1"]),
            (date(2026, 9, 7), blue, base.practice, ["F41.1"]),
        ]
    ):
        line = base.lines[0].model_copy(update={"diagnosis_pointers": [1]})
        charge = charges.make(date_of_service=day, practice=practice, diagnoses=diagnoses, lines=[line])
        claim_id = await biller.claim(charge, payer)
        made["claims"][claim_id] = {"number": number, "day": day, "payer": payer, "practice": practice.practice_id}
    made["practice"] = base.practice.practice_id
    return made


async def test_the_claim_list_has_no_hidden_status_and_pages_every_claim_exactly_once(
    biller: Any, billed: dict[str, Any]
) -> None:
    headers = await biller.key(["read"])
    async with biller.api() as http:
        every, pages = await _every(http, "/v1/claims", headers, limit=2)
        assert sorted(c["claim_id"] for c in every) == sorted(billed["claims"])
        assert pages == 4
        assert {c["status"] for c in every} == {"queued", "held"}
        again, _ = await _every(http, "/v1/claims", headers, limit=3)
        assert [c["claim_id"] for c in again] == [c["claim_id"] for c in every]  # a stable order
        held, _ = await _every(http, "/v1/claims", headers, status="held", limit=1)
        assert {c["status"] for c in held} == {"held"}
        assert len(held) == 2


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (lambda b: {"payer_id": str(b["blue"])}, lambda c, b: c["payer"] == b["blue"]),
        (lambda b: {"practice_id": str(OTHER_PRACTICE)}, lambda c, b: c["practice"] == OTHER_PRACTICE),
        (
            lambda b: {"date_of_service_from": "2026-09-03", "date_of_service_to": "2026-09-05"},
            lambda c, b: date(2026, 9, 3) <= c["day"] <= date(2026, 9, 5),
        ),
        (
            lambda b: {"payer_id": str(b["acme"]), "date_of_service_from": "2026-09-05"},
            lambda c, b: c["payer"] == b["acme"] and c["day"] >= date(2026, 9, 5),
        ),
        (lambda b: {"payer_id": str(b["unused"])}, lambda c, b: False),
    ],
    ids=["payer", "practice", "dates of service", "payer and dates", "a payer of no claim"],
)
async def test_claims_are_filtered_by_payer_practice_and_dates(
    biller: Any, billed: dict[str, Any], filters: Any, expected: Any
) -> None:
    headers = await biller.key(["read"])
    async with biller.api() as http:
        found, _ = await _every(http, "/v1/claims", headers, limit=2, **filters(billed))
    wanted = sorted(claim_id for claim_id, facts in billed["claims"].items() if expected(facts, billed))
    assert sorted(c["claim_id"] for c in found) == wanted


async def test_a_practice_limited_key_gets_full_pages_of_its_practice(biller: Any, billed: dict[str, Any]) -> None:
    headers = await biller.key(["read"], practice_ids=[OTHER_PRACTICE])
    async with biller.api() as http:
        first = (await http.get("/v1/claims", params={"limit": 2}, headers=headers)).json()
        assert len(first["items"]) == 2
        found, _ = await _every(http, "/v1/claims", headers, limit=2)
    mine = sorted(claim_id for claim_id, facts in billed["claims"].items() if facts["practice"] == OTHER_PRACTICE)
    assert sorted(c["claim_id"] for c in found) == mine


async def test_the_work_queue_is_filtered_and_paged_like_the_claims(biller: Any, billed: dict[str, Any]) -> None:
    headers = await biller.key(["read"])
    held = sorted(
        claim_id for claim_id, facts in billed["claims"].items() if facts["number"] in (1, 4)
    )  # the two category diagnoses
    async with biller.api() as http:
        items, pages = await _every(http, "/v1/work-queues/scrubber_hold", headers, limit=1)
        assert sorted(i["claim_id"] for i in items) == held
        assert pages == 2
        assert {i["reason_code"] for i in items} == {"DX-NOT-BILLABLE"}
        theirs, _ = await _every(http, "/v1/work-queues/scrubber_hold", headers, practice_id=str(OTHER_PRACTICE))
        assert [i["claim_id"] for i in theirs] == [c for c in held if billed["claims"][c]["practice"] == OTHER_PRACTICE]
        opened, _ = await _every(http, "/v1/work-queues/scrubber_hold", headers, opened_from="2026-09-15")
        assert len(opened) == 2
        none, _ = await _every(http, "/v1/work-queues/scrubber_hold", headers, opened_to="2026-09-14")
        assert none == []
        resolved, _ = await _every(http, "/v1/work-queues/scrubber_hold", headers, status="resolved")
        assert resolved == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/claims", {"limit": 201}, "query.limit"),
        ("/v1/claims", {"limit": 0}, "query.limit"),
        ("/v1/claims", {"cursor": "not-a-cursor"}, "cursor"),
        ("/v1/claims", {"status": "lost"}, "query.status"),
        (
            "/v1/claims",
            {"date_of_service_from": "2026-09-05", "date_of_service_to": "2026-09-01"},
            "date_of_service_from",
        ),
        ("/v1/claims", {"date_of_service_from": "0"}, "query.date_of_service_from"),
        ("/v1/work-queues/scrubber_hold", {"limit": 500}, "query.limit"),
        ("/v1/work-queues/scrubber_hold", {"opened_from": "2026-09-05", "opened_to": "2026-09-01"}, "opened_from"),
        ("/v1/work-queues/scrubber_hold", {"status": "all"}, "query.status"),
    ],
)
async def test_a_bad_page_or_filter_is_a_422_naming_it(
    biller: Any, billed: dict[str, Any], path: str, params: dict[str, Any], field: str
) -> None:
    headers = await biller.key(["read"])
    async with biller.api() as http:
        response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]], response.text


async def test_a_cursor_of_another_collection_is_refused(biller: Any, billed: dict[str, Any]) -> None:
    headers = await biller.key(["read"])
    async with biller.api() as http:
        queue = (await http.get("/v1/work-queues/scrubber_hold", params={"limit": 1}, headers=headers)).json()
        assert queue["next_cursor"]
        response = await http.get("/v1/claims", params={"cursor": queue["next_cursor"]}, headers=headers)
    assert response.status_code == 422, response.text
