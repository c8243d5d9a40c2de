"""Tables of the submission schema."""

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Sequence, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from shared.idempotency import idempotency_table
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
    Column("payer_claim_number", Text),
    Column("adjudicated_date", Date),
    Column("manually_touched", Boolean, nullable=False, server_default="false"),
    Column("pending_charge", JSONB),
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
    Column("rework_of_attempt", Integer),
    Column("manually_touched", Boolean, nullable=False, server_default="false"),
    Column("scrub_edits", JSONB),
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
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_failure_kind", Text),
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

visits = Table(
    "visits",
    metadata,
    Column("claim_id", Text, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("charge_id", Text, nullable=False),
    Column("patient_id", UUID(as_uuid=True), nullable=False),
    Column("payer_id", UUID(as_uuid=True), nullable=False),
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("procedure_codes", ARRAY(Text), nullable=False),
    Column("billed", Boolean, nullable=False, server_default="false"),
    Column("voided", Boolean, nullable=False, server_default="false"),
)

authorization_usage = Table(
    "authorization_usage",
    metadata,
    Column("claim_id", Text, primary_key=True),
    Column("authorization_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("units", Integer, nullable=False),
    Column("consumed_date", Date, nullable=False),
    Column("released_date", Date),
)

work_items = Table(
    "work_items",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("opened_date", Date, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("resolved_date", Date),
    Column("resolution", Text),
    Column("source_event_id", Text),
)

business_dates = Table(
    "business_dates",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("business_date", Date, nullable=False),
)

# Not a tenant table: organizations whose outgoing batches wait (ids only), read by the sender like send_queue.
paused_senders = Table(
    "paused_senders",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("paused_at", DateTime(timezone=True)),
)

# Append-only record of every read of patient data (an attempt's 837P, its 999 or 277CA): who, what, when.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_user_id", UUID(as_uuid=True)),
    Column("action", Text, nullable=False),
    Column("resource_type", Text, nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("at", DateTime(timezone=True)),
)

idempotency_keys = idempotency_table(metadata)
