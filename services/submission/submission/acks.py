"""Readers of the clearinghouse acknowledgements: 999 (005010X231A1) and 277CA (005010X214), on shared.x12."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from shared.dates import in_bounds
from shared.events.claim import is_claim_id
from shared.x12 import Segment, check_envelope, tokenize

Outcome = Literal["accepted", "accepted_with_errors", "rejected", "received"]

# IK5/AK9 codes (DOMAIN.md section 7); P (partly accepted) only appears in AK9 for the group.
ACK_999_OUTCOMES: dict[str, Outcome] = {
    "A": "accepted",
    "E": "accepted_with_errors",
    "P": "accepted_with_errors",
    "R": "rejected",
    "M": "rejected",
    "W": "rejected",
    "X": "rejected",
}
# STC01-1 claim status categories of the 277CA.
CATEGORY_OUTCOMES: dict[str, Outcome] = {
    "A1": "received",
    "A2": "accepted",
    "A5": "accepted",
    "A3": "rejected",
    "A4": "rejected",
    "A6": "rejected",
    "A7": "rejected",
    "A8": "rejected",
}
CATEGORY_MEANINGS = {
    "A1": "received by the clearinghouse",
    "A2": "accepted into adjudication",
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A5": "accepted and split",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for relational field errors",
}
IK5_MEANINGS = {
    "1": "transaction set not supported",
    "2": "trailer missing",
    "3": "control numbers of header and trailer do not match",
    "4": "number of included segments does not match the count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
}


class AcknowledgementError(ValueError):
    """An acknowledgement file that cannot be read; says what is missing."""


@dataclass(frozen=True)
class SegmentError:
    """An IK3 (segment) error with its IK4 element errors, as 'IK3 NM1 at 17: code 1' style facts."""

    segment_id: str
    position: str
    loop: str
    code: str
    element_errors: tuple[tuple[str, str, str], ...] = ()  # (element position, reference number, code)

    def describe(self) -> str:
        """A plain-language line for a work queue."""
        text = f"segment {self.segment_id} at position {self.position} has an error (IK3 code {self.code})"
        for position, _, code in self.element_errors:
            text += f"; element {position} error code {code}"
        return text


@dataclass(frozen=True)
class TransactionSetAck:
    """IK5 outcome of one acknowledged transaction set (AK2), with its segment errors."""

    set_id: str
    control_number: str
    code: str
    syntax_codes: tuple[str, ...] = ()
    errors: tuple[SegmentError, ...] = ()

    @property
    def outcome(self) -> Outcome:
        """accepted, accepted_with_errors or rejected."""
        return ACK_999_OUTCOMES.get(self.code, "rejected")

    def reason(self) -> str | None:
        """Why the set was rejected or noted, in plain words; None when it was simply accepted."""
        if self.code == "A" and not self.errors:
            return None
        parts = [IK5_MEANINGS.get(code, f"syntax error {code}") for code in self.syntax_codes]
        parts += [error.describe() for error in self.errors]
        return f"999 {self.code}: " + ("; ".join(parts) if parts else "transaction set not accepted")


@dataclass(frozen=True)
class FunctionalAck:
    """One 999 transaction set: the acknowledged group, its AK9 code and each set's IK5."""

    group_control_number: str
    group_code: str
    acknowledged_date: date | None
    sets: tuple[TransactionSetAck, ...]

    @property
    def group_outcome(self) -> Outcome:
        """The AK9 outcome of the whole group."""
        return ACK_999_OUTCOMES.get(self.group_code, "rejected")


@dataclass
class ClaimStatus:
    """The 277CA status of one claim (patient-level HL with TRN*2 = our claim id)."""

    claim_id: str
    category: str = ""
    status_code: str = ""
    entity_code: str = ""
    status_date: date | None = None
    payer_claim_number: str | None = None
    free_text: str = ""
    extra_statuses: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        """received, accepted or rejected."""
        return CATEGORY_OUTCOMES.get(self.category, "rejected")

    def reason(self) -> str | None:
        """The status in plain words for the rejections queue; None for a plain acceptance."""
        if self.outcome == "accepted" and not self.free_text:
            return None
        meaning = CATEGORY_MEANINGS.get(self.category, "unknown claim status category")
        detail = f"277CA {self.category}: {meaning}"
        if self.status_code:
            detail += f" (status code {self.status_code}" + (
                f", entity {self.entity_code})" if self.entity_code else ")"
            )
        if self.free_text:
            detail += f": {self.free_text}"
        return detail


@dataclass(frozen=True)
class ClaimAcknowledgement:
    """A 277CA file: its creation date and the status of every claim it names."""

    file_date: date | None
    claims: tuple[ClaimStatus, ...]


def _date(value: str) -> date | None:
    """A CCYYMMDD (or YYMMDD) date, None when absent, not a calendar date or out of every contract's bounds."""
    try:
        if len(value) == 8 and value.isdigit():
            day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        elif len(value) == 6 and value.isdigit():
            day = date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
        else:
            return None
    except ValueError:
        return None
    return day if in_bounds(day) else None


def parse_999(text: str) -> list[FunctionalAck]:
    """Every 999 transaction set of a file, with the IK5 of each acknowledged set; a truncated file (trailers missing
    or miscounting) is refused whole, never read in part."""
    separators, segments = tokenize(text)
    check_envelope(segments)
    acks: list[FunctionalAck] = []
    group_date: date | None = None
    group_control = ""
    sets: list[TransactionSetAck] = []
    current: dict[str, object] | None = None
    errors: list[SegmentError] = []
    in_999 = False

    def close_set(code: str, syntax: tuple[str, ...]) -> None:
        nonlocal current, errors
        if current is not None:
            sets.append(
                TransactionSetAck(
                    set_id=str(current["set_id"]),
                    control_number=str(current["control"]),
                    code=code,
                    syntax_codes=syntax,
                    errors=tuple(errors),
                )
            )
        current, errors = None, []

    for segment in segments:
        tag = segment.tag
        if tag == "GS":
            group_date = _date(segment.element(4))
        elif tag == "ST":
            in_999 = segment.element(1) == "999"
            sets, group_control, current, errors = [], "", None, []
        elif not in_999:
            continue
        elif tag == "AK1":
            group_control = segment.element(2)
        elif tag == "AK2":
            current = {"set_id": segment.element(1), "control": segment.element(2)}
            errors = []
        elif tag == "IK3":
            errors.append(SegmentError(segment.element(1), segment.element(2), segment.element(3), segment.element(4)))
        elif tag == "IK4" and errors:
            last = errors[-1]
            position = segment.element(1).split(separators.component)[0]
            element = (position, segment.element(2), segment.element(3))
            errors[-1] = SegmentError(
                last.segment_id, last.position, last.loop, last.code, (*last.element_errors, element)
            )
        elif tag == "IK5":
            close_set(segment.element(1), tuple(v for v in segment.elements[1:] if v))
        elif tag == "AK9":
            acks.append(FunctionalAck(group_control, segment.element(1), group_date, tuple(sets)))
            in_999 = False
    if not acks:
        raise AcknowledgementError("no 999 transaction set with an AK9 found")
    return acks


RECEIVER_LEVELS = ("20", "21")  # information source and receiver: their TRN*2 is the batch trace, not a claim


def parse_277ca(text: str) -> ClaimAcknowledgement:
    """Claim-level statuses of a 277CA: each patient HL's TRN*2 (our claim id) with its first STC; a truncated file is
    refused whole, as a 999 is."""
    separators, segments = tokenize(text)
    check_envelope(segments)
    file_date: date | None = None
    level = ""
    claims: list[ClaimStatus] = []
    current: ClaimStatus | None = None
    found_277 = False
    for segment in segments:
        tag = segment.tag
        if tag == "ST":
            found_277 = found_277 or segment.element(1) == "277"
        elif tag == "BHT":
            file_date = _date(segment.element(4)) or file_date
        elif tag == "HL":
            level, current = segment.element(3), None
        elif (
            tag == "TRN"
            and segment.element(1) == "2"
            and (level not in RECEIVER_LEVELS or is_claim_id(segment.element(2)))
        ):
            # A claim (patient or dependent loop). Also read when its HL is missing or garbled: a claim status is
            # never dropped because its loop header was damaged.
            current = ClaimStatus(claim_id=segment.element(2))
            claims.append(current)
        elif tag == "STC" and current is not None:
            _apply_status(current, segment, separators.component)
        elif tag == "REF" and current is not None and segment.element(1) == "1K":
            current.payer_claim_number = segment.element(2) or None
    if not found_277:
        raise AcknowledgementError("no 277 transaction set found")
    return ClaimAcknowledgement(file_date=file_date, claims=tuple(claims))


def _apply_status(claim: ClaimStatus, segment: Segment, component: str) -> None:
    """Record an STC: the first one is the claim's status, later ones are kept as extra detail."""
    parts = _composite(segment.element(1), component)
    if claim.category:
        claim.extra_statuses.append(":".join(parts))
        return
    claim.category = parts[0] if parts else ""
    claim.status_code = parts[1] if len(parts) > 1 else ""
    claim.entity_code = parts[2] if len(parts) > 2 else ""
    claim.status_date = _date(segment.element(2))
    claim.free_text = segment.element(12)


def _composite(value: str, component: str) -> list[str]:
    """Components of a composite, tolerating a file that uses another separator than ISA16 for it."""
    if component in value:
        return value.split(component)
    for other in (":", "|", ">", "^"):
        if other in value:
            return value.split(other)
    return [value] if value else []
