"""Integration: lines paid below the payer's contracted fee are flagged with the difference; a reversal clears them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.remittance.tests.support import SETTINGS, api_key, deliver, replicate, submit_claim, tag
from shared.events.reference import FeeScheduleEntryRef

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        not SETTINGS.clearinghouse_secret.get_secret_value(), reason="no clearinghouse secret in the stack"
    ),
]


async def fee(stack_sessions, org, practice, payer, amount: str, **dates: date | None) -> None:
    """A contracted fee for 90834 replicated from intake."""
    entry = FeeScheduleEntryRef(
        practice_id=practice,
        payer_id=payer,
        code="90834",
        amount=Decimal(amount),
        effective_from=dates.get("effective_from") or date(2026, 1, 1),
        effective_to=dates.get("effective_to"),
    )
    await replicate(stack_sessions, org, f"fee-{uuid.uuid4()}", entry)


async def test_a_line_allowed_below_the_contracted_fee_is_flagged_and_a_reversal_cancels_it(
    stack_sessions, api, org, eras
) -> None:
    t = tag()
    practice, payer = uuid.uuid4(), uuid.uuid4()
    await fee(stack_sessions, org, practice, payer, "130.00")
    await fee(stack_sessions, org, practice, uuid.uuid4(), "500.00")
    await fee(stack_sessions, org, practice, payer, "900.00", effective_to=date(2025, 12, 31))
    await fee(stack_sessions, org, practice, payer, "900.00", effective_from=date(2025, 1, 1), effective_to=None)
    await submit_claim(stack_sessions, org, f"U{t}", practice_id=practice, payer_id=payer)
    await submit_claim(stack_sessions, org, f"F{t}", practice_id=practice, payer_id=uuid.uuid4())
    paid = eras.text(
        [eras.paid.format(claim=f"U{t}"), eras.paid.format(claim=f"F{t}").replace("PCN-PAID-1", "PCN-2")],
        payment="200",
        trace=f"T{t}",
    )
    assert (await deliver(api, org, paid)).status_code == 200
    headers = await api_key(stack_sessions, org)

    flagged = (await api.get("/v1/underpayments", headers=headers)).json()["items"]

    # Paid 100 + copay 20 = 120 allowed against the newest fee in force for this payer (130): short by 10.
    assert [
        (u["claim_id"], u["allowed_amount"], u["contracted_amount"], u["difference"], u["procedure_code"])
        for u in flagged
    ] == [(f"U{t}", "120.00", "130.00", "10.00", "90834")]
    theirs = await api_key(stack_sessions, uuid.uuid4())
    assert (await api.get("/v1/underpayments", headers=theirs)).json()["items"] == []

    reversal = eras.text([eras.reversal.format(claim=f"U{t}")], payment="-100", trace=f"R{t}")
    assert (await deliver(api, org, reversal)).status_code == 200

    assert (await api.get("/v1/underpayments", headers=headers)).json()["items"] == []
    cancelled = (await api.get("/v1/underpayments", params={"status": "cancelled"}, headers=headers)).json()["items"]
    assert [u["claim_id"] for u in cancelled] == [f"U{t}"]
