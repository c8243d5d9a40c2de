"""Tables of the analytics schema: one fact row per lifecycle event, and each organization's activity."""

from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, Numeric, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.infra_tables import infra_tables

metadata = MetaData(schema="analytics")
infra = infra_tables(metadata)

facts = Table(
    "facts",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("fact_date", Date, nullable=False),
    Column("practice_id", UUID(as_uuid=True)),
    Column("claim_id", Text),
    Column("charge_id", Text),
    Column("attributes", JSONB, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
)

claim_index = Table(
    "claim_index",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("claim_id", Text, primary_key=True),
    Column("charge_id", Text, nullable=False),
    Column("practice_id", UUID(as_uuid=True)),
    Column("provider_id", UUID(as_uuid=True)),
    Column("payer_id", UUID(as_uuid=True)),
    Column("patient_id", UUID(as_uuid=True)),
    Column("program", Text, nullable=False),
    Column("payer_priority", Text, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("billed", Numeric(12, 2), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_date", Date, nullable=False),
    Column("first_submitted_date", Date),
)

# Not a tenant table: the gauge refresher must list organizations before it can scope to one.
# It holds no business facts, only the latest business date and a change counter per organization.
organization_activity = Table(
    "organization_activity",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("latest_business_date", Date, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
