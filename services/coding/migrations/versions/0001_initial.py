"""Coding schema: infrastructure tables and charges.

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

SCHEMA = "coding"


def upgrade() -> None:
    for statement in infra_ddl(SCHEMA):
        op.execute(statement)
    op.execute(f"""CREATE TABLE {SCHEMA}.charges (
        charge_id text NOT NULL,
        organization_id uuid NOT NULL,
        practice_id uuid NOT NULL,
        encounter_id uuid,
        status text NOT NULL,
        date_of_service date NOT NULL,
        charge_posted_date date NOT NULL,
        program text NOT NULL,
        total_amount numeric(12,2) NOT NULL,
        lines jsonb NOT NULL,
        hold_reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
        source_event_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, charge_id)
    )""")
    for statement in tenant_rls_sql(SCHEMA, "charges"):
        op.execute(statement)
