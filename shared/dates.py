"""The calendar date of every contract (requests, query parameters, event payloads): ISO text within sane bounds.

Pydantic's own `date` reads a number, or a numeric string, as seconds since 1970 (`as_of=0` is 1970-01-01) and takes
any year from 1 to 9999 (9999-12-31 is stored by PostgreSQL as `infinity` and breaks every consumer after it). No
billing date is before 1900 or after 2100, and a date is written YYYY-MM-DD. Event payloads use the same type, so
nothing downstream can receive a date the front door would refuse.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def in_bounds(day: date) -> bool:
    """Whether a date lies within the bounds every contract keeps (X12 readers refuse the others too)."""
    return EARLIEST <= day <= LATEST


def calendar_date(value: Any) -> date:
    """A date from ISO text (YYYY-MM-DD) or a date, refused outside 1900-01-01..2100-12-31."""
    if isinstance(value, datetime):
        raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD, without a time")
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError as error:
            raise PydanticCustomError("date_format", "not a calendar date: {why}", {"why": str(error)}) from None
    else:
        raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD (a number is not a date)")
    if not in_bounds(parsed):
        raise PydanticCustomError(
            "date_range",
            "a date must lie between {earliest} and {latest}",
            {"earliest": str(EARLIEST), "latest": str(LATEST)},
        )
    return parsed


CalendarDate = Annotated[date, BeforeValidator(calendar_date)]
