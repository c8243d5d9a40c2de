"""The business clock: the date business facts are about, the wall clock unless set for a demo or test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class BusinessClock:
    """Gives today's business date; settable and advanceable where the deployment allows it."""

    def __init__(self, *, settable: bool = False, fixed: date | None = None) -> None:
        self.settable = settable
        self._fixed = fixed

    def today(self) -> date:
        """The current business date."""
        return self._fixed if self._fixed is not None else datetime.now(UTC).date()

    def set(self, business_date: date | None) -> None:
        """Pin the business date (None returns to the wall clock)."""
        if not self.settable:
            raise PermissionError("the business clock is the wall clock in this deployment")
        self._fixed = business_date

    def advance(self, days: int) -> date:
        """Move the pinned business date forward by whole days."""
        self.set(self.today() + timedelta(days=days))
        return self.today()


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days (Monday to Friday) after `start`."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC (for `time` attributes, never for business dates)."""
    return datetime.now(UTC)
