"""Tables of the remittance schema."""

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, LargeBinary, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.idempotency import idempotency_table
from shared.infra_tables import infra_tables

metadata = MetaData(schema="remittance")
infra = infra_tables(metadata)


def _money(name: str, nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(name, Numeric(12, 2), nullable=nullable)


claims = Table(
    "claims",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("claim_id", Text, primary_key=True),
    Column("charge_id", Text, nullable=False),
    Column("payer_id", UUID(as_uuid=True), nullable=False),
    Column("practice_id", UUID(as_uuid=True)),
    _money("billed_amount"),
    Column("attempt_number", Integer, nullable=False),
    Column("frequency_code", Text, nullable=False),
    Column("payer_claim_number", Text),
    Column("submitted_date", Date, nullable=False),
    Column("correlation_id", Text, nullable=False),
    Column("source_event_id", Text, nullable=False),
    Column("patient_id", UUID(as_uuid=True)),
    Column("provider_id", UUID(as_uuid=True)),
    Column("member_id", Text),
    Column("date_of_service", Date),
)

remittance_files = Table(
    "remittance_files",
    metadata,
    Column("file_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("source", Text, nullable=False),
    Column("key_id", Text),
    Column("received_at", DateTime(timezone=True)),
    Column("raw_text", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("refusal", JSONB),
    Column("summary", JSONB, nullable=False),
    Column("raw_bytes", LargeBinary),
    Column("content_sha256", Text),
    Column("review", JSONB),
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("file_id", UUID(as_uuid=True), nullable=False),
    Column("payer_key", Text, nullable=False),
    Column("trace_number", Text, nullable=False),
    Column("payer_name", Text, nullable=False),
    _money("payment_amount"),
    Column("payment_method", Text, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("payer_identifier", Text),
)

postings = Table(
    "postings",
    metadata,
    Column("posting_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("file_id", UUID(as_uuid=True), nullable=False),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("clp_position", Integer, nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("charge_id", Text),
    Column("payer_id", UUID(as_uuid=True)),
    Column("practice_id", UUID(as_uuid=True)),
    Column("payer_claim_number", Text),
    Column("claim_status_code", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("trace_number", Text, nullable=False),
    Column("payment_date", Date, nullable=False),
    _money("charge_amount"),
    _money("paid_amount"),
    _money("patient_responsibility"),
    _money("contractual_amount"),
    _money("denied_amount"),
    _money("patient_denied_amount"),
    Column("adjustments", JSONB, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("remark_codes", JSONB, nullable=False),
    Column("is_denial", Boolean, nullable=False),
    Column("first_adjudication", Boolean, nullable=False),
    Column("reversed_posting_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
)

unmatched_remittances = Table(
    "unmatched_remittances",
    metadata,
    Column("unmatched_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("file_id", UUID(as_uuid=True), nullable=False),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("clp_position", Integer, nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("payer_claim_number", Text),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("claim", JSONB),
    Column("raw_segments", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("posting_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("matched_claim_id", Text),
    Column("matched_by", Text),
    Column("matched_at", DateTime(timezone=True)),
)

denials = Table(
    "denials",
    metadata,
    Column("denial_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("posting_id", UUID(as_uuid=True), nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("charge_id", Text),
    Column("payer_id", UUID(as_uuid=True)),
    Column("practice_id", UUID(as_uuid=True)),
    Column("root_cause", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("first_action", Text, nullable=False),
    Column("reason_codes", JSONB, nullable=False),
    Column("remark_codes", JSONB, nullable=False),
    _money("denied_amount"),
    Column("patient_billable", Boolean, nullable=False),
    Column("initial", Boolean, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("queue", Text, nullable=False),
    Column("assigned_to", UUID(as_uuid=True)),
    Column("assigned_at", DateTime(timezone=True)),
    Column("appealed_date", Date),
    Column("correction_requested_date", Date),
    Column("outcome", Text),
    Column("resolved_date", Date),
    _money("recovered_amount", nullable=True),
    _money("written_off_amount", nullable=True),
    Column("escalation_rules", JSONB, nullable=False),
)

provider_adjustments = Table(
    "provider_adjustments",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    Column("payment_id", UUID(as_uuid=True), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("provider_identifier", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reference", Text),
    _money("amount"),
    Column("fiscal_period_date", Date),
    Column("payment_date", Date, nullable=False),
)

patient_payments = Table(
    "patient_payments",
    metadata,
    Column("patient_payment_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("claim_id", Text, nullable=False),
    _money("amount"),
    Column("method", Text, nullable=False),
    Column("reference", Text),
    Column("posted_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

write_offs = Table(
    "write_offs",
    metadata,
    Column("write_off_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("balance", Text, nullable=False),
    Column("reason", Text, nullable=False),
    _money("amount"),
    Column("written_off_date", Date, nullable=False),
    Column("denial_id", UUID(as_uuid=True)),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True)),
)

idempotency_keys = idempotency_table(metadata)

denial_settings = Table(
    "denial_settings",
    metadata,
    Column("organization_id", UUID(as_uuid=True), primary_key=True),
    _money("high_dollar_threshold"),
    Column("pattern_min_denials", Integer, nullable=False),
    Column("pattern_window_days", Integer, nullable=False),
    Column("credentialing_enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

escalations = Table(
    "escalations",
    metadata,
    Column("escalation_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("rule", Text, nullable=False),
    Column("route", Text, nullable=False),
    Column("denial_id", UUID(as_uuid=True)),
    Column("claim_id", Text),
    Column("practice_id", UUID(as_uuid=True)),
    Column("payer_id", UUID(as_uuid=True)),
    Column("root_cause", Text, nullable=False),
    Column("denied_visits", Integer),
    Column("escalated_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

denial_notes = Table(
    "denial_notes",
    metadata,
    Column("note_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("denial_id", UUID(as_uuid=True), nullable=False),
    Column("author_key_id", Text, nullable=False),
    Column("author_user_id", UUID(as_uuid=True)),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

underpayments = Table(
    "underpayments",
    metadata,
    Column("underpayment_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("posting_id", UUID(as_uuid=True), nullable=False),
    Column("claim_id", Text, nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("procedure_code", Text, nullable=False),
    Column("modifier", Text),
    Column("practice_id", UUID(as_uuid=True)),
    Column("payer_id", UUID(as_uuid=True)),
    Column("fee_schedule_entry_id", Text, nullable=False),
    _money("paid_amount"),
    _money("patient_responsibility"),
    _money("allowed_amount"),
    _money("contracted_amount"),
    _money("difference"),
    Column("payment_date", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)
