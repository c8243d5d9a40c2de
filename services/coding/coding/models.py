"""Tables of the coding schema."""

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.idempotency import idempotency_table
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
    Column("patient_id", UUID(as_uuid=True)),
    Column("provider_id", UUID(as_uuid=True)),
    Column("provider_taxonomy", Text),
    Column("revision", Integer, nullable=False, default=1),
    Column("amendment_number", Integer, nullable=False, default=0),
    Column("review_sampled", Boolean, nullable=False, default=False),
    Column("notes", JSONB, nullable=False, default=list),
    Column("facts", JSONB),
    Column("resolution", JSONB),
    Column("care_management_month", Date),
    Column("updated_at", DateTime(timezone=True)),
)

care_management_minutes = Table(
    "care_management_minutes",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("encounter_id", UUID(as_uuid=True), primary_key=True),
    Column("patient_id", UUID(as_uuid=True), nullable=False),
    Column("practice_id", UUID(as_uuid=True), nullable=False),
    Column("month", Date, nullable=False),
    Column("model", Text, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("amendment_number", Integer, nullable=False, default=0),
)

care_management_months = Table(
    "care_management_months",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("patient_id", UUID(as_uuid=True), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("practice_id", UUID(as_uuid=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("charge_id", Text),
    Column("reason", Text),
    Column("collaborative_minutes", Integer, nullable=False, default=0),
    Column("bhi_minutes", Integer, nullable=False, default=0),
    Column("closed_date", Date, nullable=False),
)

business_clocks = Table(
    "business_clocks",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("business_date", Date, nullable=False),
)

idempotency_keys = idempotency_table(metadata)
