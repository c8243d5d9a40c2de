"""Remittance schema: infrastructure tables, known claims, ERA files, payments, postings, queues, denials, PLB.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.db import tenant_rls_sql
from shared.infra_tables import infra_ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "remittance"

TABLES = {
    "claims": """
        organization_id uuid NOT NULL,
        claim_id text NOT NULL,
        charge_id text NOT NULL,
        payer_id uuid NOT NULL,
        practice_id uuid,
        billed_amount numeric(12,2) NOT NULL,
        attempt_number integer NOT NULL,
        frequency_code text NOT NULL,
        payer_claim_number text,
        submitted_date date NOT NULL,
        correlation_id text NOT NULL,
        source_event_id text NOT NULL,
        PRIMARY KEY (organization_id, claim_id)""",
    "remittance_files": """
        file_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        source text NOT NULL,
        key_id text,
        received_at timestamptz NOT NULL DEFAULT now(),
        raw_text text NOT NULL,
        status text NOT NULL,
        refusal jsonb,
        summary jsonb NOT NULL DEFAULT '{}'::jsonb""",
    "payments": """
        payment_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        file_id uuid NOT NULL REFERENCES remittance.remittance_files(file_id),
        payer_key text NOT NULL,
        trace_number text NOT NULL,
        payer_name text NOT NULL,
        payment_amount numeric(12,2) NOT NULL,
        payment_method text NOT NULL,
        payment_date date NOT NULL,
        UNIQUE (organization_id, payer_key, trace_number)""",
    "postings": """
        posting_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        file_id uuid NOT NULL REFERENCES remittance.remittance_files(file_id),
        payment_id uuid NOT NULL REFERENCES remittance.payments(payment_id),
        clp_position integer NOT NULL,
        claim_id text NOT NULL,
        charge_id text,
        payer_id uuid,
        practice_id uuid,
        payer_claim_number text,
        claim_status_code text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('posted', 'reversed')),
        trace_number text NOT NULL,
        payment_date date NOT NULL,
        charge_amount numeric(12,2) NOT NULL,
        paid_amount numeric(12,2) NOT NULL,
        patient_responsibility numeric(12,2) NOT NULL,
        contractual_amount numeric(12,2) NOT NULL,
        denied_amount numeric(12,2) NOT NULL,
        patient_denied_amount numeric(12,2) NOT NULL,
        adjustments jsonb NOT NULL,
        lines jsonb NOT NULL,
        remark_codes jsonb NOT NULL,
        is_denial boolean NOT NULL,
        first_adjudication boolean NOT NULL,
        reversed_posting_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, file_id, clp_position)""",
    "unmatched_remittances": """
        unmatched_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        file_id uuid NOT NULL REFERENCES remittance.remittance_files(file_id),
        payment_id uuid NOT NULL REFERENCES remittance.payments(payment_id),
        clp_position integer NOT NULL,
        claim_id text NOT NULL,
        payer_claim_number text,
        reason text NOT NULL CHECK (reason IN ('unknown_claim', 'unreadable')),
        detail text NOT NULL,
        claim jsonb,
        raw_segments jsonb NOT NULL DEFAULT '[]'::jsonb,
        status text NOT NULL CHECK (status IN ('waiting', 'posted', 'needs_review')),
        posting_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, file_id, clp_position)""",
    "denials": """
        denial_id uuid PRIMARY KEY,
        organization_id uuid NOT NULL,
        posting_id uuid NOT NULL UNIQUE REFERENCES remittance.postings(posting_id),
        claim_id text NOT NULL,
        charge_id text,
        payer_id uuid,
        practice_id uuid,
        root_cause text NOT NULL,
        owner text NOT NULL,
        first_action text NOT NULL,
        reason_codes jsonb NOT NULL,
        remark_codes jsonb NOT NULL,
        denied_amount numeric(12,2) NOT NULL,
        patient_billable boolean NOT NULL,
        initial boolean NOT NULL,
        payment_date date NOT NULL,
        status text NOT NULL DEFAULT 'open',
        created_at timestamptz NOT NULL DEFAULT now()""",
    "provider_adjustments": """
        organization_id uuid NOT NULL,
        payment_id uuid NOT NULL REFERENCES remittance.payments(payment_id),
        sequence integer NOT NULL,
        provider_identifier text NOT NULL,
        reason_code text NOT NULL,
        reference text,
        amount numeric(12,2) NOT NULL,
        fiscal_period_date date,
        payment_date date NOT NULL,
        PRIMARY KEY (organization_id, payment_id, sequence)""",
}

INDEXES = (
    "CREATE INDEX claims_payer_claim_number ON remittance.claims (organization_id, payer_claim_number)",
    "CREATE INDEX postings_claim ON remittance.postings (organization_id, claim_id, created_at)",
    "CREATE INDEX postings_payer_claim_number ON remittance.postings (organization_id, payer_claim_number)",
    "CREATE INDEX unmatched_waiting ON remittance.unmatched_remittances (organization_id, claim_id) "
    "WHERE status = 'waiting'",
    "CREATE INDEX denials_open ON remittance.denials (organization_id, payment_date) WHERE status = 'open'",
)


def upgrade() -> None:
    for statement in infra_ddl(SCHEMA):
        op.execute(statement)
    for table, columns in TABLES.items():
        op.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns}\n    )")
        for statement in tenant_rls_sql(SCHEMA, table):
            op.execute(statement)
    for statement in INDEXES:
        op.execute(statement)
