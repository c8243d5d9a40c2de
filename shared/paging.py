"""Cursor pagination of a service's collections: a bounded page in a stable order and an opaque `next_cursor`.

The conventions are intake's and the other services': `limit` (default 50, at most 200), `cursor` = the previous
page's `next_cursor`, an answer `{"items": [...], "next_cursor": ...}` whose cursor is null on the last page. A
collection names its order (columns with their direction, the last one unique); the cursor carries the collection's
name and the last row's values of those columns, so a page never repeats or skips a row however many arrive
meanwhile, and a cursor of another collection (or an altered one) is refused with 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, false, or_

from shared.auth import Principal
from shared.problems import Problem, invalid_fields

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ItemT = TypeVar("ItemT")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (at most {MAX_LIMIT})")]
Cursor = Annotated[str | None, Query(max_length=1000, description="The next_cursor of the previous page")]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list; pass next_cursor back as `cursor` for the next page (null: this was the last)."""

    items: list[ItemT]
    next_cursor: str | None = None


def invalid_cursor() -> Problem:
    """The 422 for a cursor this list did not return."""
    return invalid_fields([("cursor", "is not a cursor this list returned")])


# How each kind of ordering column travels back from a cursor (JSON has no dates, instants, decimals or UUIDs).
_DECODERS: dict[type, Any] = {
    date: date.fromisoformat,
    datetime: datetime.fromisoformat,
    Decimal: Decimal,
    uuid.UUID: uuid.UUID,
    str: str,
    int: int,
}


@dataclass(frozen=True)
class Order:
    """The stable order of one collection: (column, descending) pairs, the last column unique."""

    collection: str
    keys: tuple[tuple[ColumnElement[Any], bool], ...]

    def apply(self, query: Select[Any], *, cursor: str | None, limit: int) -> Select[Any]:
        """The query in this order, after the cursor's row, with one row more than the page to tell whether another
        page follows."""
        query = query.order_by(*(column.desc() if descending else column.asc() for column, descending in self.keys))
        if cursor is not None:
            query = query.where(self._after(self._decode(cursor)))
        return query.limit(limit + 1)

    def page(self, rows: Sequence[Any], limit: int) -> tuple[Sequence[Any], str | None]:
        """The rows of the page and the cursor of the next one (None on the last page)."""
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]._mapping
        values = [last[column.key] for column, _ in self.keys]
        raw = orjson.dumps([self.collection, *values], default=str)  # asyncpg UUIDs are not stdlib ones
        return rows[:limit], base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, cursor: str) -> list[Any]:
        try:
            decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(decoded, list) or decoded[:1] != [self.collection] or len(decoded) != len(self.keys) + 1:
                raise invalid_cursor()
            return [
                _DECODERS[column.type.python_type](value)
                for value, (column, _) in zip(decoded[1:], self.keys, strict=True)
            ]
        except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, KeyError, InvalidOperation) as error:
            raise invalid_cursor() from error

    def _after(self, values: list[Any]) -> ColumnElement[bool]:
        """Rows strictly after the cursor's row in this order (the columns compared in turn)."""
        alternatives = []
        for index, (column, descending) in enumerate(self.keys):
            equal = [self.keys[i][0] == values[i] for i in range(index)]
            beyond = column < values[index] if descending else column > values[index]
            alternatives.append(and_(*equal, beyond))
        return or_(false(), *alternatives)


def visible_practices(column: ColumnElement[Any], principal: Principal) -> ColumnElement[bool] | None:
    """For a key limited to practices: rows of its practices or of none; None when the key sees every practice."""
    if not principal.practice_ids:
        return None
    return or_(column.is_(None), column.in_(sorted(principal.practice_ids)))


def practices_of(column: ColumnElement[Any], principal: Principal) -> list[ColumnElement[bool]]:
    """For a key limited to practices, the condition keeping rows of those practices (nothing otherwise)."""
    return [column.in_(sorted(principal.practice_ids))] if principal.practice_ids else []


def within(
    column: ColumnElement[Any], first: date | None, last: date | None, *, fields: tuple[str, str]
) -> list[ColumnElement[bool]]:
    """Conditions keeping a date column within an inclusive range (either end open); a 422 naming the first of
    `fields` (the range's query parameters) when the range is empty."""
    if first is not None and last is not None and first > last:
        raise invalid_fields([(fields[0], f"is after {fields[1]}")])
    return [*([column >= first] if first is not None else []), *([column <= last] if last is not None else [])]
