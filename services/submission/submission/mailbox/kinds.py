"""What an inbound mailbox file is, read from its content (never its name): TA1, 999, 277CA, 277, 835, 271, report."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import Literal

from shared.x12 import Segment, X12Error, decode_interchange, tokenize

Kind = Literal["ta1", "999", "277ca", "277", "835", "271", "unrecognised", "report"]

# (ST01, GS08 without a trailing errata letter run) -> kind. 005010X231 without A1 is the 999's first release, still
# sent by some partners; every other pair is the HIPAA-named version exactly.
TRANSACTION_KINDS: dict[tuple[str, str], Kind] = {
    ("999", "005010X231A1"): "999",
    ("999", "005010X231"): "999",
    ("277", "005010X214"): "277ca",
    ("277", "005010X212"): "277",
    ("835", "005010X221A1"): "835",
    ("271", "005010X279A1"): "271",
}
MAX_ARCHIVE_MEMBERS = 200
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # an answer file is kilobytes; a larger member is refused, not inflated


@dataclass(frozen=True)
class InboundDocument:
    """One answer: a file, or one member of a zip archive, with what its content says it is.

    `kind` is `ta1` for an interchange that holds only a TA1; an interchange whose TA1 precedes functional groups
    takes the kind of its groups, with `carries_ta1` set so its TA1 is read as well. `unrecognised` is X12 this
    mailbox does not route (another version, mixed kinds, several interchanges); `report` is not X12 at all and is
    kept for a person. `reason` says why for both.
    """

    kind: Kind
    sha256: str
    size: int
    member: str | None = None  # the name inside the archive it came from, None for the file itself
    sender_id: str | None = None  # ISA06
    control_number: str | None = None  # ISA13
    carries_ta1: bool = False
    reason: str | None = None


def sha256_hex(content: bytes) -> str:
    """SHA-256 of the exact bytes, as hex: the identity of a file in the mailbox."""
    return hashlib.sha256(content).hexdigest()


def detect(content: bytes) -> list[InboundDocument]:
    """The documents a downloaded file holds: one for a plain file, one per member of a zip archive."""
    if zipfile.is_zipfile(io.BytesIO(content)):
        return _detect_archive(content)
    return [detect_document(content)]


def detect_document(content: bytes, member: str | None = None) -> InboundDocument:
    """The kind of one file's bytes, with its interchange sender (ISA06) and control number (ISA13)."""
    digest, size = sha256_hex(content), len(content)
    try:
        text = decode_interchange(content)
        if not text.lstrip(" \r\n\t").startswith("ISA"):
            return InboundDocument("report", digest, size, member, reason="the file does not begin with an ISA segment")
        _, segments = tokenize(text)
    except X12Error as error:
        return InboundDocument("report", digest, size, member, reason=f"not an X12 interchange: {error.reason}")
    isa = segments[0]
    sender, control = isa.element(6).strip(), isa.element(13).strip()
    kind, reason = _interchange_kind(segments)
    carries_ta1 = any(segment.tag == "TA1" for segment in segments)
    return InboundDocument(kind, digest, size, member, sender, control, carries_ta1, reason)


def _interchange_kind(segments: list[Segment]) -> tuple[Kind, str | None]:
    """The kind every transaction set of the interchange agrees on, `ta1` when it holds a TA1 and no set."""
    if sum(segment.tag == "ISA" for segment in segments) > 1:
        return "unrecognised", "the file holds more than one interchange"
    found: set[Kind] = set()
    unknown: list[str] = []
    version = ""
    for segment in segments:
        if segment.tag == "GS":
            version = segment.element(8).strip()
        elif segment.tag == "ST":
            pair = (segment.element(1).strip(), version)
            kind = TRANSACTION_KINDS.get(pair)
            if kind is None:
                unknown.append(f"{pair[0] or '?'} {pair[1] or '(no GS08)'}")
            else:
                found.add(kind)
    if unknown:
        return "unrecognised", f"transaction sets this mailbox does not route: {', '.join(sorted(set(unknown)))}"
    if len(found) > 1:
        return "unrecognised", f"one interchange mixes {', '.join(sorted(found))}"
    if found:
        return found.pop(), None
    if any(segment.tag == "TA1" for segment in segments):
        return "ta1", None
    return "unrecognised", "an interchange with neither a TA1 nor a transaction set"


def _detect_archive(content: bytes) -> list[InboundDocument]:
    """Each file member of a zip archive, detected on its own; an unreadable archive is a report."""
    digest = sha256_hex(content)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > MAX_ARCHIVE_MEMBERS:
                return [_unreadable(content, digest, f"more than {MAX_ARCHIVE_MEMBERS} members")]
            if any(info.file_size > MAX_MEMBER_BYTES for info in members):
                return [_unreadable(content, digest, f"a member larger than {MAX_MEMBER_BYTES} bytes")]
            documents = [detect_document(archive.read(info), member=info.filename) for info in members]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError) as error:
        return [_unreadable(content, digest, f"an unreadable zip archive ({error})")]
    return documents or [_unreadable(content, digest, "an empty zip archive")]


def _unreadable(content: bytes, digest: str, why: str) -> InboundDocument:
    return InboundDocument("report", digest, len(content), reason=f"kept for a person: {why}")
