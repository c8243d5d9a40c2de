"""Pure rules: escalation thresholds (DOMAIN.md 5.4), denial resolutions, underpayments, the patient match key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from remittance.denial_rules import (
    EscalationSettings,
    action_refusal,
    denial_escalations,
    pattern_fires,
    pattern_window,
    resolution_errors,
    work_queue,
)
from remittance.domain import patient_match_key
from remittance.era import read_835
from remittance.underpayment_rules import ContractedFee, contracted_fee, find_underpayments

DEFAULTS = EscalationSettings()


@pytest.mark.parametrize(
    ("root_cause", "amount", "expected"),
    [
        ("coding", "249.99", []),
        ("coding", "250.00", ["high_dollar"]),
        ("provider_not_credentialed", "10.00", ["credentialing"]),
        ("provider_not_credentialed", "900.00", ["high_dollar", "credentialing"]),
        ("unclassified", "0.00", []),
    ],
)
def test_per_denial_escalations_follow_domain_5_4_defaults(root_cause: str, amount: str, expected: list[str]) -> None:
    assert denial_escalations(root_cause, Decimal(amount), DEFAULTS) == expected


def test_an_organization_threshold_replaces_the_default() -> None:
    strict = EscalationSettings(high_dollar_threshold=Decimal("100"), credentialing_enabled=False)
    assert denial_escalations("provider_not_credentialed", Decimal("100"), strict) == ["high_dollar"]


def test_credentialing_denials_go_to_the_credentialing_queue_and_others_to_appeals() -> None:
    assert (work_queue("provider_not_credentialed"), work_queue("authorization_missing")) == (
        "credentialing",
        "appeals",
    )


def test_the_pattern_fires_at_ten_denied_visits_in_thirty_days_once_per_window() -> None:
    assert pattern_window(date(2026, 10, 30), DEFAULTS) == (date(2026, 10, 1), date(2026, 10, 30))
    assert not pattern_fires(9, False, DEFAULTS)
    assert pattern_fires(10, False, DEFAULTS)
    assert not pattern_fires(11, True, DEFAULTS)


def test_a_resolved_denial_refuses_every_action_and_an_appealed_one_refuses_a_second_appeal() -> None:
    assert action_refusal("resolved", "appealed") is not None
    assert action_refusal("appealed", "appealed") is not None
    assert action_refusal("appealed", "resolved") is None
    assert action_refusal("open", "appealed") is None


@pytest.mark.parametrize(
    ("outcome", "recovered", "written_off", "fields"),
    [
        ("overturned", "150", "0", []),
        ("overturned", "0", "0", ["recovered_amount"]),
        ("overturned", "151", "0", ["recovered_amount"]),
        ("upheld", "0", "0", []),
        ("upheld", "0", "10", ["written_off_amount"]),
        ("written_off", "0", "150", []),
        ("written_off", "0", "0", ["written_off_amount"]),
        ("written_off", "0", "150.01", ["written_off_amount"]),
    ],
)
def test_a_resolution_must_fit_its_outcome(outcome, recovered, written_off, fields) -> None:
    errors = resolution_errors(outcome, Decimal("150"), Decimal(recovered), Decimal(written_off), Decimal("150"))
    assert [field for field, _ in errors] == fields


FEES = [
    ContractedFee("f1", "payer-a", "90834", None, Decimal("130"), date(2026, 1, 1), None),
    ContractedFee("f2", "payer-a", "90834", "95", Decimal("125"), date(2026, 1, 1), None),
    ContractedFee("f3", "payer-a", "90834", None, Decimal("110"), date(2025, 1, 1), date(2025, 12, 31)),
    ContractedFee("f4", "payer-b", "90834", None, Decimal("400"), date(2026, 1, 1), None),
]


def test_the_fee_in_force_for_the_payer_date_and_modifier_is_the_contract() -> None:
    def pick(modifiers: tuple[str, ...], on: date) -> str | None:
        fee = contracted_fee(FEES, payer_id="payer-a", code="90834", modifiers=modifiers, service_date=on)
        return fee.entry_id if fee else None

    assert pick((), date(2026, 3, 1)) == "f1"
    assert pick(("95",), date(2026, 3, 1)) == "f2"
    assert pick((), date(2025, 6, 1)) == "f3"
    assert pick((), date(2024, 6, 1)) is None


def test_a_paid_line_allowed_below_contract_is_an_underpayment_by_the_difference(eras) -> None:
    # Paid 100 + copay 20 = 120 allowed; contract 130 -> short by 10. A denied line (paid 0) is not an underpayment.
    text = eras.text([eras.paid.format(claim="C1"), eras.denied.format(claim="C2")], payment="100")
    paid, denied = read_835(text).transactions[0].claims
    [found] = find_underpayments(paid, FEES, payer_id="payer-a", fallback_date=date(2026, 10, 15))
    assert (found.allowed_amount, found.contracted_amount, found.difference) == (
        Decimal("120"),
        Decimal("130.00"),
        Decimal("10.00"),
    )
    assert find_underpayments(denied, FEES, payer_id="payer-a", fallback_date=date(2026, 10, 15)) == []
    assert find_underpayments(paid, FEES, payer_id="payer-b", fallback_date=date(2026, 10, 15))[0].difference == (
        Decimal("280.00")
    )


def test_the_patient_match_key_is_member_id_first_service_date_and_charge(eras) -> None:
    claim = read_835(eras.text([eras.paid.format(claim="C1")], payment="100")).transactions[0].claims[0]
    key = patient_match_key(claim)
    assert key is not None
    assert (key.member_id, key.date_of_service, key.billed_amount) == ("M0001", date(2026, 9, 20), Decimal("150.00"))
    no_patient = read_835(eras.text([eras.cost_share.format(claim="C2")], payment="0")).transactions[0].claims[0]
    assert patient_match_key(no_patient) is None
