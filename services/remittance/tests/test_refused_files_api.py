"""Integration: a truncated 835 or one whose bytes are not X12 is refused whole with 422 saying where, nothing is
posted, and the complete file with the same trace posts afterwards."""

from __future__ import annotations

import pytest
from remittance.models import payments, postings, remittance_files
from sqlalchemy import select

from services.remittance.tests.support import SETTINGS, api_key, count, deliver, outbox_events, submit_claim, tag
from shared.db import unit_of_work

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]


async def test_a_truncated_835_is_refused_whole_and_the_complete_file_with_the_same_trace_then_posts(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    first, second = f"A{t}", f"B{t}"
    for claim_id in (first, second):
        await submit_claim(stack_sessions, org, claim_id)
    complete = eras.text([eras.paid.format(claim=first), eras.paid.format(claim=second)], payment="200", trace=f"T{t}")
    truncated = complete[: complete.index(f"CLP*{second}") + 40]

    refused = await deliver(api, org, truncated)

    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert "without SE, GE, IEA" in problem["detail"]
    assert "nothing posted" in problem["detail"]
    assert problem["errors"][0]["field"].startswith("segment ")
    assert await count(stack_sessions, org, postings) == 0
    assert await count(stack_sessions, org, payments) == 0
    assert await outbox_events(first, second) == []

    posted = await deliver(api, org, complete)

    assert posted.status_code == 200, posted.text
    assert sorted(c["claim_id"] for c in posted.json()["claims_posted"]) == sorted([first, second])
    assert await count(stack_sessions, org, postings) == 2
    async with unit_of_work(stack_sessions, org) as session:
        statuses = sorted((await session.execute(select(remittance_files.c.status))).scalars())
    assert statuses == ["posted", "refused"]


async def test_an_se_count_that_does_not_match_refuses_the_upload_whole(stack_sessions, api, org, eras) -> None:
    t = tag()
    await submit_claim(stack_sessions, org, f"S{t}")
    body = eras.text([eras.paid.format(claim=f"S{t}")], payment="100", trace=f"T{t}")
    se = next(line for line in body.splitlines() if line.startswith("SE*"))
    headers = {**await api_key(stack_sessions, org), "Content-Type": "application/edi-x12"}

    response = await api.post("/v1/era", content=body.replace(se, "SE*3*0001~").encode(), headers=headers)

    assert response.status_code == 422, response.text
    assert "SE01 says 3" in response.json()["detail"]
    assert await count(stack_sessions, org, postings) == 0


@pytest.mark.parametrize(
    ("mangle", "said"),
    [
        (lambda body: body.replace(b"TEST PRACTICE", b"TEST\x00PRACTICE"), "byte 0x00 at offset"),
        (lambda body: body.replace(b"DOE*JANE", b"DO\xc3\x89*JANE"), "byte 0xC3 at offset"),
        (lambda body: body.decode().encode("utf-16"), "UTF-16"),
        (lambda body: b"\xef\xbb\xbf" + body, "UTF-8 byte-order mark"),
        (lambda body: b"ISA\x01\x02\xff\xfe\x00binary" * 20, "offset"),
    ],
    ids=["nul-in-a-name", "utf8-letter", "utf-16", "utf-8-bom", "isa-then-binary"],
)
async def test_a_body_that_is_not_x12_text_is_a_422_naming_where_never_a_500_and_is_kept_as_bytes(
    stack_sessions, api, org, eras, mangle, said
) -> None:
    t = tag()
    body = mangle(eras.text([eras.paid.format(claim=f"N{t}")], payment="100", trace=f"T{t}").encode())
    headers = {**await api_key(stack_sessions, org), "Content-Type": "application/edi-x12"}

    uploaded = await api.post("/v1/era", content=body, headers=headers)
    delivered = await deliver(api, org, body)

    for response in (uploaded, delivered):
        assert response.status_code == 422, response.text
        assert said in response.json()["detail"]
        assert response.headers["content-type"].startswith("application/problem+json")
    async with unit_of_work(stack_sessions, org) as session:
        stored = (await session.execute(select(remittance_files.c.status, remittance_files.c.raw_bytes))).all()
    assert [(row.status, row.raw_bytes) for row in stored] == [("refused", body), ("refused", body)]
    assert await count(stack_sessions, org, postings) == 0
