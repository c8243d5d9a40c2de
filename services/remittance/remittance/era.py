"""Pure 835 (005010X221A1) reader on top of the tolerant X12 tokenizer: payments, claims, lines, PLB. No I/O.

This module assembles the file: envelope checks, transactions (ST/SE) with their payment and trace, claims closed
into `ClaimPayment` or `UnreadableClaim`. The segments inside a claim loop are read in `era_segments`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
from remittance.era_segments import (
    ClaimDraft,
    SegmentReader,
    UnreadableSegment,
    amount,
    optional_amount,
    where,
    x12_date,
)
from shared.x12 import Segment, Separators, X12Error, check_envelope, decode_interchange, tokenize

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
CLAIM_STATUS_CODES = frozenset({"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"})


def read_835(text: str | bytes) -> Remittance835:
    """Read an 835 interchange (bytes are checked against the X12 character sets first); raises EraRefused when it
    cannot be posted at all."""
    try:
        separators, segments = tokenize(decode_interchange(text) if isinstance(text, bytes) else text)
    except X12Error as error:
        raise EraRefused(error.reason, error.where) from error
    return _Reader(separators, segments).read()


class _Reader:
    """State machine over the segments of one interchange."""

    def __init__(self, separators: Separators, segments: list[Segment]) -> None:
        self.separators = separators
        self.segments = segments
        self.warnings: list[str] = []
        self.segment_reader = SegmentReader(separators)

    def read(self) -> Remittance835:
        """Check the envelope, split the interchange into ST/SE transactions, read each, and refuse a payment trace
        seen twice."""
        self._check_envelope()
        try:
            self.warnings.extend(check_envelope(self.segments))
        except X12Error as error:
            raise EraRefused(f"{error.reason}; nothing was posted", error.where) from error
        transactions: list[PaymentTransaction] = []
        current: list[Segment] | None = None
        for segment in self.segments:
            if segment.tag == "ST":
                current = [segment]
            elif current is not None:
                current.append(segment)
                if segment.tag == "SE":
                    transactions.append(self._transaction(current))
                    current = None
            elif segment.tag in ("CLP", "SVC", "CAS", "PLB", "BPR"):
                raise EraRefused(f"{segment.tag} outside an ST/SE transaction", where(segment))
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
        for separator in sorted(self.segment_reader.foreign_separators):
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
        """Refuse a file without an HP functional group of version 005010X221 or with a non-835 transaction."""
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

    def _transaction(self, segments: list[Segment]) -> PaymentTransaction:
        """One ST/SE transaction: BPR payment and TRN trace, payer and payee (N1), claims and PLB."""
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
        except UnreadableSegment as error:
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
        draft: ClaimDraft | None = None
        party: str | None = None

        def close() -> None:
            """Finish the claim being read, if any."""
            nonlocal draft
            if draft is not None:
                self._finish(draft, claims, unreadable)
                draft = None

        for segment in segments[1:]:
            tag = segment.tag
            if tag == "CLP":
                close()
                draft = ClaimDraft(segment)
            elif tag in ("LX", "PLB", "SE"):
                close()
                if tag == "PLB":
                    plbs.extend(self.segment_reader.plb(segment))
            elif draft is not None:
                draft.raw.append(segment)
                if draft.error is None:
                    try:
                        self.segment_reader.claim_segment(draft, segment)
                    except UnreadableSegment as error:
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
            except UnreadableSegment as error:
                problem = str(error)
        production = next((s for s in segments if s.tag == "DTM" and s.element(1) == "405"), None)
        if production is None:
            raise UnreadableSegment(f"{problem} and there is no DTM*405 to fall back on")
        self.warnings.append(f"{where(bpr)}: {problem}; used the DTM*405 production date")
        return x12_date(production.element(2), "DTM*405 date")

    def _finish(self, draft: ClaimDraft, claims: list[ClaimPayment], unreadable: list[UnreadableClaim]) -> None:
        """Close a claim draft into a ClaimPayment, or into an UnreadableClaim with its reason and raw segments."""
        clp = draft.clp
        raw = tuple(self.separators.element.join([s.tag, *s.elements]) for s in draft.raw)
        claim_id = clp.element(1).strip()
        payer_claim_number = clp.element(7).strip() or None
        try:
            if draft.error is not None:
                raise UnreadableSegment(draft.error)
            if not claim_id:
                raise UnreadableSegment(f"{where(clp)}: CLP01 claim id is missing")
            status = clp.element(2).strip()
            if status not in CLAIM_STATUS_CODES:
                raise UnreadableSegment(f"{where(clp)}: CLP02 '{status}' is not a claim status code")
            try:
                charge = amount(clp.element(3), "CLP03 charge")
                paid = amount(clp.element(4), "CLP04 paid")
                patient = optional_amount(clp.element(5), "CLP05 patient responsibility")
            except UnreadableSegment as error:
                raise UnreadableSegment(f"{where(clp)}: {error}") from error
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
        except UnreadableSegment as error:
            try:
                paid_amount: Decimal | None = amount(clp.element(4), "CLP04 paid")
            except UnreadableSegment:
                paid_amount = None
            unreadable.append(
                UnreadableClaim(
                    claim_id=claim_id,
                    payer_claim_number=payer_claim_number,
                    paid_amount=paid_amount,
                    position=clp.position,
                    reason=str(error),
                    raw_segments=raw,
                )
            )
