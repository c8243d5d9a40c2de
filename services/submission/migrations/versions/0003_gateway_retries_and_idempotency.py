"""Submission schema additions: per-batch send backoff, paused senders, idempotent POSTs.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "submission"


def upgrade() -> None:
    # A failed send waits until next_attempt_at, so one organization's unreachable clearinghouse never stalls another.
    op.execute(f"ALTER TABLE {SCHEMA}.batches ADD COLUMN next_attempt_at timestamptz")
    op.execute(f"ALTER TABLE {SCHEMA}.batches ADD COLUMN last_failure_kind text")
    # Organizations whose outgoing batches wait (enrollment change, incident); ids only, like send_queue.
    op.execute(f"""CREATE TABLE {SCHEMA}.paused_senders (
        organization_id uuid PRIMARY KEY,
        reason text NOT NULL,
        paused_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute(f"""CREATE TABLE {SCHEMA}.idempotency_keys (
        organization_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        route text NOT NULL,
        request_hash text NOT NULL,
        status_code integer NOT NULL,
        response_body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, route, idempotency_key)
    )""")
    for statement in tenant_rls_sql(SCHEMA, "idempotency_keys"):
        op.execute(statement)
