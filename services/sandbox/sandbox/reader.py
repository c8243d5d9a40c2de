"""Reads an 837P batch (on shared.x12) into what the sandbox acknowledges and adjudicates, with structural errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from shared.x12 import Segment, tokenize

IMPLEMENTATION_837P = "005010X222A1"
MAX_CLAIM_ID = 20


@dataclass(frozen=True)
class ElementError:
    """An IK4: element position, data element reference number and error code (1 missing, 5 too long, 7 invalid)."""

    position: int
    reference: str
    code: str


@dataclass
class StructuralError:
    """An IK3: segment id, its position in the transaction set, loop id and error code, with element errors."""

    segment_id: str
    position: int
    loop: str
    code: str
    elements: list[ElementError] = field(default_factory=list)


@dataclass
class ServiceLine:
    """A 2400 line: procedure, modifiers, charge, units, place of service and date of service."""

    procedure_code: str
    modifiers: list[str]
    charge: Decimal
    units: str
    date_of_service: date | None = None


@dataclass
class Claim837:
    """A 2300 claim with the names and ids around it."""

    claim_id: str
    charge: Decimal
    payer_id: str
    payer_name: str
    member_id: str
    patient_last: str
    patient_first: str
    billing_name: str
    billing_npi: str
    diagnoses: list[str] = field(default_factory=list)
    lines: list[ServiceLine] = field(default_factory=list)
    frequency_code: str = "1"
    authorization_number: str = ""
    replaces_payer_claim_number: str = ""
    rendering_npi: str = ""
    filing_indicator: str = ""  # SBR09 of the claim's subscriber loop

    @property
    def date_of_service(self) -> date | None:
        """The earliest line date of service."""
        dates = [line.date_of_service for line in self.lines if line.date_of_service]
        return min(dates) if dates else None


@dataclass
class TransactionSet:
    """One ST..SE: its control number, structural errors (IK5 R when any) and its claims."""

    control_number: str
    syntax_code: str | None = None
    errors: list[StructuralError] = field(default_factory=list)
    claims: list[Claim837] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when the set has neither a syntax problem nor a segment error."""
        return self.syntax_code is None and not self.errors


@dataclass
class Batch837:
    """An interchange: control numbers, sender, BHT04 business date and its transaction sets."""

    isa13: str
    sender_id: str
    gs02: str
    gs06: str
    gs08: str
    bht_reference: str = ""
    bht_date: date | None = None
    sets: list[TransactionSet] = field(default_factory=list)


def _date(value: str) -> date | None:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) == 8 else None
    except ValueError:
        return None


def _money(value: str) -> Decimal:
    try:
        return Decimal(value) if value else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def read_837(text: str) -> Batch837:
    """The batch's facts; raises shared.x12.X12Error when there is no readable interchange at all."""
    separators, segments = tokenize(text)
    isa = segments[0]
    gs = next((s for s in segments if s.tag == "GS"), Segment("GS"))
    batch = Batch837(
        isa13=isa.element(13),
        sender_id=isa.element(6).strip(),
        gs02=gs.element(2),
        gs06=gs.element(6),
        gs08=gs.element(8),
    )
    current: TransactionSet | None = None
    start = 0
    names: dict[str, Segment] = {}
    claim: Claim837 | None = None
    for segment in segments:
        tag = segment.tag
        if tag == "ST":
            current, start, claim = TransactionSet(segment.element(2)), segment.position, None
            batch.sets.append(current)
            if segment.element(1) != "837" or batch.gs08 != IMPLEMENTATION_837P:
                current.syntax_code = "1"
            continue
        if current is None:
            continue
        position = segment.position - start + 1
        if tag == "SE":
            if segment.element(2) != current.control_number:
                current.syntax_code = current.syntax_code or "3"
            elif segment.element(1) != str(position):
                current.syntax_code = current.syntax_code or "4"
            current = None
        elif tag == "BHT":
            batch.bht_reference, batch.bht_date = segment.element(3), _date(segment.element(4))
        elif tag == "NM1":
            names[segment.element(1)] = segment
            if segment.element(1) == "85":
                names["billing"] = segment
            if segment.element(1) == "82" and claim is not None:
                claim.rendering_npi = segment.element(9)
        elif tag == "HL" and segment.element(3) == "22":
            names.pop("QC", None)
            names.pop("SBR", None)
        elif tag == "SBR":
            names["SBR"] = segment
        elif tag == "CLM":
            claim = _start_claim(segment, names, current, position)
            if claim is not None and "SBR" in names:
                claim.filing_indicator = names["SBR"].element(9)
            facility = segment.components(5, separators.component)
            if claim is not None and len(facility) > 2 and facility[2]:
                claim.frequency_code = facility[2]
        elif claim is not None and tag == "REF" and segment.element(1) == "G1":
            claim.authorization_number = segment.element(2)
        elif claim is not None and tag == "REF" and segment.element(1) == "F8":
            claim.replaces_payer_claim_number = segment.element(2)
        elif claim is not None and tag == "HI":
            claim.diagnoses = [
                value.split(separators.component)[1]
                for value in segment.elements
                if separators.component in value and value.split(separators.component)[1]
            ]
        elif claim is not None and tag == "SV1":
            procedure = segment.components(1, separators.component)
            claim.lines.append(
                ServiceLine(
                    procedure_code=procedure[1] if len(procedure) > 1 else "",
                    modifiers=[m for m in procedure[2:] if m],
                    charge=_money(segment.element(2)),
                    units=segment.element(4) or "1",
                )
            )
        elif claim is not None and tag == "DTP" and segment.element(1) == "472" and claim.lines:
            claim.lines[-1].date_of_service = _date(segment.element(3)[:8])
    for open_set in batch.sets:
        if open_set is current:
            open_set.syntax_code = open_set.syntax_code or "2"
    return batch


def _start_claim(
    segment: Segment, names: dict[str, Segment], current: TransactionSet, position: int
) -> Claim837 | None:
    """A new claim from CLM with the payer, subscriber/patient and billing provider seen before it."""
    claim_id = segment.element(1)
    problem = None
    if not claim_id:
        problem = ElementError(1, "1028", "1")
    elif len(claim_id) > MAX_CLAIM_ID:
        problem = ElementError(1, "1028", "5")
    if problem is not None:
        current.errors.append(StructuralError("CLM", position, "2300", "8", [problem]))
        return None

    def name(code: str, number: int) -> str:
        found = names.get(code)
        return found.element(number) if found is not None else ""

    patient = "QC" if "QC" in names else "IL"
    claim = Claim837(
        claim_id=claim_id,
        charge=_money(segment.element(2)),
        payer_id=name("PR", 9),
        payer_name=name("PR", 3),
        member_id=name("IL", 9),
        patient_last=name(patient, 3),
        patient_first=name(patient, 4),
        billing_name=name("billing", 3),
        billing_npi=name("billing", 9),
    )
    current.claims.append(claim)
    return claim
