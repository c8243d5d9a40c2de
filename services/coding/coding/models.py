"""Tables of the coding schema."""

from sqlalchemy import Column, Date, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.infra_tables import infra_tables

metadata = MetaData(schema="coding")
infra = infra_tables(metadata)

charges = Table(
    "charges",
    metadata,
    Column("charge_id", Text, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", UUID(as_uuid=True), nullable=False),
    Column("encounter_id", UUID(as_uuid=True)),
    Column("status", Text, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("charge_posted_date", Date, nullable=False),
    Column("program", Text, nullable=False),
    Column("total_amount", Numeric(12, 2), nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("hold_reasons", JSONB, nullable=False),
    Column("source_event_id", Text, nullable=False),
)
