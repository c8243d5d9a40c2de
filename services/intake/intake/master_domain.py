"""Pure master-data rules: date ranges, payer profile dates, credentialing periods, coverages, authorizations, cursors.

Every rule answers a list of (field path, reason) pairs so the HTTP layer can name each bad field at once.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import date

from intake import domain

FieldProblem = tuple[str, str]


def ranges_overlap(first_from: date, first_to: date | None, second_from: date, second_to: date | None) -> bool:
    """Whether two inclusive date ranges share a day (an open end runs forever)."""
    first_ends_before = first_to is not None and first_to < second_from
    second_ends_before = second_to is not None and second_to < first_from
    return not (first_ends_before or second_ends_before)


def npi_problems(npi: str, field: str = "npi") -> list[FieldProblem]:
    """An NPI failing its check digit (Luhn with the 80840 prefix)."""
    if domain.npi_is_valid(npi):
        return []
    return [(field, "NPI check digit is wrong (Luhn with prefix 80840)")]


def date_order_problems(start: date, end: date | None, start_field: str, end_field: str) -> list[FieldProblem]:
    """An end date before its start date."""
    if end is not None and end < start:
        return [(end_field, f"must be on or after {start_field} ({start.isoformat()})")]
    return []


def profile_date_problems(effective_froms: Sequence[date]) -> list[FieldProblem]:
    """Payer profiles take effect one after another: two profiles may not start on the same day."""
    problems: list[FieldProblem] = []
    seen: dict[date, int] = {}
    for index, effective_from in enumerate(effective_froms):
        if effective_from in seen:
            problems.append(
                (
                    f"profiles.{index}.effective_from",
                    f"{effective_from.isoformat()} is already the start of profiles.{seen[effective_from]}",
                )
            )
        else:
            seen[effective_from] = index
    return problems


def credentialing_problems(periods: Sequence[tuple[uuid.UUID, date, date | None]]) -> list[FieldProblem]:
    """Enrollment periods (payer, from, to): each ordered, and no two overlapping for the same payer."""
    problems: list[FieldProblem] = []
    for index, (_, effective_from, effective_to) in enumerate(periods):
        problems += date_order_problems(
            effective_from,
            effective_to,
            f"credentialing.{index}.effective_from",
            f"credentialing.{index}.effective_to",
        )
    for index, (payer_id, effective_from, effective_to) in enumerate(periods):
        if effective_to is not None and effective_to < effective_from:
            continue
        for earlier in range(index):
            other_payer, other_from, other_to = periods[earlier]
            if other_payer == payer_id and ranges_overlap(effective_from, effective_to, other_from, other_to):
                problems.append(
                    (f"credentialing.{index}", f"overlaps credentialing.{earlier} with the same payer"),
                )
                break
    return problems


def coverage_problems(
    *, relationship: str, has_subscriber: bool, start_date: date, end_date: date | None
) -> list[FieldProblem]:
    """A dependent's coverage names its subscriber; plan dates are ordered."""
    problems: list[FieldProblem] = []
    if relationship != "self" and not has_subscriber:
        problems.append(("subscriber", f"is required when relationship is '{relationship}'"))
    problems += date_order_problems(start_date, end_date, "start_date", "end_date")
    return problems


def authorization_problems(
    *, units_approved: int, units_used: int, start_date: date, end_date: date
) -> list[FieldProblem]:
    """Units used stay within units approved; the authorization ends on or after it starts."""
    problems: list[FieldProblem] = []
    if units_used > units_approved:
        problems.append(("units_used", f"must not exceed units_approved ({units_approved})"))
    problems += date_order_problems(start_date, end_date, "start_date", "end_date")
    return problems


def encode_cursor(last_id: uuid.UUID) -> str:
    """An opaque page cursor: the last id of the page, URL-safe."""
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID | None:
    """The id a cursor stands for, or None when the cursor was not made by encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16:
        return None
    decoded = uuid.UUID(bytes=raw)
    return decoded if encode_cursor(decoded) == cursor else None


def usable_text(value: str) -> str:
    """Text that PostgreSQL can store: no NUL characters and no lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text") from error
    return value
