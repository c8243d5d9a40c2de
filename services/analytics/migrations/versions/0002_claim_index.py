"""Claim index for billing-staff search: one row per claim with its slicing ids and derived status.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "analytics"


def upgrade() -> None:
    op.execute(f"""CREATE TABLE {SCHEMA}.claim_index (
        organization_id uuid NOT NULL,
        claim_id text NOT NULL,
        charge_id text NOT NULL,
        practice_id uuid,
        provider_id uuid,
        payer_id uuid,
        patient_id uuid,
        program text NOT NULL,
        payer_priority text NOT NULL,
        date_of_service date NOT NULL,
        billed numeric(12, 2) NOT NULL,
        status text NOT NULL,
        status_date date NOT NULL,
        first_submitted_date date,
        PRIMARY KEY (organization_id, claim_id)
    )""")
    op.execute(f"CREATE INDEX claim_index_date ON {SCHEMA}.claim_index (organization_id, date_of_service, claim_id)")
    op.execute(f"CREATE INDEX claim_index_patient ON {SCHEMA}.claim_index (organization_id, patient_id)")
    for statement in tenant_rls_sql(SCHEMA, "claim_index"):
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"DROP TABLE {SCHEMA}.claim_index")
