"""Intake schema additions for encounters (amendments, cancellations, batches).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.db import tenant_rls_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "intake"


def upgrade() -> None:
    """Encounter history (amended, cancelled, resolved) and the indexes work queues and visit counts use."""
    op.execute(
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.encounter_changes (
            id bigserial PRIMARY KEY,
            organization_id uuid NOT NULL,
            encounter_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('amended', 'cancelled', 'resolved')),
            amendment_number integer NOT NULL,
            note text,
            business_date date NOT NULL,
            changes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (organization_id, encounter_id) REFERENCES {SCHEMA}.encounters (organization_id, encounter_id)
        )"""
    )
    # Idempotent, so the revision can be re-applied on a database stamped back for a re-run.
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {SCHEMA}.encounter_changes")
    for statement in tenant_rls_sql(SCHEMA, "encounter_changes"):
        op.execute(statement)
    op.execute(
        f"CREATE INDEX IF NOT EXISTS encounter_changes_by_encounter ON {SCHEMA}.encounter_changes (organization_id, encounter_id)"
    )
    op.execute(f"REVOKE UPDATE, DELETE ON {SCHEMA}.encounter_changes FROM intake_app")
    op.execute(
        f"CREATE INDEX IF NOT EXISTS encounters_by_patient ON {SCHEMA}.encounters (organization_id, patient_id, date_of_service)"
    )
    op.execute(
        f"CREATE INDEX IF NOT EXISTS encounters_in_eligibility_queue ON {SCHEMA}.encounters (organization_id, encounter_id) "
        """WHERE status <> 'cancelled' AND work_queue_flags @> '[{"queue": "eligibility"}]'"""
    )
