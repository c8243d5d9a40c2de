"""Submission: the audit log of reads of patient data (the 837P of an attempt, its 999 and 277CA), append-only.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "submission"


def upgrade() -> None:
    op.execute(f"""CREATE TABLE {SCHEMA}.audit_log (
        id bigserial PRIMARY KEY,
        organization_id uuid NOT NULL,
        actor text NOT NULL,
        actor_user_id uuid,
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    )""")
    for statement in tenant_rls_sql(SCHEMA, "audit_log"):
        op.execute(statement)
    # Append-only for the service's runtime role.
    op.execute(f"REVOKE UPDATE, DELETE ON {SCHEMA}.audit_log FROM submission_app")
