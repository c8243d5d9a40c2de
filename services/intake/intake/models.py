"""Tables of the intake schema."""

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.idempotency import idempotency_table
from shared.infra_tables import infra_tables

metadata = MetaData(schema="intake")
infra = infra_tables(metadata)

organizations = Table(
    "organizations",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
)

issued_api_keys = Table(
    "issued_api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("key_hash", Text, nullable=False),
    Column("scopes", JSONB, nullable=False),
    Column("practice_ids", JSONB, nullable=False),
    Column("label", Text),
    Column("user_id", UUID(as_uuid=True)),
    Column("revoked", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

master_records = Table(
    "master_records",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("entity_type", Text, primary_key=True),
    Column("entity_id", UUID(as_uuid=True), primary_key=True),
    Column("attributes", JSONB, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    # The practice a record belongs to (itself for a practice; the patient's for coverages and authorizations):
    # what keys limited to some practices are filtered on.
    Column("practice_id", UUID(as_uuid=True)),
)

encounters = Table(
    "encounters",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("encounter_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", UUID(as_uuid=True), nullable=False),
    Column("ehr_encounter_id", Text, nullable=False),
    Column("patient_id", UUID(as_uuid=True), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("received_date", Date, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("work_queue_flags", JSONB, nullable=False),
)

idempotency_keys = idempotency_table(metadata)

business_clocks = Table(
    "business_clocks",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("business_date", Date, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("resource_type", Text, nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("actor_user_id", UUID(as_uuid=True)),
    Column("at", DateTime(timezone=True)),
)
