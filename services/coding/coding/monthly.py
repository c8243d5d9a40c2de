"""Pure rules of care-management months: accumulated minutes of a patient-month to one charge (DOMAIN.md 3.6)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from coding.coded import CodedLine, Hold, month_index
from coding.rulebook import RuleBook
from shared.clock import add_business_days


@dataclass(frozen=True)
class MonthOutcome:
    """What a closed month bills: lines, or a hold, or no charge with the reason (recorded, never dropped)."""

    lines: tuple[CodedLine, ...] = ()
    holds: tuple[Hold, ...] = ()
    no_charge_reason: str | None = None


def month_start(day: date) -> date:
    """The first day of a date's month."""
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The last day of a month."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def month_label(month: date) -> str:
    """yyyy-mm of a month."""
    return f"{month.year:04d}-{month.month:02d}"


def is_first_month(month: date, earlier_collaborative_months: list[date], rules: RuleBook) -> bool:
    """Whether a collaborative-care month starts an episode: none in the preceding gap (default 6 months)."""
    gap = int(rules.time_bands["care_management"]["collaborative_care"]["episode_gap_months"])
    return not any(0 < month_index(month) - month_index(earlier) <= gap for earlier in earlier_collaborative_months)


def add_on_units(minutes: int, base: int, first_unit_after_base: int, unit_minutes: int) -> int:
    """+99494 units: the first at base + 16 minutes, the next every 30 minutes after that."""
    threshold = base + first_unit_after_base
    return 0 if minutes < threshold else (minutes - threshold) // unit_minutes + 1


def collaborative_care_lines(minutes: int, *, first_month: bool, payer_type: str, rules: RuleBook) -> MonthOutcome:
    """99492/99493 with +99494 units, or G2214 below their thresholds (Medicare), or no charge."""
    rules_cocm = rules.time_bands["care_management"]["collaborative_care"]
    month = rules_cocm["first_month" if first_month else "later_month"]
    which = "first" if first_month else "later"
    if minutes >= month["minimum"]:
        code = month["code"]
        lines = [
            CodedLine(
                code,
                (),
                1,
                "11",
                (f"CM-{code}",),
                f"{minutes} min collaborative care in a {which} month (≥ {month['minimum']}) → {code}",
            )
        ]
        add_on = rules_cocm["add_on"]
        units = add_on_units(minutes, month["add_on_base"], add_on["first_unit_after_base"], add_on["unit_minutes"])
        if units:
            first_at = month["add_on_base"] + add_on["first_unit_after_base"]
            lines.append(
                CodedLine(
                    add_on["code"],
                    (),
                    units,
                    "11",
                    (f"CM-{add_on['code']}",),
                    f"{minutes} min: first unit at {first_at} min, then every {add_on['unit_minutes']} "
                    f"→ +{add_on['code']} × {units}",
                )
            )
        return MonthOutcome(lines=tuple(lines))
    below = rules_cocm["below_threshold"]
    if minutes >= below["minimum"]:
        if payer_type in below["payer_types"]:
            return MonthOutcome(
                lines=(
                    CodedLine(
                        below["code"],
                        (),
                        1,
                        "11",
                        (f"CM-{below['code']}",),
                        f"{minutes} min collaborative care, {month['code']} threshold {month['minimum']} not met "
                        f"→ {below['code']}",
                    ),
                )
            )
        return MonthOutcome(
            no_charge_reason=f"{minutes} min collaborative care is below {month['minimum']}; "
            f"{below['code']} is billable to {', '.join(below['payer_types'])} only"
        )
    return MonthOutcome(
        no_charge_reason=f"{minutes} min collaborative care is below every threshold ({below['minimum']} minutes)"
    )


def general_bhi_lines(minutes: int, rules: RuleBook) -> MonthOutcome:
    """99484 for at least 20 minutes of general behavioral-health integration in the month."""
    bhi = rules.time_bands["care_management"]["general_bhi"]
    if minutes >= bhi["minimum"]:
        code = bhi["code"]
        return MonthOutcome(
            lines=(
                CodedLine(
                    code, (), 1, "11", (f"CM-{code}",), f"{minutes} min general BHI (≥ {bhi['minimum']}) → {code}"
                ),
            )
        )
    return MonthOutcome(no_charge_reason=f"{minutes} min general BHI is below {bhi['minimum']} minutes")


def code_month(
    *,
    collaborative_minutes: int,
    bhi_minutes: int,
    first_month: bool,
    payer_type: str,
    rules: RuleBook,
) -> MonthOutcome:
    """One patient-month: collaborative care or general BHI, never both (99484 excludes CoCM in the month)."""
    if collaborative_minutes and bhi_minutes:
        return MonthOutcome(
            holds=(
                Hold(
                    "PAIR-99484-COCM",
                    f"{bhi_minutes} min general BHI and {collaborative_minutes} min collaborative care in one month: "
                    "99484 is never billed in a month of collaborative care",
                ),
            )
        )
    if collaborative_minutes:
        return collaborative_care_lines(
            collaborative_minutes, first_month=first_month, payer_type=payer_type, rules=rules
        )
    if bhi_minutes:
        return general_bhi_lines(bhi_minutes, rules)
    return MonthOutcome(no_charge_reason="no care-management minutes left in the month")


def threshold_date(minutes_by_day: list[tuple[date, int]], minimum: int) -> date | None:
    """The day a month's accumulated minutes first reached a minimum."""
    total = 0
    for day, minutes in sorted(minutes_by_day):
        total += minutes
        if total >= minimum:
            return day
    return None


def billed_minimum(code: str, rules: RuleBook) -> int:
    """The monthly minimum of a care-management code (its first unit)."""
    care = rules.time_bands["care_management"]
    cocm = care["collaborative_care"]
    minimums = {
        cocm["first_month"]["code"]: cocm["first_month"]["minimum"],
        cocm["later_month"]["code"]: cocm["later_month"]["minimum"],
        cocm["below_threshold"]["code"]: cocm["below_threshold"]["minimum"],
        care["general_bhi"]["code"]: care["general_bhi"]["minimum"],
    }
    return int(minimums.get(code, 0))


def date_of_service_for(
    month: date, rules: RuleBook, *, payer_type: str = "commercial", threshold_met: date | None = None
) -> date:
    """Date of service of a monthly charge: the last day of the month, or the threshold day where the payer wants it."""
    setting = rules.time_bands["care_management"]["date_of_service"]
    choice = setting.get(payer_type, setting["default"]) if isinstance(setting, dict) else setting
    if choice == "threshold_met" and threshold_met is not None:
        return threshold_met
    return month_end(month)


def month_closed_by(month: date, business_date: date, grace_business_days: int = 0) -> bool:
    """Whether the business clock has passed the end of a month and then the grace period (business days)."""
    return business_date > add_business_days(month_end(month), grace_business_days)


def first_open_month(business_date: date, grace_business_days: int) -> date:
    """The first day of the earliest month the business clock has not closed yet: every month before it is closed."""
    bound = month_start(business_date)
    while not month_closed_by(month_start(bound - timedelta(days=1)), business_date, grace_business_days):
        bound = month_start(bound - timedelta(days=1))
    return bound
