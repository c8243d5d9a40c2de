"""Segment readers of the 835 (DOMAIN.md 5.1): numeric and date elements, composites, the segments of a claim loop
(SVC, CAS, LQ, MOA, MIA, NM1, DTM, AMT) and PLB, and the drafts a claim and its lines are read into. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from remittance.era_models import CasAdjustment, EraRefused, ProviderAdjustment, ServiceLinePayment
from shared.dates import EARLIEST, LATEST, in_bounds
from shared.x12 import Segment, Separators

ADJUSTMENT_GROUPS = frozenset({"CO", "PR", "OA", "PI", "CR"})
_AMOUNT = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_QUALIFIED_COMPOSITE = re.compile(r"^([A-Za-z0-9]{2})([^A-Za-z0-9\s])")


class UnreadableSegment(Exception):
    """A segment or element that cannot be read: its claim is listed as unreadable with this reason (in a header,
    the file is refused)."""


def where(segment: Segment) -> str:
    """Human location of a segment: 1-based number and tag."""
    return f"segment {segment.position + 1} ({segment.tag})"


def amount(value: str, label: str) -> Decimal:
    """A money or quantity element as Decimal; raises UnreadableSegment naming the element."""
    cleaned = value.strip()
    if not _AMOUNT.match(cleaned):
        raise UnreadableSegment(f"{label} '{value[:20]}' is not a number")
    try:
        return Decimal(cleaned)
    except InvalidOperation as error:
        raise UnreadableSegment(f"{label} '{value[:20]}' is not a number") from error


def optional_amount(value: str, label: str) -> Decimal | None:
    """An optional numeric element."""
    return amount(value, label) if value.strip() else None


def x12_date(value: str, label: str) -> date:
    """A CCYYMMDD date element."""
    cleaned = value.strip()
    if len(cleaned) != 8 or not cleaned.isdigit():
        raise UnreadableSegment(f"{label} '{value[:20]}' is not a CCYYMMDD date")
    try:
        day = date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
    except ValueError as error:
        raise UnreadableSegment(f"{label} '{cleaned}' is not a valid date") from error
    if not in_bounds(day):
        raise UnreadableSegment(f"{label} '{cleaned}' is outside {EARLIEST:%Y%m%d}-{LATEST:%Y%m%d}")
    return day


@dataclass
class ServiceLineDraft:
    """An SVC being read; collects its dates, adjustments, remarks and amounts."""

    line_number: int
    qualifier: str
    procedure_code: str
    modifiers: tuple[str, ...]
    charge_amount: Decimal
    paid_amount: Decimal
    revenue_code: str | None
    units: Decimal
    position: int
    service_date: date | None = None
    adjustments: list[CasAdjustment] = field(default_factory=list)
    remark_codes: list[str] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def finish(self) -> ServiceLinePayment:
        """The immutable line."""
        return ServiceLinePayment(
            line_number=self.line_number,
            qualifier=self.qualifier,
            procedure_code=self.procedure_code,
            modifiers=self.modifiers,
            charge_amount=self.charge_amount,
            paid_amount=self.paid_amount,
            revenue_code=self.revenue_code,
            units=self.units,
            service_date=self.service_date,
            adjustments=tuple(self.adjustments),
            remark_codes=tuple(self.remark_codes),
            amounts=self.amounts,
            position=self.position,
        )


class ClaimDraft:
    """A CLP being read; collects its segments until the next CLP, LX, PLB or SE."""

    def __init__(self, segment: Segment) -> None:
        self.clp = segment
        self.raw: list[Segment] = [segment]
        self.adjustments: list[CasAdjustment] = []
        self.lines: list[ServiceLineDraft] = []
        self.remark_codes: list[str] = []
        self.dates: dict[str, date] = {}
        self.amounts: dict[str, Decimal] = {}
        self.patient_identifier: str | None = None
        self.error: str | None = None


class SegmentReader:
    """Reads the segments of a claim loop and PLB with the interchange's separators; remembers any component
    separator other than ISA16 that composites turn out to use."""

    def __init__(self, separators: Separators) -> None:
        self.separators = separators
        self.foreign_separators: set[str] = set()

    def composite(self, value: str) -> list[str]:
        """Components of a composite, tolerating a component separator other than ISA16."""
        if self.separators.component in value:
            return value.split(self.separators.component)
        match = _QUALIFIED_COMPOSITE.match(value)
        if match and match.group(2) != self.separators.element:
            self.foreign_separators.add(match.group(2))
            return value.split(match.group(2))
        return [value]

    def claim_segment(self, draft: ClaimDraft, segment: Segment) -> None:
        """Read one segment of a claim loop into the claim, or into its last service line where it belongs to one."""
        tag = segment.tag
        line = draft.lines[-1] if draft.lines else None
        if tag == "SVC":
            draft.lines.append(self.svc(segment, len(draft.lines) + 1))
        elif tag == "CAS":
            found = self.cas(segment, line.line_number if line else None)
            (line.adjustments if line else draft.adjustments).extend(found)
        elif tag == "LQ" and segment.element(1) == "HE":
            (line.remark_codes if line else draft.remark_codes).append(segment.element(2))
        elif tag == "MOA":
            draft.remark_codes.extend(c for c in (segment.element(n) for n in range(3, 8)) if c)
        elif tag == "MIA":
            draft.remark_codes.extend(c for c in (segment.element(n) for n in (5, 20, 21, 22, 23)) if c)
        elif tag == "NM1" and segment.element(1) == "QC":
            draft.patient_identifier = segment.element(9) or None
        elif tag == "DTM":
            qualifier = segment.element(1)
            value = x12_date(segment.element(2), f"DTM*{qualifier}")
            if line is not None:
                if qualifier in ("472", "150"):
                    line.service_date = value
            else:
                draft.dates[qualifier] = value
        elif tag == "AMT":
            money = amount(segment.element(2), f"AMT*{segment.element(1)}")
            (line.amounts if line else draft.amounts)[segment.element(1)] = money

    def svc(self, segment: Segment, number: int) -> ServiceLineDraft:
        """A service line from an SVC: procedure composite, charge, paid, revenue code and units (1 when absent)."""
        parts = self.composite(segment.element(1))
        if len(parts) < 2 or not parts[1].strip():
            raise UnreadableSegment(f"procedure composite '{segment.element(1)[:30]}' has no procedure code")
        units = optional_amount(segment.element(5), "SVC05 units")
        return ServiceLineDraft(
            line_number=number,
            qualifier=parts[0],
            procedure_code=parts[1],
            modifiers=tuple(m for m in parts[2:6] if m),
            charge_amount=amount(segment.element(2), "SVC02 charge"),
            paid_amount=amount(segment.element(3), "SVC03 paid"),
            revenue_code=segment.element(4) or None,
            units=units if units is not None else Decimal("1"),
            position=segment.position,
        )

    def cas(self, segment: Segment, line_number: int | None) -> list[CasAdjustment]:
        """The adjustments of a CAS: up to six reason/amount/quantity triplets under one group code."""
        group = segment.element(1).strip()
        if group not in ADJUSTMENT_GROUPS:
            raise UnreadableSegment(f"CAS01 '{group[:10]}' is not an adjustment group code (CO, PR, OA, PI, CR)")
        found = []
        for index in range(6):
            reason = segment.element(2 + index * 3).strip()
            value = segment.element(3 + index * 3)
            if not reason and not value.strip():
                continue
            if not reason:
                raise UnreadableSegment(f"CAS triplet {index + 1} has an amount but no reason code")
            found.append(
                CasAdjustment(
                    group_code=group,
                    reason_code=reason,
                    amount=amount(value, f"CAS amount of {group}-{reason}"),
                    quantity=optional_amount(segment.element(4 + index * 3), f"CAS quantity of {group}-{reason}"),
                    line_number=line_number,
                )
            )
        if not found:
            raise UnreadableSegment("CAS has no reason/amount triplet")
        return found

    def plb(self, segment: Segment) -> list[ProviderAdjustment]:
        """The provider-level adjustments of a PLB; an unreadable one refuses the whole file."""
        try:
            period = x12_date(segment.element(2), "PLB02") if segment.element(2).strip() else None
            found = []
            for index in range(6):
                composite = segment.element(3 + index * 2)
                if not composite.strip():
                    continue
                parts = self.composite(composite)
                found.append(
                    ProviderAdjustment(
                        provider_identifier=segment.element(1),
                        fiscal_period_date=period,
                        reason_code=parts[0],
                        reference=parts[1] if len(parts) > 1 and parts[1] else None,
                        amount=amount(segment.element(4 + index * 2), f"PLB amount {index + 1}"),
                        position=segment.position,
                    )
                )
        except UnreadableSegment as error:
            raise EraRefused(f"provider adjustment is unreadable: {error}", where(segment)) from error
        return found
