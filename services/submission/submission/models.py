"""Tables of the submission schema."""

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, MetaData, Numeric, Sequence, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.infra_tables import infra_tables

metadata = MetaData(schema="submission")
infra = infra_tables(metadata)

control_numbers = Sequence("control_number_seq", metadata=metadata)

claims = Table(
    "claims",
    metadata,
    Column("claim_id", Text, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("practice_id", UUID(as_uuid=True), nullable=False),
    Column("charge_id", Text, nullable=False),
    Column("payer_priority", Text, nullable=False),
    Column("payer_id", UUID(as_uuid=True), nullable=False),
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("patient_id", UUID(as_uuid=True), nullable=False),
    Column("program", Text, nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("charge_posted_date", Date, nullable=False),
    Column("billed_amount", Numeric(12, 2), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_reason", Text),
    Column("scrub_edits", JSONB, nullable=False),
    Column("charge", JSONB, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("source_event_id", Text, nullable=False),
    Column("created_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

claim_attempts = Table(
    "claim_attempts",
    metadata,
    Column("claim_id", Text, primary_key=True),
    Column("attempt_number", Integer, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("frequency_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("scrub_passed", Text, nullable=False),
    Column("batch_control_number", BigInteger),
    Column("submitted_date", Date),
    Column("queued_at", DateTime(timezone=True)),
)

batches = Table(
    "batches",
    metadata,
    Column("control_number", BigInteger, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("file_text", Text, nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("clearinghouse_batch_id", Text),
    Column("ack_999", Text),
    Column("ack_277ca", Text),
    Column("send_attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
)

acknowledgements = Table(
    "acknowledgements",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("attempt_number", Integer, nullable=False),
    Column("batch_control_number", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status_code", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason", Text),
    Column("acknowledged_date", Date, nullable=False),
)

skipped_charges = Table(
    "skipped_charges",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("charge_id", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("source_event_id", Text, nullable=False),
)

# Not a tenant table: ids only (no PHI), so the sender can find organizations with work, like the outbox.
send_queue = Table(
    "send_queue",
    metadata,
    Column("claim_id", Text, primary_key=True),
    Column("attempt_number", Integer, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("queued_at", DateTime(timezone=True)),
)
