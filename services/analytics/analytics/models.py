"""Tables of the analytics schema: one fact row per lifecycle event, and each organization's activity."""

from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, Table, Text
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

# Not a tenant table: the gauge refresher must list organizations before it can scope to one.
# It holds no business facts, only the latest business date and a change counter per organization.
organization_activity = Table(
    "organization_activity",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("latest_business_date", Date, nullable=False),
    Column("version", BigInteger, nullable=False),
)
