"""Integration: every remittance collection (files, unmatched, denials, underpayments) has filters and pages by cursor
in one way: {items, next_cursor}, a stable order, a bounded page size, a cursor no other list accepts."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

from services.remittance.tests.support import SETTINGS, api_key, deliver, submit_claim, tag

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]
COLLECTIONS = ("/v1/remittances", "/v1/unmatched", "/v1/denials", "/v1/underpayments")


async def every_page(api: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any) -> list[list[Any]]:
    """The items of each page of a list, following next_cursor (bounded)."""
    pages: list[list[Any]] = []
    cursor = None
    for _ in range(20):
        response = await api.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError(f"{path} did not end within 20 pages")


async def test_remittance_files_are_listed_by_cursor_oldest_first_and_filtered(stack_sessions, api, org, eras) -> None:
    t = tag()
    dates = ["20261001", "20261005", "20261010", "20261015", "20261020"]
    file_ids = []
    for number, day in enumerate(dates):
        body = eras.text(
            [eras.denied.format(claim=f"F{t}{number}")], payment="0", trace=f"T{t}{number}", payment_date=day
        )
        response = await deliver(api, org, body)
        assert response.status_code == 200, response.text
        file_ids.append(response.json()["file_id"])
    broken = eras.text([eras.denied.format(claim=f"F{t}")], payment="5", trace=f"T{t}X")
    held_id = (await deliver(api, org, broken)).json()["file_id"]
    refused_id = (await deliver(api, org, broken[:200])).json()
    headers = await api_key(stack_sessions, org, ("read",))

    pages = await every_page(api, "/v1/remittances", headers, limit=2)

    listed = [item["file_id"] for page in pages for item in page]
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert listed[:6] == [*file_ids, held_id]
    assert len(set(listed)) == len(listed) == 7
    assert refused_id["status"] == 422

    async def ids(**params: str) -> list[str]:
        return [
            item["file_id"] for page in await every_page(api, "/v1/remittances", headers, **params) for item in page
        ]

    assert await ids(payment_date_from="2026-10-05", payment_date_to="2026-10-10") == file_ids[1:3]
    assert await ids(status="held") == [held_id]
    assert len(await ids(status="refused")) == 1
    assert await ids(payer="sandbox behavioral health plan", payment_date_to="2026-10-01") == file_ids[:1]
    assert await ids(payer="SBX01", payment_date_from="2026-10-20") == file_ids[4:]
    assert await ids(payer="another payer") == []
    other = await api_key(stack_sessions, uuid.uuid4(), ("read",))
    assert (await api.get("/v1/remittances", headers=other)).json() == {"items": [], "next_cursor": None}


async def test_unmatched_and_denials_page_by_cursor_without_repeating_or_skipping(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    denied = [f"D{t}{n}" for n in range(3)]
    for claim_id in denied:
        await submit_claim(stack_sessions, org, claim_id)
    unknown = [eras.cost_share.format(claim=f"U{t}{n}") for n in range(3)]
    body = eras.text([*(eras.denied.format(claim=c) for c in denied), *unknown], payment="0", trace=f"T{t}")
    assert (await deliver(api, org, body)).status_code == 200
    headers = await api_key(stack_sessions, org, ("read",))

    for path, key in (("/v1/unmatched", "claim_id"), ("/v1/denials", "claim_id")):
        pages = await every_page(api, path, headers, limit=2)
        assert [len(page) for page in pages] == [2, 1], path
        assert len({item[key] for page in pages for item in page}) == 3, path
    by_reason = await every_page(api, "/v1/unmatched", headers, reason="ambiguous_match")
    assert by_reason == [[]]


@pytest.mark.parametrize("path", COLLECTIONS)
async def test_every_collection_answers_a_page_and_refuses_a_forged_or_foreign_cursor_and_an_unbounded_page(
    stack_sessions, api, org, path
) -> None:
    headers = await api_key(stack_sessions, org, ("read",))
    page = await api.get(path, headers=headers)
    assert page.status_code == 200, page.text
    assert page.json() == {"items": [], "next_cursor": None}
    foreign = next(other for other in COLLECTIONS if other != path)
    cursor_elsewhere = base64.urlsafe_b64encode(f'["{foreign[4:]}", "x"]'.encode()).decode()
    for cursor in ("not-a-cursor", "W10", cursor_elsewhere, "!!"):
        response = await api.get(path, params={"cursor": cursor}, headers=headers)
        assert response.status_code == 422, (cursor, response.text)
        assert [error["field"] for error in response.json()["errors"]] == ["cursor"]
    too_big = await api.get(path, params={"limit": 201}, headers=headers)
    assert too_big.status_code == 422
