"""Coding engine: charge history columns, care-management months, business clock, holds idempotency.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "coding"

NEW_TABLES = {
    "care_management_minutes": """
        organization_id uuid NOT NULL,
        encounter_id uuid NOT NULL,
        patient_id uuid NOT NULL,
        practice_id uuid NOT NULL,
        month date NOT NULL,
        model text NOT NULL,
        minutes integer NOT NULL,
        date_of_service date NOT NULL,
        facts jsonb NOT NULL,
        cancelled boolean NOT NULL DEFAULT false,
        amendment_number integer NOT NULL DEFAULT 0,
        PRIMARY KEY (organization_id, encounter_id)""",
    "care_management_months": """
        organization_id uuid NOT NULL,
        patient_id uuid NOT NULL,
        month date NOT NULL,
        practice_id uuid NOT NULL,
        status text NOT NULL,
        charge_id text,
        reason text,
        collaborative_minutes integer NOT NULL DEFAULT 0,
        bhi_minutes integer NOT NULL DEFAULT 0,
        closed_date date NOT NULL,
        PRIMARY KEY (organization_id, patient_id, month)""",
    "business_clocks": """
        organization_id uuid PRIMARY KEY,
        business_date date NOT NULL""",
    "idempotency_keys": """
        organization_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        route text NOT NULL,
        request_hash text NOT NULL,
        status_code integer NOT NULL,
        response_body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, route, idempotency_key)""",
}


def upgrade() -> None:
    op.execute(f"""ALTER TABLE {SCHEMA}.charges
        ADD COLUMN patient_id uuid,
        ADD COLUMN provider_id uuid,
        ADD COLUMN provider_taxonomy text,
        ADD COLUMN revision integer NOT NULL DEFAULT 1,
        ADD COLUMN amendment_number integer NOT NULL DEFAULT 0,
        ADD COLUMN review_sampled boolean NOT NULL DEFAULT false,
        ADD COLUMN notes jsonb NOT NULL DEFAULT '[]'::jsonb,
        ADD COLUMN facts jsonb,
        ADD COLUMN resolution jsonb,
        ADD COLUMN care_management_month date,
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()""")
    op.execute(f"CREATE INDEX charges_by_patient ON {SCHEMA}.charges (organization_id, patient_id, date_of_service)")
    op.execute(f"CREATE INDEX charges_by_encounter ON {SCHEMA}.charges (organization_id, encounter_id)")
    op.execute(f"CREATE INDEX charges_by_status ON {SCHEMA}.charges (organization_id, status)")
    for table, columns in NEW_TABLES.items():
        op.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns})")
        for statement in tenant_rls_sql(SCHEMA, table):
            op.execute(statement)
    op.execute(
        f"CREATE INDEX care_management_minutes_by_month ON {SCHEMA}.care_management_minutes (organization_id, month)"
    )
