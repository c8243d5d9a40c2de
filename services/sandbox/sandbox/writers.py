"""X12 writers of the sandbox clearinghouse: 999 (005010X231A1), 277CA (005010X214) and 835 (005010X221A1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sandbox.domain import ClaimResult
from sandbox.reader import Batch837, Claim837
from shared.x12 import Separators, render_segment

SEPARATORS = Separators(element="*", component=":", repetition="^", segment="~")
CLEARINGHOUSE_ID = "SANDBOXCH"
CLEARINGHOUSE_NAME = "SANDBOX CLEARINGHOUSE"
PAYER_TIN = "1999999999"

Segments = list[tuple[str, ...]]

# CLP06 (835 X221A1) takes a shorter list than SBR09 (837 X222A1): a payer answers what it has of the claim's plan,
# and the SBR09 codes it lacks (CI commercial, BL Blue Cross, FI federal employees, 11 other non-federal) come back as
# 12, a preferred provider plan, as commercial payers commonly send.
CLP06_CODES = frozenset(
    {"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"}
)


@dataclass(frozen=True)
class Stamp:
    """When and under which control number a file is written."""

    control_number: int
    on: date
    time_hhmm: str


def money(amount: Decimal) -> str:
    """An amount as X12 writes it (no trailing zeros beyond cents, no exponent)."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _clean(value: str, limit: int = 60) -> str:
    return "".join(" " if ch in "*:^~\r\n" else ch for ch in value).strip().upper()[:limit]


def interchange(
    stamp: Stamp, *, receiver: str, functional_code: str, version: str, sets: Sequence[Segments], gs03: str
) -> str:
    """ISA/GS around transaction sets (each given from ST to the segment before SE), with SE/GE/IEA counts."""
    isa13 = f"{stamp.control_number:09d}"
    gs06 = str(stamp.control_number)
    segments: Segments = [
        (
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            CLEARINGHOUSE_ID.ljust(15),
            "ZZ",
            _clean(receiver, 15).ljust(15),
            stamp.on.strftime("%y%m%d"),
            stamp.time_hhmm,
            "^",
            "00501",
            isa13,
            "0",
            "T",
            ":",
        ),
        (
            "GS",
            functional_code,
            CLEARINGHOUSE_ID,
            _clean(gs03, 15),
            stamp.on.strftime("%Y%m%d"),
            stamp.time_hhmm,
            gs06,
            "X",
            version,
        ),
    ]
    for body in sets:
        segments += [*body, ("SE", str(len(body) + 1), body[0][2])]
    segments += [("GE", str(len(sets)), gs06), ("IEA", "1", isa13)]
    return "\n".join(render_segment(*segment, separators=SEPARATORS) for segment in segments) + "\n"


def write_999(batch: Batch837, stamp: Stamp) -> str:
    """The 999 of a batch: IK5 per transaction set (A, or R with IK3/IK4 and the syntax code), AK9 for the group."""
    body: Segments = [("ST", "999", "0001", "005010X231A1"), ("AK1", "HC", batch.gs06 or "0", batch.gs08)]
    accepted = 0
    for transaction in batch.sets:
        body.append(("AK2", "837", transaction.control_number or "0000", batch.gs08))
        for error in transaction.errors:
            body.append(("IK3", error.segment_id, str(error.position), error.loop, error.code))
            body += [("IK4", str(e.position), e.reference, e.code) for e in error.elements]
        if transaction.accepted:
            accepted += 1
            body.append(("IK5", "A"))
        else:
            body.append(("IK5", "R", transaction.syntax_code or "5"))
    received = len(batch.sets)
    code = "A" if accepted == received and received else ("P" if accepted else "R")
    body.append(("AK9", code, str(received), str(received), str(accepted)))
    return interchange(
        stamp, receiver=batch.sender_id, functional_code="FA", version="005010X231A1", sets=[body], gs03=batch.gs02
    )


@dataclass(frozen=True)
class ClaimVerdict:
    """The 277CA status of one claim: A2 accepted, or a rejection category with status code and reason."""

    claim: Claim837
    category: str
    status_code: str
    reason: str
    payer_claim_number: str | None


def write_277ca(batch: Batch837, verdicts: Sequence[ClaimVerdict], stamp: Stamp) -> str:
    """The 277CA of the accepted claims of a batch: one patient-level HL per claim, TRN*2 = CLM01."""
    ccyymmdd = stamp.on.strftime("%Y%m%d")
    accepted = [v for v in verdicts if v.category in ("A2", "A5")]
    rejected = [v for v in verdicts if v not in accepted]
    body: Segments = [
        ("ST", "277", "0001", "005010X214"),
        ("BHT", "0085", "08", f"{stamp.control_number}", ccyymmdd, stamp.time_hhmm, "TH"),
        ("HL", "1", "", "20", "1"),
        ("NM1", "AY", "2", CLEARINGHOUSE_NAME, "", "", "", "", "46", CLEARINGHOUSE_ID),
        ("TRN", "1", f"{stamp.control_number}"),
        ("DTP", "050", "D8", ccyymmdd),
        ("DTP", "009", "D8", ccyymmdd),
        ("HL", "2", "1", "21", "1"),
        ("NM1", "41", "2", _clean(batch.sender_id) or "SUBMITTER", "", "", "", "", "46", _clean(batch.sender_id, 80)),
        ("TRN", "2", batch.bht_reference or batch.gs06 or "0"),
        ("STC", "A1:20", ccyymmdd, "WQ", money(sum((v.claim.charge for v in verdicts), Decimal("0")))),
    ]
    if accepted:
        body.append(("QTY", "90", str(len(accepted))))
    if rejected:
        body.append(("QTY", "AA", str(len(rejected))))
    if accepted:
        body.append(("AMT", "YU", money(sum((v.claim.charge for v in accepted), Decimal("0")))))
    if rejected:
        body.append(("AMT", "YY", money(sum((v.claim.charge for v in rejected), Decimal("0")))))
    hl = 2
    by_provider: dict[str, list[ClaimVerdict]] = {}
    for verdict in verdicts:
        by_provider.setdefault(verdict.claim.billing_npi, []).append(verdict)
    for npi, provider_verdicts in by_provider.items():
        hl += 1
        provider_hl = hl
        first = provider_verdicts[0].claim
        body += [
            ("HL", str(provider_hl), "2", "19", "1"),
            ("NM1", "85", "2", _clean(first.billing_name) or "BILLING PROVIDER", "", "", "", "", "XX", npi),
            ("TRN", "1", f"{stamp.control_number}-{provider_hl}"),
            ("STC", "A1:20", "", "WQ", money(sum((v.claim.charge for v in provider_verdicts), Decimal("0")))),
        ]
        for verdict in provider_verdicts:
            hl += 1
            claim = verdict.claim
            action = "WQ" if verdict in accepted else "U"
            stc: tuple[str, ...] = (
                "STC",
                f"{verdict.category}:{verdict.status_code}",
                ccyymmdd,
                action,
                money(claim.charge),
            )
            if verdict.reason and verdict not in accepted:
                stc += ("", "", "", "", "", "", "", _clean(verdict.reason, 264))
            body += [
                ("HL", str(hl), str(provider_hl), "PT"),
                (
                    "NM1",
                    "QC",
                    "1",
                    _clean(claim.patient_last) or "UNKNOWN",
                    _clean(claim.patient_first, 35),
                    "",
                    "",
                    "",
                    "MI",
                    _clean(claim.member_id, 80) or "UNKNOWN",
                ),
                ("TRN", "2", claim.claim_id),
                stc,
            ]
            if verdict.payer_claim_number:
                body.append(("REF", "1K", verdict.payer_claim_number))
            if claim.date_of_service:
                body.append(("DTP", "472", "D8", claim.date_of_service.strftime("%Y%m%d")))
    return interchange(
        stamp, receiver=batch.sender_id, functional_code="HN", version="005010X214", sets=[body], gs03=batch.gs02
    )


@dataclass(frozen=True)
class RemittedClaim:
    """An adjudicated claim with the names the 835 repeats (patient, member id)."""

    result: ClaimResult
    patient_last: str
    patient_first: str
    member_id: str


@dataclass(frozen=True)
class Payment:
    """One 835 transaction set: a payer paying one payee on one date under one trace number."""

    payer_name: str
    payer_id: str
    payee_name: str
    payee_npi: str
    trace_number: str
    payment_date: date
    claims: Sequence[RemittedClaim]

    @property
    def claims_paid(self) -> Decimal:
        """Σ CLP04 (reversals count negative)."""
        return sum((claim.result.paid for claim in self.claims), Decimal("0"))

    @property
    def forward_balance(self) -> Decimal:
        """A PLB FB amount when reversals outweigh payments: the payer carries the negative balance forward, so
        BPR02 = Σ CLP04 − Σ PLB = 0."""
        return min(self.claims_paid, Decimal("0"))

    @property
    def total_paid(self) -> Decimal:
        """BPR02: Σ CLP04 less the forward balance, never negative."""
        return self.claims_paid - self.forward_balance


def _payment_set(payment: Payment, set_number: int) -> Segments:
    """ST..(before SE) of one 835 payment."""
    when = payment.payment_date.strftime("%Y%m%d")
    total = payment.total_paid
    if total > 0:
        bpr: tuple[str, ...] = ("BPR", "I", money(total), "C", "ACH", "CCP", "01", "999999999", "DA", "123456")
        bpr += (PAYER_TIN, "", "01", "888888888", "DA", "654321", when)
    else:
        bpr = ("BPR", "H", "0", "C", "NON", *([""] * 11), when)
    body: Segments = [
        ("ST", "835", f"{set_number:04d}"),
        bpr,
        ("TRN", "1", payment.trace_number, PAYER_TIN),
        ("DTM", "405", when),
        ("N1", "PR", _clean(payment.payer_name) or "SANDBOX PAYER", "XV", _clean(payment.payer_id, 80) or "SANDBOX"),
        ("N3", "1 SANDBOX WAY"),
        ("N4", "TESTVILLE", "IL", "62701"),
        ("PER", "BL", "SANDBOX EDI", "TE", "8005550199"),
        ("N1", "PE", _clean(payment.payee_name) or "PAYEE", "XX", payment.payee_npi),
    ]
    for number, remitted in enumerate(payment.claims, start=1):
        claim = remitted.result
        body += [
            ("LX", str(number)),
            (
                "CLP",
                claim.claim_id,
                claim.status,
                money(claim.charge),
                money(claim.paid),
                money(claim.patient_responsibility),
                claim.filing_indicator if claim.filing_indicator in CLP06_CODES else "12",
                claim.payer_claim_number,
            ),
        ]
        body += [("CAS", a.group, a.reason, money(a.amount)) for a in claim.claim_adjustments]
        body.append(
            (
                "NM1",
                "QC",
                "1",
                _clean(remitted.patient_last) or "UNKNOWN",
                _clean(remitted.patient_first, 35),
                "",
                "",
                "",
                "MI",
                _clean(remitted.member_id, 80) or "UNKNOWN",
            )
        )
        dates = [line.date_of_service for line in claim.lines if line.date_of_service]
        if dates:
            body.append(("DTM", "232", min(dates).strftime("%Y%m%d")))
        for line in claim.lines:
            body.append(
                (
                    "SVC",
                    ":".join(["HC", line.procedure_code, *line.modifiers]),
                    money(line.charge),
                    money(line.paid),
                    "",
                    line.units,
                )
            )
            if line.date_of_service:
                body.append(("DTM", "472", line.date_of_service.strftime("%Y%m%d")))
            for group in dict.fromkeys(a.group for a in line.adjustments):
                triplets = [(a.reason, money(a.amount), "") for a in line.adjustments if a.group == group]
                body.append(("CAS", group, *[v for t in triplets for v in t]))
            if line.remarks:
                body += [("LQ", "HE", remark) for remark in line.remarks]
    if payment.forward_balance:
        fiscal_year_end = f"{payment.payment_date.year}1231"
        body.append(
            ("PLB", payment.payee_npi, fiscal_year_end, f"FB:{payment.trace_number}", money(payment.forward_balance))
        )
    return body


def write_835(payments: Sequence[Payment], stamp: Stamp, *, receiver: str) -> str:
    """One 835 file: a transaction set per payment, each balanced (line, claim and BPR02 = Σ CLP04)."""
    return interchange(
        stamp,
        receiver=receiver,
        functional_code="HP",
        version="005010X221A1",
        sets=[_payment_set(payment, number) for number, payment in enumerate(payments, start=1)],
        gs03=receiver,
    )
