"""Tolerant X12 tokenizer and writer: separators from the ISA, segments and elements, nothing payer-specific."""

from __future__ import annotations

from dataclasses import dataclass, field


class X12Error(ValueError):
    """Input that is not a readable X12 interchange; says what is wrong and where."""


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
    return separators, segments


def render_segment(tag: str, *elements: str, separators: Separators = Separators()) -> str:
    """One segment as text, trailing empty elements dropped, with its terminator."""
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return separators.element.join([tag, *values]) + separators.segment
