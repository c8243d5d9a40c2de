"""Cursor pagination every remittance collection shares: a bounded page in a stable order, an opaque `next_cursor`.

A collection names its order (columns with their direction, the last one unique); the cursor carries the last row's
values of those columns and the collection's name, so a page never repeats or skips a row however many arrive
meanwhile, and a cursor of another collection (or a forged one) is refused with 422 naming `cursor`.
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
from sqlalchemy import Column, ColumnElement, Select, and_, false, or_
from sqlalchemy.engine import Row

from shared.auth import Principal
from shared.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ItemT = TypeVar("ItemT")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (at most {MAX_LIMIT})")]
Cursor = Annotated[str | None, Query(max_length=1000, description="The next_cursor of the previous page")]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list; pass next_cursor back as `cursor` for the next page (null: this was the last)."""

    items: list[ItemT]
    next_cursor: str | None = None


def _invalid_cursor() -> Problem:
    reason = "is not a cursor this list returned"
    return Problem(
        422,
        "Request is invalid",
        f"cursor: {reason}",
        errors=[{"field": "cursor", "pointer": "/cursor", "reason": reason}],
        problem_type="urn:claimflow:problem:validation",
    )


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _from_json(value: Any, kind: type) -> Any:
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind in (Decimal, uuid.UUID, int, str):
        return kind(value)
    raise TypeError(kind)


@dataclass(frozen=True)
class Order:
    """The stable order of one collection: (column, descending) pairs, the last column unique."""

    collection: str
    keys: tuple[tuple[Column[Any], bool], ...]

    def apply(self, query: Select[Any], *, cursor: str | None, limit: int) -> Select[Any]:
        """The query ordered, after the cursor's row, one row more than the page to tell whether another follows."""
        query = query.order_by(*(column.desc() if descending else column.asc() for column, descending in self.keys))
        if cursor is not None:
            query = query.where(self._after(self._decode(cursor)))
        return query.limit(limit + 1)

    def page(self, rows: Sequence[Row[Any]], limit: int) -> tuple[Sequence[Row[Any]], str | None]:
        """The rows of the page and the cursor of the next one (None on the last page)."""
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        values = [_to_json(getattr(last, column.name)) for column, _ in self.keys]
        raw = orjson.dumps([self.collection, *values])
        return rows[:limit], base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, cursor: str) -> list[Any]:
        try:
            decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(decoded, list) or decoded[:1] != [self.collection] or len(decoded) != len(self.keys) + 1:
                raise _invalid_cursor()
            return [
                _from_json(value, column.type.python_type)
                for value, (column, _) in zip(decoded[1:], self.keys, strict=True)
            ]
        except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, InvalidOperation) as error:
            raise _invalid_cursor() from error

    def _after(self, values: list[Any]) -> ColumnElement[bool]:
        """Rows strictly after the cursor's row in this order (columns compared in turn)."""
        alternatives = []
        for index, (column, descending) in enumerate(self.keys):
            equal = [self.keys[i][0] == values[i] for i in range(index)]
            beyond = column < values[index] if descending else column > values[index]
            alternatives.append(and_(*equal, beyond))
        return or_(false(), *alternatives)


def visible_practices(column: Column[Any], principal: Principal) -> ColumnElement[bool] | None:
    """For a key limited to practices: rows of its practices or of none; None when the key sees every practice."""
    if not principal.practice_ids:
        return None
    return or_(column.is_(None), column.in_(sorted(principal.practice_ids)))
