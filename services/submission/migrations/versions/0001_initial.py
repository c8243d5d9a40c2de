"""Submission schema: infrastructure tables, claims, attempts, batches, acknowledgements.

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

SCHEMA = "submission"
TENANT_TABLES = ("claims", "claim_attempts", "batches", "acknowledgements", "skipped_charges")


def upgrade() -> None:
    for statement in infra_ddl(SCHEMA):
        op.execute(statement)
    # ISA13/GS06/ST02 of every batch: persistent, never reused, 9 digits at most.
    op.execute(f"CREATE SEQUENCE {SCHEMA}.control_number_seq MINVALUE 1 MAXVALUE 999999999 NO CYCLE")
    op.execute(f"""CREATE TABLE {SCHEMA}.claims (
        claim_id text PRIMARY KEY CHECK (char_length(claim_id) <= 20),
        organization_id uuid NOT NULL,
        practice_id uuid NOT NULL,
        charge_id text NOT NULL,
        payer_priority text NOT NULL,
        payer_id uuid NOT NULL,
        provider_id uuid NOT NULL,
        patient_id uuid NOT NULL,
        program text NOT NULL,
        date_of_service date NOT NULL,
        charge_posted_date date NOT NULL,
        billed_amount numeric(12,2) NOT NULL,
        status text NOT NULL,
        status_reason text,
        scrub_edits jsonb NOT NULL DEFAULT '[]'::jsonb,
        charge jsonb NOT NULL,
        correlation_id text NOT NULL,
        source_event_id text NOT NULL,
        created_date date NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, charge_id, payer_priority)
    )""")
    op.execute(f"CREATE INDEX claims_status ON {SCHEMA}.claims (organization_id, status, created_date)")
    op.execute(f"""CREATE TABLE {SCHEMA}.claim_attempts (
        claim_id text NOT NULL REFERENCES {SCHEMA}.claims(claim_id),
        attempt_number integer NOT NULL,
        organization_id uuid NOT NULL,
        frequency_code text NOT NULL,
        status text NOT NULL,
        business_date date NOT NULL,
        scrub_passed text NOT NULL,
        batch_control_number bigint,
        submitted_date date,
        queued_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (claim_id, attempt_number)
    )""")
    op.execute(
        f"CREATE INDEX claim_attempts_queued ON {SCHEMA}.claim_attempts (organization_id, business_date, queued_at) "
        "WHERE status = 'queued'"
    )
    op.execute(f"""CREATE TABLE {SCHEMA}.batches (
        control_number bigint PRIMARY KEY,
        organization_id uuid NOT NULL,
        business_date date NOT NULL,
        status text NOT NULL,
        file_text text NOT NULL,
        claim_count integer NOT NULL,
        clearinghouse_batch_id text,
        ack_999 text,
        ack_277ca text,
        send_attempts integer NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
    )""")
    op.execute(f"""CREATE TABLE {SCHEMA}.acknowledgements (
        id bigserial PRIMARY KEY,
        organization_id uuid NOT NULL,
        claim_id text NOT NULL,
        attempt_number integer NOT NULL,
        batch_control_number bigint NOT NULL,
        kind text NOT NULL,
        status_code text NOT NULL,
        outcome text NOT NULL,
        reason text,
        acknowledged_date date NOT NULL,
        UNIQUE (claim_id, attempt_number, batch_control_number, kind)
    )""")
    op.execute(f"""CREATE TABLE {SCHEMA}.skipped_charges (
        organization_id uuid NOT NULL,
        charge_id text NOT NULL,
        reason text NOT NULL,
        business_date date NOT NULL,
        source_event_id text NOT NULL,
        PRIMARY KEY (organization_id, charge_id)
    )""")
    op.execute(f"""CREATE TABLE {SCHEMA}.send_queue (
        claim_id text NOT NULL,
        attempt_number integer NOT NULL,
        organization_id uuid NOT NULL,
        queued_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (claim_id, attempt_number)
    )""")
    op.execute(f"CREATE INDEX send_queue_organization ON {SCHEMA}.send_queue (organization_id)")
    for table in TENANT_TABLES:
        for statement in tenant_rls_sql(SCHEMA, table):
            op.execute(statement)
