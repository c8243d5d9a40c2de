"""Pure 835 (005010X221A1) reader on top of the tolerant X12 tokenizer: payments, claims, lines, PLB. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from remittance.era_models import (
    CasAdjustment,
    ClaimPayment,
    EraModel,
    EraRefused,
    PaymentTransaction,
    ProviderAdjustment,
    Remittance835,
    ServiceLinePayment,
    UnreadableClaim,
)
from shared.x12 import Segment, Separators, X12Error, tokenize

__all__ = [
    "CasAdjustment",
    "ClaimPayment",
    "EraModel",
    "EraRefused",
    "PaymentTransaction",
    "ProviderAdjustment",
    "Remittance835",
    "ServiceLinePayment",
    "UnreadableClaim",
    "read_835",
]

SUPPORTED_VERSION = "005010X221"
ADJUSTMENT_GROUPS = frozenset({"CO", "PR", "OA", "PI", "CR"})
CLAIM_STATUS_CODES = frozenset({"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"})
_AMOUNT = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_QUALIFIED_COMPOSITE = re.compile(r"^([A-Za-z0-9]{2})([^A-Za-z0-9\s])")


class _Unreadable(Exception):
    """One claim (or header element) that cannot be read; the claim is listed with this reason."""


def where(segment: Segment) -> str:
    """Human location of a segment: 1-based number and tag."""
    return f"segment {segment.position + 1} ({segment.tag})"


def read_835(text: str) -> Remittance835:
    """Read an 835 interchange; raises EraRefused when it cannot be posted at all."""
    try:
        separators, segments = tokenize(text)
    except X12Error as error:
        raise EraRefused(str(error), "interchange") from error
    return _Reader(separators, segments).read()


def amount(value: str, label: str) -> Decimal:
    """A money or quantity element as Decimal; raises _Unreadable naming the element."""
    cleaned = value.strip()
    if not _AMOUNT.match(cleaned):
        raise _Unreadable(f"{label} '{value[:20]}' is not a number")
    try:
        return Decimal(cleaned)
    except InvalidOperation as error:
        raise _Unreadable(f"{label} '{value[:20]}' is not a number") from error


def optional_amount(value: str, label: str) -> Decimal | None:
    """An optional numeric element."""
    return amount(value, label) if value.strip() else None


def x12_date(value: str, label: str) -> date:
    """A CCYYMMDD date element."""
    cleaned = value.strip()
    if len(cleaned) != 8 or not cleaned.isdigit():
        raise _Unreadable(f"{label} '{value[:20]}' is not a CCYYMMDD date")
    try:
        return date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
    except ValueError as error:
        raise _Unreadable(f"{label} '{cleaned}' is not a valid date") from error


@dataclass
class _LineDraft:
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


class _ClaimDraft:
    """A CLP being read; collects its segments until the next CLP, LX, PLB or SE."""

    def __init__(self, segment: Segment) -> None:
        self.clp = segment
        self.raw: list[Segment] = [segment]
        self.adjustments: list[CasAdjustment] = []
        self.lines: list[_LineDraft] = []
        self.remark_codes: list[str] = []
        self.dates: dict[str, date] = {}
        self.amounts: dict[str, Decimal] = {}
        self.patient_identifier: str | None = None
        self.error: str | None = None


class _Reader:
    """State machine over the segments of one interchange."""

    def __init__(self, separators: Separators, segments: list[Segment]) -> None:
        self.separators = separators
        self.segments = segments
        self.warnings: list[str] = []
        self.foreign_separators: set[str] = set()

    def read(self) -> Remittance835:
        self._check_envelope()
        transactions: list[PaymentTransaction] = []
        current: list[Segment] | None = None
        for segment in self.segments:
            if segment.tag == "ST":
                if current is not None:
                    self.warnings.append(f"{where(current[0])}: transaction has no SE; closed at the next ST")
                    transactions.append(self._transaction(current))
                current = [segment]
            elif segment.tag == "SE":
                if current is None:
                    self.warnings.append(f"{where(segment)}: SE without ST ignored")
                    continue
                current.append(segment)
                transactions.append(self._transaction(current))
                current = None
            elif current is not None:
                current.append(segment)
            elif segment.tag in ("CLP", "SVC", "CAS", "PLB", "BPR"):
                raise EraRefused(f"{segment.tag} outside an ST/SE transaction", where(segment))
        if current is not None:
            self.warnings.append(f"{where(current[0])}: transaction has no SE; read to the end of the file")
            transactions.append(self._transaction(current))
        if not transactions:
            raise EraRefused("no 835 transaction (ST*835) in the file", "interchange")
        seen: set[tuple[str, str]] = set()
        for transaction in transactions:
            key = (transaction.payer_key, transaction.trace_number)
            if key in seen:
                raise EraRefused(
                    f"payment trace {transaction.trace_number} of payer {transaction.payer_key} appears twice",
                    f"segment {transaction.position + 1} (ST)",
                )
            seen.add(key)
        for separator in sorted(self.foreign_separators):
            self.warnings.append(
                f"composite elements use '{separator}' as component separator while ISA16 says "
                f"'{self.separators.component}'; read with '{separator}'"
            )
        return Remittance835(
            separators_component=self.separators.component,
            transactions=tuple(transactions),
            warnings=tuple(self.warnings),
        )

    def _check_envelope(self) -> None:
        groups = [s for s in self.segments if s.tag == "GS"]
        if not groups:
            raise EraRefused("no functional group (GS): not a readable 835", "interchange")
        for group in groups:
            version = group.element(8).strip()
            if group.element(1).strip() != "HP":
                raise EraRefused(
                    f"functional group code '{group.element(1)}' is not HP (health care claim payment/advice)",
                    where(group),
                )
            if not version.startswith(SUPPORTED_VERSION):
                raise EraRefused(
                    f"version '{version}' (GS08) is not supported: only 835 {SUPPORTED_VERSION}A1 (5010) is accepted",
                    where(group),
                )
        for header in (s for s in self.segments if s.tag == "ST"):
            if header.element(1).strip() != "835":
                raise EraRefused(f"transaction set '{header.element(1)}' is not an 835", where(header))

    def _composite(self, value: str) -> list[str]:
        """Components of a composite, tolerating a component separator other than ISA16."""
        if self.separators.component in value:
            return value.split(self.separators.component)
        match = _QUALIFIED_COMPOSITE.match(value)
        if match and match.group(2) != self.separators.element:
            self.foreign_separators.add(match.group(2))
            return value.split(match.group(2))
        return [value]

    def _transaction(self, segments: list[Segment]) -> PaymentTransaction:
        header = segments[0]
        bpr = next((s for s in segments if s.tag == "BPR"), None)
        trn = next((s for s in segments if s.tag == "TRN"), None)
        if bpr is None:
            raise EraRefused("835 transaction has no BPR (payment) segment", where(header))
        if trn is None or not trn.element(2).strip():
            raise EraRefused("835 transaction has no TRN trace number", where(header))
        try:
            payment_amount = amount(bpr.element(2), "BPR02")
            payment_date = self._payment_date(bpr, segments)
        except _Unreadable as error:
            raise EraRefused(str(error), where(bpr)) from error
        fields: dict[str, object] = {
            "control_number": header.element(2),
            "payment_amount": payment_amount,
            "handling_code": bpr.element(1),
            "credit_debit": bpr.element(3),
            "payment_method": bpr.element(4),
            "payment_date": payment_date,
            "trace_number": trn.element(2).strip(),
            "trace_originator": trn.element(3).strip() or None,
            "position": header.position,
        }
        claims: list[ClaimPayment] = []
        unreadable: list[UnreadableClaim] = []
        plbs: list[ProviderAdjustment] = []
        draft: _ClaimDraft | None = None
        party: str | None = None

        def close() -> None:
            nonlocal draft
            if draft is not None:
                self._finish(draft, claims, unreadable)
                draft = None

        for segment in segments[1:]:
            tag = segment.tag
            if tag == "CLP":
                close()
                draft = _ClaimDraft(segment)
            elif tag in ("LX", "PLB", "SE"):
                close()
                if tag == "PLB":
                    plbs.extend(self._plb(segment))
                elif tag == "SE":
                    self._check_count(segment, header, len(segments))
            elif draft is not None:
                draft.raw.append(segment)
                if draft.error is None:
                    try:
                        self._claim_segment(draft, segment)
                    except _Unreadable as error:
                        draft.error = f"{where(segment)}: {error}"
            elif tag == "N1":
                party = segment.element(1)
                if party == "PR":
                    fields["payer_name"] = segment.element(2)
                    fields["payer_identifier"] = segment.element(4) or None
                elif party == "PE":
                    fields["payee_name"] = segment.element(2)
                    fields["payee_identifier"] = segment.element(4) or None
            elif tag == "REF" and party == "PR" and segment.element(1) == "2U" and not fields.get("payer_identifier"):
                fields["payer_identifier"] = segment.element(2) or None
        close()
        return PaymentTransaction(
            **fields,
            claims=tuple(claims),
            unreadable_claims=tuple(unreadable),
            provider_adjustments=tuple(plbs),
        )

    def _payment_date(self, bpr: Segment, segments: list[Segment]) -> date:
        """BPR16; when it is missing or invalid, the DTM*405 production date with a warning."""
        problem = "BPR16 payment date is missing"
        if bpr.element(16).strip():
            try:
                return x12_date(bpr.element(16), "BPR16 payment date")
            except _Unreadable as error:
                problem = str(error)
        production = next((s for s in segments if s.tag == "DTM" and s.element(1) == "405"), None)
        if production is None:
            raise _Unreadable(f"{problem} and there is no DTM*405 to fall back on")
        self.warnings.append(f"{where(bpr)}: {problem}; used the DTM*405 production date")
        return x12_date(production.element(2), "DTM*405 date")

    def _check_count(self, trailer: Segment, header: Segment, count: int) -> None:
        declared = trailer.element(1).strip()
        if declared != str(count):
            self.warnings.append(
                f"{where(trailer)}: SE01 says {declared or 'nothing'} segments, the transaction has {count}"
            )
        if trailer.element(2).strip() != header.element(2).strip():
            self.warnings.append(f"{where(trailer)}: SE02 does not match ST02 '{header.element(2)}'")

    def _claim_segment(self, draft: _ClaimDraft, segment: Segment) -> None:
        tag = segment.tag
        line = draft.lines[-1] if draft.lines else None
        if tag == "SVC":
            draft.lines.append(self._svc(segment, len(draft.lines) + 1))
        elif tag == "CAS":
            found = self._cas(segment, line.line_number if line else None)
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

    def _svc(self, segment: Segment, number: int) -> _LineDraft:
        parts = self._composite(segment.element(1))
        if len(parts) < 2 or not parts[1].strip():
            raise _Unreadable(f"procedure composite '{segment.element(1)[:30]}' has no procedure code")
        units = optional_amount(segment.element(5), "SVC05 units")
        return _LineDraft(
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

    def _cas(self, segment: Segment, line_number: int | None) -> list[CasAdjustment]:
        group = segment.element(1).strip()
        if group not in ADJUSTMENT_GROUPS:
            raise _Unreadable(f"CAS01 '{group[:10]}' is not an adjustment group code (CO, PR, OA, PI, CR)")
        found = []
        for index in range(6):
            reason = segment.element(2 + index * 3).strip()
            value = segment.element(3 + index * 3)
            if not reason and not value.strip():
                continue
            if not reason:
                raise _Unreadable(f"CAS triplet {index + 1} has an amount but no reason code")
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
            raise _Unreadable("CAS has no reason/amount triplet")
        return found

    def _plb(self, segment: Segment) -> list[ProviderAdjustment]:
        try:
            period = x12_date(segment.element(2), "PLB02") if segment.element(2).strip() else None
            found = []
            for index in range(6):
                composite = segment.element(3 + index * 2)
                if not composite.strip():
                    continue
                parts = self._composite(composite)
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
        except _Unreadable as error:
            raise EraRefused(f"provider adjustment is unreadable: {error}", where(segment)) from error
        return found

    def _finish(self, draft: _ClaimDraft, claims: list[ClaimPayment], unreadable: list[UnreadableClaim]) -> None:
        clp = draft.clp
        raw = tuple(self.separators.element.join([s.tag, *s.elements]) for s in draft.raw)
        claim_id = clp.element(1).strip()
        payer_claim_number = clp.element(7).strip() or None
        try:
            if draft.error is not None:
                raise _Unreadable(draft.error)
            if not claim_id:
                raise _Unreadable(f"{where(clp)}: CLP01 claim id is missing")
            status = clp.element(2).strip()
            if status not in CLAIM_STATUS_CODES:
                raise _Unreadable(f"{where(clp)}: CLP02 '{status}' is not a claim status code")
            try:
                charge = amount(clp.element(3), "CLP03 charge")
                paid = amount(clp.element(4), "CLP04 paid")
                patient = optional_amount(clp.element(5), "CLP05 patient responsibility")
            except _Unreadable as error:
                raise _Unreadable(f"{where(clp)}: {error}") from error
            lines = tuple(line.finish() for line in draft.lines)
            claims.append(
                ClaimPayment(
                    claim_id=claim_id,
                    status_code=status,
                    charge_amount=charge,
                    paid_amount=paid,
                    patient_responsibility=patient,
                    filing_indicator=clp.element(6) or None,
                    payer_claim_number=payer_claim_number,
                    frequency_code=clp.element(9) or None,
                    patient_identifier=draft.patient_identifier,
                    adjustments=tuple(draft.adjustments),
                    lines=lines,
                    remark_codes=tuple(draft.remark_codes),
                    dates=draft.dates,
                    amounts=draft.amounts,
                    position=clp.position,
                )
            )
        except _Unreadable as error:
            unreadable.append(
                UnreadableClaim(
                    claim_id=claim_id,
                    payer_claim_number=payer_claim_number,
                    position=clp.position,
                    reason=str(error),
                    raw_segments=raw,
                )
            )
