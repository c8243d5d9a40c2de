"""Remittance schema additions: claim facts for matching, patient payments, write-offs, denial work, underpayments.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "remittance"

NEW_TABLES = {
    "patient_payments": """
        patient_payment_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        claim_id text NOT NULL,
        amount numeric(12,2) NOT NULL CHECK (amount > 0),
        method text NOT NULL,
        reference text,
        posted_date date NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (organization_id, claim_id) REFERENCES remittance.claims (organization_id, claim_id)""",
    "write_offs": """
        write_off_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        claim_id text NOT NULL,
        balance text NOT NULL CHECK (balance IN ('payer', 'patient')),
        reason text NOT NULL,
        amount numeric(12,2) NOT NULL CHECK (amount > 0),
        written_off_date date NOT NULL,
        denial_id uuid,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (organization_id, claim_id) REFERENCES remittance.claims (organization_id, claim_id)""",
    "idempotency_keys": """
        organization_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        route text NOT NULL,
        request_hash text NOT NULL,
        status_code integer NOT NULL,
        response_body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, route, idempotency_key)""",
    "denial_settings": """
        organization_id uuid PRIMARY KEY,
        high_dollar_threshold numeric(12,2) NOT NULL,
        pattern_min_denials integer NOT NULL CHECK (pattern_min_denials >= 1),
        pattern_window_days integer NOT NULL CHECK (pattern_window_days >= 1),
        credentialing_enabled boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()""",
    "escalations": """
        escalation_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        rule text NOT NULL CHECK (rule IN ('high_dollar', 'recurring_pattern', 'credentialing')),
        route text NOT NULL,
        denial_id uuid,
        claim_id text,
        practice_id uuid,
        payer_id uuid,
        root_cause text NOT NULL,
        denied_visits integer,
        escalated_date date NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()""",
    "denial_notes": """
        note_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        denial_id uuid NOT NULL REFERENCES remittance.denials(denial_id),
        author_key_id text NOT NULL,
        author_user_id uuid,
        text text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()""",
    "underpayments": """
        underpayment_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        posting_id uuid NOT NULL REFERENCES remittance.postings(posting_id),
        claim_id text NOT NULL,
        line_number integer NOT NULL,
        procedure_code text NOT NULL,
        modifier text,
        practice_id uuid,
        payer_id uuid,
        fee_schedule_entry_id text NOT NULL,
        paid_amount numeric(12,2) NOT NULL,
        patient_responsibility numeric(12,2) NOT NULL,
        allowed_amount numeric(12,2) NOT NULL,
        contracted_amount numeric(12,2) NOT NULL,
        difference numeric(12,2) NOT NULL CHECK (difference > 0),
        payment_date date NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, posting_id, line_number)""",
}

INDEXES = (
    "CREATE INDEX claims_patient_match ON remittance.claims (organization_id, member_id, date_of_service)",
    "CREATE INDEX patient_payments_claim ON remittance.patient_payments (organization_id, claim_id)",
    "CREATE INDEX write_offs_claim ON remittance.write_offs (organization_id, claim_id)",
    "CREATE INDEX escalations_pattern ON remittance.escalations "
    "(organization_id, practice_id, payer_id, root_cause, escalated_date) WHERE rule = 'recurring_pattern'",
    "CREATE INDEX denial_notes_denial ON remittance.denial_notes (organization_id, denial_id, created_at)",
    "CREATE INDEX underpayments_open ON remittance.underpayments (organization_id, payment_date) WHERE status = 'open'",
    "CREATE INDEX denials_work ON remittance.denials (organization_id, status, root_cause, payment_date)",
)


def upgrade() -> None:
    # Facts of the submitted claim the patient + date of service + amount fallback matches on.
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN patient_id uuid")
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN provider_id uuid")
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN member_id text")
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN date_of_service date")
    # Unmatched CLPs: an ambiguous fallback waits for a person; a hand match records who and when.
    op.execute(f"ALTER TABLE {SCHEMA}.unmatched_remittances DROP CONSTRAINT unmatched_remittances_reason_check")
    op.execute(
        f"ALTER TABLE {SCHEMA}.unmatched_remittances ADD CONSTRAINT unmatched_remittances_reason_check "
        "CHECK (reason IN ('unknown_claim', 'unreadable', 'ambiguous_match'))"
    )
    op.execute(f"ALTER TABLE {SCHEMA}.unmatched_remittances ADD COLUMN matched_claim_id text")
    op.execute(f"ALTER TABLE {SCHEMA}.unmatched_remittances ADD COLUMN matched_by text")
    op.execute(f"ALTER TABLE {SCHEMA}.unmatched_remittances ADD COLUMN matched_at timestamptz")
    # Denial work queue: assignment, appeal, resolution, correction request, escalation route.
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN queue text NOT NULL DEFAULT 'appeals'")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN assigned_to uuid")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN assigned_at timestamptz")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN appealed_date date")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN correction_requested_date date")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN outcome text")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN resolved_date date")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN recovered_amount numeric(12,2)")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN written_off_amount numeric(12,2)")
    op.execute(f"ALTER TABLE {SCHEMA}.denials ADD COLUMN escalation_rules jsonb NOT NULL DEFAULT '[]'::jsonb")
    for table, columns in NEW_TABLES.items():
        op.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns}\n    )")
        for statement in tenant_rls_sql(SCHEMA, table):
            op.execute(statement)
    for statement in INDEXES:
        op.execute(statement)
