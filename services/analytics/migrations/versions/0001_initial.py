"""Analytics schema: infrastructure tables, lifecycle facts and organization activity.

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

SCHEMA = "analytics"


def upgrade() -> None:
    for statement in infra_ddl(SCHEMA):
        op.execute(statement)
    op.execute(f"""CREATE TABLE {SCHEMA}.facts (
        organization_id uuid NOT NULL,
        event_id text NOT NULL,
        event_type text NOT NULL,
        business_date date NOT NULL,
        fact_date date NOT NULL,
        practice_id uuid,
        claim_id text,
        charge_id text,
        attributes jsonb NOT NULL,
        event_time timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, event_id)
    )""")
    op.execute(f"CREATE INDEX facts_claim ON {SCHEMA}.facts (organization_id, claim_id)")
    op.execute(f"CREATE INDEX facts_charge ON {SCHEMA}.facts (organization_id, charge_id)")
    op.execute(f"CREATE INDEX facts_date ON {SCHEMA}.facts (organization_id, fact_date)")
    for statement in tenant_rls_sql(SCHEMA, "facts"):
        op.execute(statement)
    # No RLS on purpose: the gauge refresher lists organizations here; it holds only a date and a counter.
    op.execute(f"""CREATE TABLE {SCHEMA}.organization_activity (
        organization_id uuid PRIMARY KEY,
        latest_business_date date NOT NULL,
        version bigint NOT NULL DEFAULT 1
    )""")
