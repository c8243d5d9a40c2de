"""Submission schema additions: visits per benefit period, authorization units consumed, work queues, clock.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "submission"
TENANT_TABLES = ("visits", "authorization_usage", "work_items", "business_dates")


def upgrade() -> None:
    # Adjudication facts learned from remittance, and whether a person changed the claim.
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN payer_claim_number text")
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN adjudicated_date date")
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN manually_touched boolean NOT NULL DEFAULT false")
    op.execute(f"ALTER TABLE {SCHEMA}.claim_attempts ADD COLUMN rework_of_attempt integer")
    op.execute(f"ALTER TABLE {SCHEMA}.claim_attempts ADD COLUMN manually_touched boolean NOT NULL DEFAULT false")
    op.execute(f"ALTER TABLE {SCHEMA}.claim_attempts ADD COLUMN scrub_edits jsonb")
    # One row per claim: checked for duplicates, and counted against benefit-period limits once billed (not held).
    op.execute(f"""CREATE TABLE {SCHEMA}.visits (
        claim_id text PRIMARY KEY REFERENCES {SCHEMA}.claims(claim_id),
        organization_id uuid NOT NULL,
        charge_id text NOT NULL,
        patient_id uuid NOT NULL,
        payer_id uuid NOT NULL,
        provider_id uuid NOT NULL,
        date_of_service date NOT NULL,
        procedure_codes text[] NOT NULL,
        billed boolean NOT NULL DEFAULT false,
        voided boolean NOT NULL DEFAULT false
    )""")
    op.execute(
        f"CREATE INDEX visits_patient_payer ON {SCHEMA}.visits (organization_id, patient_id, payer_id, date_of_service)"
    )
    op.execute(f"""CREATE TABLE {SCHEMA}.authorization_usage (
        claim_id text NOT NULL REFERENCES {SCHEMA}.claims(claim_id),
        authorization_id uuid NOT NULL,
        organization_id uuid NOT NULL,
        units integer NOT NULL CHECK (units >= 0),
        consumed_date date NOT NULL,
        released_date date,
        PRIMARY KEY (claim_id, authorization_id)
    )""")
    op.execute(
        f"CREATE INDEX authorization_usage_authorization ON {SCHEMA}.authorization_usage "
        "(organization_id, authorization_id) WHERE released_date IS NULL"
    )
    op.execute(f"""CREATE TABLE {SCHEMA}.work_items (
        id bigserial PRIMARY KEY,
        organization_id uuid NOT NULL,
        claim_id text NOT NULL REFERENCES {SCHEMA}.claims(claim_id),
        queue text NOT NULL,
        reason_code text NOT NULL,
        reason text NOT NULL,
        action text NOT NULL,
        opened_date date NOT NULL,
        status text NOT NULL DEFAULT 'open',
        resolved_date date,
        resolution text,
        source_event_id text
    )""")
    op.execute(
        f"CREATE UNIQUE INDEX work_items_one_open ON {SCHEMA}.work_items (claim_id, queue, reason_code) "
        "WHERE status = 'open'"
    )
    op.execute(f"CREATE INDEX work_items_queue ON {SCHEMA}.work_items (organization_id, queue, status, opened_date)")
    # The latest business date each organization's events carried: submission's view of the business clock.
    op.execute(f"""CREATE TABLE {SCHEMA}.business_dates (
        organization_id uuid PRIMARY KEY,
        business_date date NOT NULL
    )""")
    for table in TENANT_TABLES:
        for statement in tenant_rls_sql(SCHEMA, table):
            op.execute(statement)
