"""Claim ids keep the shape remittance relies on to tell our CLP01 values from mangled ones."""

from __future__ import annotations

from submission.domain import new_claim_id

from shared.events.claim import is_claim_id


def test_every_new_claim_id_has_the_shared_shape_and_fits_clp01() -> None:
    ids = {new_claim_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(is_claim_id(claim_id) and len(claim_id) <= 20 for claim_id in ids)


def test_truncated_or_foreign_values_are_not_claim_ids() -> None:
    assert not is_claim_id("CF1234")
    assert not is_claim_id("PCN-PAID-1")
    assert not is_claim_id("cf" + "A" * 16)
    assert not is_claim_id("CF" + "I" * 16)  # Crockford base32 has no I, L, O or U
