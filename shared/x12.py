"""Tolerant X12 tokenizer and writer: separators from the ISA, segments and elements, nothing payer-specific.

Every X12 body a service accepts goes through `decode_interchange` first (its bytes against the X12 character sets)
and may then check its control envelope with `check_envelope` (trailers present, counts that count).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The X12 basic character set (upper-case letters, digits, space, ! " & ' ( ) * + , - . / : ; ? =) and the extended
# set of 005010 (lower-case letters, % @ [ ] _ { } \ | < > ~ ^ ` # $) together are exactly printable ASCII.
X12_CHARACTERS = bytes(range(0x20, 0x7F))
_BYTE_ORDER_MARKS = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\xef\xbb\xbf", "UTF-8"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
)
_WIDE_ISA = (
    (b"I\x00\x00\x00S\x00\x00\x00A", "UTF-32 (little-endian)"),
    (b"\x00\x00\x00I\x00\x00\x00S", "UTF-32 (big-endian)"),
    (b"I\x00S\x00A\x00", "UTF-16 (little-endian)"),
    (b"\x00I\x00S\x00A", "UTF-16 (big-endian)"),
)
_EBCDIC_ISA = b"\xc9\xe2\xc1"


class X12Error(ValueError):
    """Input that is not a readable X12 interchange; says what is wrong and where."""

    def __init__(self, reason: str, where: str = "interchange") -> None:
        super().__init__(reason)
        self.reason = reason
        self.where = where


class X12EncodingError(X12Error):
    """A body in an encoding other than ASCII (UTF-16 or UTF-32, a byte-order mark, EBCDIC)."""


class X12ByteError(X12Error):
    """A byte outside the X12 character sets that is not a delimiter the ISA declares; names its offset."""

    def __init__(self, offset: int, byte: int, reason: str) -> None:
        super().__init__(f"byte 0x{byte:02X} at offset {offset} {reason}", f"byte offset {offset}")
        self.offset = offset
        self.byte = byte


def decode_interchange(raw: bytes) -> str:
    """The text of an X12 body whose bytes are all X12: characters of the basic and extended sets, the delimiters its
    ISA declares, and CR/LF next to a segment terminator. Raises X12EncodingError for a body that is not ASCII
    (UTF-16, UTF-32, a byte-order mark, EBCDIC) and X12ByteError naming the offset of the first other byte."""
    _refuse_foreign_encoding(raw)
    start = raw.find(b"ISA")
    if start < 0:
        raise X12Error("no ISA segment: not an X12 interchange")
    text = raw.decode("latin-1")  # one character per byte: offsets in the text are offsets in the body
    if start + 3 < len(raw) and not _usable_delimiter(raw[start + 3]):
        raise X12ByteError(
            start + 3, raw[start + 3], "is declared by the ISA as its element separator: not a delimiter"
        )
    separators = detect_separators(text)
    declared = {separators.element, separators.component, separators.segment}
    if separators.repetition:
        declared.add(separators.repetition)
    after_isa16 = _after_isa16(text, start, separators.element)
    if after_isa16 is not None:
        declared.add(after_isa16)
    for delimiter in sorted(declared):
        if not _usable_delimiter(ord(delimiter)):
            offset = text.find(delimiter, start)
            raise X12ByteError(offset, ord(delimiter), "is declared by the ISA as a delimiter: not a delimiter")
    allowed = "".join(sorted(set(X12_CHARACTERS.decode("ascii")) | declared | {"\r", "\n"}))
    outside = re.search(f"[^{re.escape(allowed)}]", text)
    if outside is not None:
        offset = outside.start()
        raise X12ByteError(offset, ord(text[offset]), "is outside the X12 basic and extended character sets")
    if "\r" not in declared or "\n" not in declared:
        stray = _stray_line_break(text, separators.segment, declared)
        if stray is not None:
            raise X12ByteError(
                stray, ord(text[stray]), "is a line break inside a segment (CR/LF may only follow a segment terminator)"
            )
    return text


def _refuse_foreign_encoding(raw: bytes) -> None:
    """Refuse a body whose encoding is not ASCII-based, saying which encoding it looks like."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            raise X12EncodingError(
                f"the body starts with a {encoding} byte-order mark: X12 interchanges are ASCII text; "
                "send the file's bytes as ASCII, without a byte-order mark",
                "byte offset 0",
            )
    head = raw.lstrip(b" \r\n")[:12]
    for pattern, encoding in _WIDE_ISA:
        if head.startswith(pattern):
            raise X12EncodingError(
                f"the body is {encoding} text: X12 interchanges are ASCII text; send the file's bytes as ASCII",
                "byte offset 0",
            )
    if head.startswith(_EBCDIC_ISA):
        raise X12EncodingError(
            "the body is EBCDIC text: X12 interchanges here are ASCII text; convert the file to ASCII", "byte offset 0"
        )


def _usable_delimiter(byte: int) -> bool:
    """A delimiter is one ASCII byte that is neither NUL, a letter, a digit nor a space."""
    return 0 < byte < 0x80 and not chr(byte).isalnum() and byte != 0x20


def _after_isa16(text: str, start: int, element: str) -> str | None:
    """The character right after ISA16: what the ISA declares as segment terminator (a tolerant reader may find the
    real terminator a little later, as in files that put a newline there and the terminator before each segment)."""
    position = start + 3
    for _ in range(15):
        position = text.find(element, position + 1)
        if position < 0:
            return None
    return text[position + 2] if position + 2 < len(text) else None


def _stray_line_break(text: str, terminator: str, declared: set[str]) -> int | None:
    """Offset of a CR or LF that is not next to a segment terminator (spaces around it aside), else None."""
    breaks = "".join(c for c in "\r\n" if c not in declared)
    edge = re.escape(terminator + "\r\n ")
    found = re.search(f"(?<=[^{edge}])[ ]*[{breaks}][\r\n ]*(?=[^{edge}])", text)
    if found is None:
        return None
    return found.start() + len(found.group()) - len(found.group().lstrip(" "))


@dataclass(frozen=True)
class Separators:
    """Delimiters of an interchange, read from its ISA segment."""

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"


@dataclass
class Segment:
    """One segment: its tag, its elements (element 1 at index 0) and its position in the file (0-based)."""

    tag: str
    elements: list[str] = field(default_factory=list)
    position: int = 0
    terminated: bool = True  # False for a last segment that the file cuts off before its terminator

    def element(self, number: int) -> str:
        """Element by its X12 number (1-based); empty when absent."""
        return self.elements[number - 1] if 0 < number <= len(self.elements) else ""

    def components(self, number: int, separator: str) -> list[str]:
        """Components of a composite element."""
        value = self.element(number)
        return value.split(separator) if value else []


def detect_separators(text: str) -> Separators:
    """Read the separators from the ISA: element after 'ISA', component in ISA16, segment after it.

    Tolerates an ISA that is not fixed width by counting element separators instead of columns.
    """
    start = text.find("ISA")
    if start < 0:
        raise X12Error("no ISA segment: not an X12 interchange")
    if len(text) < start + 4:
        raise X12Error("ISA segment is truncated")
    element = text[start + 3]
    position = start + 3
    for _ in range(16):
        position = text.find(element, position + 1) if _ < 15 else position
        if position < 0:
            raise X12Error("ISA segment has fewer than 16 elements")
    # position now at the separator before ISA16; ISA16 is one character, the segment terminator follows.
    component = text[position + 1 : position + 2]
    terminator = _segment_terminator(text, position + 2)
    if not component or not terminator:
        raise X12Error("ISA segment is truncated before its segment terminator")
    isa_elements = text[start : position + 2].split(element)
    repetition = isa_elements[11] if len(isa_elements) > 11 and len(isa_elements[11]) == 1 else None
    if repetition is not None and (repetition.isalnum() or repetition in (element, component, terminator)):
        repetition = None
    return Separators(element=element, component=component, repetition=repetition, segment=terminator)


def _segment_terminator(text: str, start: int) -> str:
    """The terminator after ISA16: the printable character between ISA16 and the next segment id, else a newline.

    Real files put CR/LF before or after the terminator ("~\n", "\r\n~"), or use a bare newline.
    """
    gap = ""
    for character in text[start:]:
        if character.isalnum():
            break
        gap += character
        if len(gap) > 8:
            break
    printable = gap.strip(" \r\n\t")
    if printable:
        return printable[0]
    if "\n" in gap or "\r" in gap:
        return "\n"
    return text[start : start + 1]


def tokenize(text: str) -> tuple[Separators, list[Segment]]:
    """Split an interchange into segments; CR/LF around terminators and surrounding whitespace are ignored."""
    separators = detect_separators(text)
    body = text[text.find("ISA") :]
    raw_segments = body.split(separators.segment)
    segments: list[Segment] = []
    for raw in raw_segments:
        cleaned = raw.strip("\r\n\t ")
        if not cleaned:
            continue
        parts = cleaned.split(separators.element)
        tag = parts[0].strip()
        if not tag.isalnum() or len(tag) > 3:
            raise X12Error(f"segment {len(segments) + 1}: '{tag[:10]}' is not a segment id")
        segments.append(Segment(tag=tag, elements=parts[1:], position=len(segments)))
    tail = raw_segments[-1]
    if segments and tail.strip("\r\n\t ") and not tail.rstrip(" \t").endswith(("\n", "\r")):
        segments[-1].terminated = False  # a line break ends the last segment of files laid out as '\n~SEG'
    return separators, segments


def render_segment(tag: str, *elements: str, separators: Separators = Separators()) -> str:
    """One segment as text, trailing empty elements dropped, with its terminator."""
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return separators.element.join([tag, *values]) + separators.segment


def check_envelope(segments: list[Segment]) -> list[str]:
    """Refuse an interchange whose control trailers are missing or do not count what they close (a truncated or
    spliced file): every ST closed by an SE whose SE01 counts its segments, every GS by a GE counting its transaction
    sets, every ISA by an IEA counting its groups. Control numbers that do not repeat their header (SE02, GE02,
    IEA02) do not lose anything and are returned as warnings."""
    warnings: list[str] = []
    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    groups = sets = 0
    for segment in segments:
        tag = segment.tag
        if st is not None and tag not in ("SE", "ST", "GE", "GS", "IEA", "ISA"):
            continue
        if tag == "ISA":
            _open(isa, segment, "the interchange", "IEA")
            isa, groups = segment, 0
        elif tag == "GS":
            _need(isa, segment, "ISA")
            _open(gs, segment, "the functional group", "GE")
            _open(st, segment, "the transaction set", "SE")
            gs, sets = segment, 0
            groups += 1
        elif tag == "ST":
            _need(gs, segment, "GS")
            _open(st, segment, "the transaction set", "SE")
            st = segment
            sets += 1
        elif tag == "SE":
            header = _need(st, segment, "ST")
            _count(segment, segment.position - header.position + 1, "segments", "the transaction set")
            if segment.element(2).strip() != header.element(2).strip():
                warnings.append(
                    f"{_where(segment)}: SE02 '{segment.element(2)}' does not repeat ST02 '{header.element(2)}'"
                )
            st = None
        elif tag == "GE":
            _open(st, segment, "the transaction set", "SE")
            header = _need(gs, segment, "GS")
            _count(segment, sets, "transaction sets", "the functional group")
            if segment.element(2).strip().lstrip("0") != header.element(6).strip().lstrip("0"):
                warnings.append(
                    f"{_where(segment)}: GE02 '{segment.element(2)}' does not repeat GS06 '{header.element(6)}'"
                )
            gs = None
        elif tag == "IEA":
            _open(st, segment, "the transaction set", "SE")
            _open(gs, segment, "the functional group", "GE")
            header = _need(isa, segment, "ISA")
            _count(segment, groups, "functional groups", "the interchange")
            if segment.element(2).strip() != header.element(13).strip():
                if not segment.terminated:
                    raise X12Error(
                        f"the file ends inside {_where(segment)}, before its terminator, and IEA02 "
                        f"'{segment.element(2)}' does not repeat ISA13 '{header.element(13)}': "
                        "the interchange is incomplete (truncated?)",
                        _where(segment),
                    )
                warnings.append(
                    f"{_where(segment)}: IEA02 '{segment.element(2)}' does not repeat ISA13 '{header.element(13)}'"
                )
            isa = None
        elif isa is None:
            raise X12Error(
                f"{tag} after the interchange's IEA: the file holds more than the interchange", _where(segment)
            )
    unclosed = [(header, trailer) for header, trailer in ((st, "SE"), (gs, "GE"), (isa, "IEA")) if header]
    if unclosed and segments:
        last, (innermost, _) = segments[-1], unclosed[0]
        missing = ", ".join(trailer for _, trailer in unclosed)
        raise X12Error(
            f"the file ends at {_where(last)} without {missing} ({_where(innermost)} is never closed): "
            "the interchange is incomplete (truncated?)",
            _where(last),
        )
    return warnings


def _where(segment: Segment) -> str:
    return f"segment {segment.position + 1} ({segment.tag})"


def _open(header: Segment | None, segment: Segment, what: str, trailer: str) -> None:
    """Refuse a segment that starts or closes something while an earlier header still waits for its trailer."""
    if header is not None:
        raise X12Error(
            f"{what} begun at {_where(header)} has no {trailer}: {_where(segment)} comes before it", _where(segment)
        )


def _need(header: Segment | None, segment: Segment, opener: str) -> Segment:
    """The header a trailer (or a nested header) belongs to; refuse one that has none."""
    if header is None:
        raise X12Error(f"{segment.tag} without {opener}", _where(segment))
    return header


def _count(trailer: Segment, actual: int, unit: str, what: str) -> None:
    """Refuse a trailer whose count element does not count what it closes."""
    declared = trailer.element(1).strip()
    if not declared.isdigit() or int(declared) != actual:
        raise X12Error(
            f"{trailer.tag}01 says {declared or 'nothing'} {unit} but {what} has {actual}: "
            "the file is incomplete or was put together from pieces",
            _where(trailer),
        )
