"""The master data a visit is checked against (its practice, clinician and patient, the patient's coverages and
authorizations, the payers those name), read in one query."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Text, and_, bindparam, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.common import invalid
from intake.encounter_schemas import EncounterIn
from intake.models import master_records


@dataclass(frozen=True)
class VisitRecords:
    """The master data one visit needs: its practice, clinician and patient (None when missing), the patient's live
    coverages and authorizations (ordered by id), and the payers those coverages name."""

    practice: dict[str, Any] | None
    provider: dict[str, Any] | None
    patient: dict[str, Any] | None
    coverages: list[tuple[uuid.UUID, dict[str, Any]]]
    authorizations: list[tuple[uuid.UUID, dict[str, Any]]]
    payers: dict[uuid.UUID, dict[str, Any]]

    def required(self, body: EncounterIn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The practice, clinician and patient, or a 422 naming the first one not in the organization."""
        wanted = (
            ("practice", body.practice_id, "practice_id", self.practice),
            ("provider", body.provider_id, "provider_id", self.provider),
            ("patient", body.patient_id, "patient_id", self.patient),
        )
        found = []
        for entity_type, entity_id, field, record in wanted:
            if record is None:
                raise invalid(field, f"no {entity_type} {entity_id} in this organization")
            found.append(record)
        return found[0], found[1], found[2]


async def visit_records(session: AsyncSession, body: EncounterIn) -> VisitRecords:
    """Everything of the master data a visit is checked against, in one query (one round trip of a POST)."""
    rows = (await session.execute(_ordered_master_records(), master_parameters(body))).all()
    return visit_records_of(body, rows)


@functools.cache
def _ordered_master_records() -> Select[Any]:
    master = master_records_of_visit()
    return master.order_by(master.selected_columns.entity_id)


def master_parameters(body: EncounterIn) -> dict[str, Any]:
    """The parameters of `master_records_of_visit` for a visit."""
    return {
        "visit_practice_id": body.practice_id,
        "visit_provider_id": body.provider_id,
        "visit_patient_id": body.patient_id,
        "visit_patient_text": str(body.patient_id),
    }


@functools.cache
def master_records_of_visit() -> Select[Any]:
    """The query of the master records a visit is checked against: its practice, clinician and patient, the
    patient's live coverages and authorizations, and the payers those coverages name. Built once, with the
    parameters of `master_parameters`: every POST sends it."""
    record, coverage = master_records, master_records.alias("coverage")
    entity_id = record.c.entity_id.type
    patient_id = bindparam("visit_patient_text", type_=Text)
    payers_of_coverages = select(func.lower(coverage.c.attributes["payer_id"].astext)).where(
        coverage.c.entity_type == "coverage",
        coverage.c.deleted.is_(False),
        coverage.c.attributes.has_key("patient_id"),  # lets the planner use the index by patient
        coverage.c.attributes["patient_id"].astext == patient_id,
    )
    return select(record.c.entity_type, record.c.entity_id, record.c.attributes).where(
        record.c.deleted.is_(False),
        or_(
            *(
                and_(record.c.entity_type == entity_type, record.c.entity_id == bindparam(name, type_=entity_id))
                for entity_type, name in (
                    ("practice", "visit_practice_id"),
                    ("provider", "visit_provider_id"),
                    ("patient", "visit_patient_id"),
                )
            ),
            and_(
                record.c.entity_type.in_(("coverage", "authorization")),
                record.c.attributes.has_key("patient_id"),  # as attribute_equals: the index by patient
                record.c.attributes["patient_id"].astext == patient_id,
            ),
            and_(record.c.entity_type == "payer", cast(record.c.entity_id, Text).in_(payers_of_coverages)),
        ),
    )


def visit_records_of(body: EncounterIn, rows: Sequence[Any]) -> VisitRecords:
    """VisitRecords from the master-record rows (entity_type, entity_id, attributes) ordered by entity id."""
    found: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
    coverages, authorizations = [], []
    for row in rows:
        attributes = dict(row.attributes)
        found[(row.entity_type, row.entity_id)] = attributes
        if row.entity_type == "coverage":
            coverages.append((row.entity_id, attributes))
        elif row.entity_type == "authorization":
            authorizations.append((row.entity_id, attributes))
    return VisitRecords(
        practice=found.get(("practice", body.practice_id)),
        provider=found.get(("provider", body.provider_id)),
        patient=found.get(("patient", body.patient_id)),
        coverages=coverages,
        authorizations=authorizations,
        payers={entity_id: attributes for (kind, entity_id), attributes in found.items() if kind == "payer"},
    )
