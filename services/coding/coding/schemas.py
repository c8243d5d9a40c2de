"""HTTP contract of the coding service."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class ChargeView(BaseModel):
    """A charge as billing staff see it, with the rules behind each line."""

    charge_id: str
    encounter_id: uuid.UUID | None
    practice_id: uuid.UUID
    status: str
    date_of_service: date
    charge_posted_date: date
    program: str
    total_amount: Decimal
    lines: list[dict[str, Any]]
    hold_reasons: list[dict[str, Any]]
