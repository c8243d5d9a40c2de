"""837P 005010X222A1 batch writer: one interchange, one transaction set, one billing-provider loop per practice."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.events.charge import ChargeFacts
from shared.events.reference import Address
from shared.x12 import Separators, render_segment

IMPLEMENTATION = "005010X222A1"
SEPARATORS = Separators(element="*", component=":", repetition="^", segment="~")
# PAT01 individual relationship codes of the 2000C loop (the subscriber's relationship to the patient's side).
PATIENT_RELATIONSHIP = {"spouse": "01", "child": "19", "other": "G8"}
_UNSAFE = re.compile(r"[*:^~\r\n]")
_NOT_X12 = re.compile(r"[^\x20-\x7e]")  # outside the basic and extended character sets: clearinghouses refuse it


@dataclass(frozen=True)
class Envelope837:
    """Interchange facts of one batch: control number, business date, sender and receiver."""

    control_number: int
    business_date: date
    time_hhmm: str
    sender_id: str
    receiver_id: str
    submitter_name: str
    receiver_name: str
    contact_phone: str = "8005550100"
    usage: str = "T"


@dataclass(frozen=True)
class BatchClaim:
    """One claim attempt to put in a batch: our claim id, frequency, the coded charge and the claim filing indicator
    (SBR09) of its payer."""

    claim_id: str
    frequency_code: str
    charge: ChargeFacts
    claim_filing_indicator: str
    payer_claim_number: str | None = None


def _clean(value: str | None, limit: int | None = None) -> str:
    """An element value in the X12 character sets without separator characters, upper-cased, trimmed to the
    element's maximum length: accented letters lose their accents (Zoë Núñez is ZOE NUNEZ), what has no ASCII
    letter to become goes."""
    ascii_text = _NOT_X12.sub("", unicodedata.normalize("NFKD", value or ""))
    text = " ".join(_UNSAFE.sub(" ", ascii_text).split()).upper()
    return text[:limit] if limit else text


def _money(amount: Decimal) -> str:
    """An amount as X12 writes it: no trailing zeros beyond cents, no exponent."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _address(address: Address) -> list[tuple[str, ...]]:
    n3: tuple[str, ...] = ("N3", _clean(address.line1, 55))
    if address.line2:
        n3 = (*n3, _clean(address.line2, 55))
    return [n3, ("N4", _clean(address.city, 30), _clean(address.state, 2), _digits(address.postal_code)[:9])]


def control_numbers(control_number: int) -> tuple[str, str, str]:
    """ISA13 (9 digits), GS06 and ST02 (at least 4 digits) for a batch control number."""
    return f"{control_number:09d}", str(control_number), f"{control_number:04d}"


def build_837p(envelope: Envelope837, claims: Sequence[BatchClaim]) -> str:
    """The 837P text of one batch; every claim gets its own subscriber loop under its practice's billing provider."""
    if not claims:
        raise ValueError("a batch needs at least one claim")
    isa13, gs06, st02 = control_numbers(envelope.control_number)
    ccyymmdd = envelope.business_date.strftime("%Y%m%d")
    body: list[tuple[str, ...]] = [
        ("ST", "837", st02, IMPLEMENTATION),
        ("BHT", "0019", "00", st02, ccyymmdd, envelope.time_hhmm, "CH"),
        ("NM1", "41", "2", _clean(envelope.submitter_name, 60), "", "", "", "", "46", _clean(envelope.sender_id, 80)),
        ("PER", "IC", _clean(envelope.submitter_name, 60), "TE", envelope.contact_phone),
        ("NM1", "40", "2", _clean(envelope.receiver_name, 60), "", "", "", "", "46", _clean(envelope.receiver_id, 80)),
    ]
    hl = 0
    by_practice: dict[str, list[BatchClaim]] = {}
    for claim in claims:
        by_practice.setdefault(str(claim.charge.practice.practice_id), []).append(claim)
    for practice_claims in by_practice.values():
        practice = practice_claims[0].charge.practice
        hl += 1
        billing_hl = hl
        body += [
            ("HL", str(billing_hl), "", "20", "1"),
            ("PRV", "BI", "PXC", _clean(practice.taxonomy)),
            ("NM1", "85", "2", _clean(practice.name, 60), "", "", "", "", "XX", practice.npi),
            *_address(practice.address),
            ("REF", "EI", _digits(practice.tin)),
        ]
        for claim in practice_claims:
            hl, segments = _claim_segments(claim, hl, billing_hl)
            body += segments
    body.append(("SE", str(len(body) + 1), st02))
    interchange = [
        (
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            _clean(envelope.sender_id).ljust(15)[:15],
            "ZZ",
            _clean(envelope.receiver_id).ljust(15)[:15],
            envelope.business_date.strftime("%y%m%d"),
            envelope.time_hhmm,
            SEPARATORS.repetition or "^",
            "00501",
            isa13,
            "0",
            envelope.usage,
            SEPARATORS.component,
        ),
        (
            "GS",
            "HC",
            _clean(envelope.sender_id),
            _clean(envelope.receiver_id),
            ccyymmdd,
            envelope.time_hhmm,
            gs06,
            "X",
            IMPLEMENTATION,
        ),
        *body,
        ("GE", "1", gs06),
        ("IEA", "1", isa13),
    ]
    return "\n".join(render_segment(*segment, separators=SEPARATORS) for segment in interchange) + "\n"


def _claim_segments(claim: BatchClaim, hl: int, billing_hl: int) -> tuple[int, list[tuple[str, ...]]]:
    """Loops 2000B (and 2000C), 2300, 2310B and 2400 of one claim."""
    charge = claim.charge
    coverage = charge.coverage
    if coverage is None:
        raise ValueError(f"claim {claim.claim_id} has no coverage to bill")
    patient = charge.patient
    dependent = coverage.relationship != "self" and coverage.subscriber is not None
    subscriber_hl = hl + 1
    segments: list[tuple[str, ...]] = [
        ("HL", str(subscriber_hl), str(billing_hl), "22", "1" if dependent else "0"),
        (
            "SBR",
            {"primary": "P", "secondary": "S", "tertiary": "T"}[coverage.priority],
            "" if dependent else "18",
            _clean(coverage.group_number, 50),
            "",
            "",
            "",
            "",
            "",
            claim.claim_filing_indicator,
        ),
    ]
    if dependent and coverage.subscriber is not None:
        person = coverage.subscriber
        segments += [
            (
                "NM1",
                "IL",
                "1",
                _clean(person.last_name, 60),
                _clean(person.first_name, 35),
                "",
                "",
                "",
                "MI",
                _clean(coverage.member_id, 80),
            ),
            *_address(person.address),
            ("DMG", "D8", person.birth_date.strftime("%Y%m%d"), person.sex),
        ]
    else:
        segments += [
            (
                "NM1",
                "IL",
                "1",
                _clean(patient.last_name, 60),
                _clean(patient.first_name, 35),
                "",
                "",
                "",
                "MI",
                _clean(coverage.member_id, 80),
            ),
            *_address(patient.address),
            ("DMG", "D8", patient.birth_date.strftime("%Y%m%d"), patient.sex),
        ]
    segments.append(
        ("NM1", "PR", "2", _clean(coverage.payer_name, 60), "", "", "", "", "PI", _clean(coverage.x12_payer_id, 80))
    )
    hl = subscriber_hl
    if dependent:
        hl += 1
        segments += [
            ("HL", str(hl), str(subscriber_hl), "23", "0"),
            ("PAT", PATIENT_RELATIONSHIP.get(coverage.relationship, "G8")),
            ("NM1", "QC", "1", _clean(patient.last_name, 60), _clean(patient.first_name, 35)),
            *_address(patient.address),
            ("DMG", "D8", patient.birth_date.strftime("%Y%m%d"), patient.sex),
        ]
    place = charge.lines[0].place_of_service if charge.lines else "11"
    total = sum((line.amount for line in charge.lines), Decimal("0"))
    segments.append(
        ("CLM", claim.claim_id, _money(total), "", "", f"{place}:B:{claim.frequency_code}", "Y", "A", "Y", "Y")
    )
    # 2300 REF order of the TR3: prior authorization (G1) before the payer claim control number (F8).
    if charge.authorization is not None and charge.authorization.number.strip():
        segments.append(("REF", "G1", _clean(charge.authorization.number, 50)))
    if claim.frequency_code in ("7", "8") and claim.payer_claim_number:
        segments.append(("REF", "F8", _clean(claim.payer_claim_number, 50)))
    diagnoses = [_clean(code).replace(".", "") for code in charge.diagnoses]
    segments.append(("HI", *[f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(diagnoses)]))
    provider = charge.provider
    segments += [
        (
            "NM1",
            "82",
            "1",
            _clean(provider.last_name, 60),
            _clean(provider.first_name, 35),
            "",
            "",
            "",
            "XX",
            provider.npi,
        ),
        ("PRV", "PE", "PXC", _clean(provider.taxonomy)),
    ]
    for number, line in enumerate(charge.lines, start=1):
        procedure = ":".join(["HC", _clean(line.procedure_code), *[_clean(m) for m in line.modifiers]])
        pointers = ":".join(str(p) for p in line.diagnosis_pointers)
        segments += [
            ("LX", str(number)),
            ("SV1", procedure, _money(line.amount), "UN", str(line.units), line.place_of_service, "", pointers),
            ("DTP", "472", "D8", charge.date_of_service.strftime("%Y%m%d")),
        ]
    return hl, segments
