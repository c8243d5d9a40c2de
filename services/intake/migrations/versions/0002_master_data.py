"""Intake schema additions for master data (users, fee schedules, authorizations, listing indexes).

Every statement is idempotent, so the revision can be re-applied to a database stamped past it.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "intake"

STATEMENTS = [
    # The practice each record belongs to, so keys limited to some practices are filtered in SQL.
    f"ALTER TABLE {SCHEMA}.master_records ADD COLUMN IF NOT EXISTS practice_id uuid",
    f"ALTER TABLE {SCHEMA}.issued_api_keys ADD COLUMN IF NOT EXISTS user_id uuid",
    f"ALTER TABLE {SCHEMA}.audit_log ADD COLUMN IF NOT EXISTS actor_user_id uuid",
    # Keyset pagination walks (organization, type, id); filters use the referenced ids.
    f"CREATE INDEX IF NOT EXISTS master_records_by_practice ON {SCHEMA}.master_records "
    "(organization_id, entity_type, practice_id, entity_id)",
    f"CREATE INDEX IF NOT EXISTS master_records_by_patient ON {SCHEMA}.master_records "
    "(organization_id, entity_type, (attributes->>'patient_id')) WHERE attributes ? 'patient_id'",
    f"CREATE INDEX IF NOT EXISTS master_records_by_payer ON {SCHEMA}.master_records "
    "(organization_id, entity_type, (attributes->>'payer_id')) WHERE attributes ? 'payer_id'",
    f"CREATE INDEX IF NOT EXISTS master_records_by_npi ON {SCHEMA}.master_records "
    "(organization_id, entity_type, (attributes->>'npi')) WHERE attributes ? 'npi'",
    # Backstops of the uniqueness the service checks under an advisory lock.
    f"CREATE UNIQUE INDEX IF NOT EXISTS patients_unique_ehr_id ON {SCHEMA}.master_records "
    "(organization_id, (attributes->>'practice_id'), (attributes->>'ehr_patient_id')) "
    "WHERE entity_type = 'patient' AND NOT deleted AND attributes->>'ehr_patient_id' IS NOT NULL",
    f"CREATE UNIQUE INDEX IF NOT EXISTS users_unique_email ON {SCHEMA}.master_records "
    "(organization_id, lower(attributes->>'email')) WHERE entity_type = 'user' AND NOT deleted",
    f"CREATE INDEX IF NOT EXISTS audit_log_by_resource ON {SCHEMA}.audit_log "
    "(organization_id, resource_type, resource_id)",
]

# Row-level security is forced even for the owner; lift it for the backfill inside this transaction only.
BACKFILL = [
    f"ALTER TABLE {SCHEMA}.master_records NO FORCE ROW LEVEL SECURITY",
    f"UPDATE {SCHEMA}.master_records SET practice_id = entity_id WHERE entity_type = 'practice' AND practice_id IS NULL",
    f"UPDATE {SCHEMA}.master_records SET practice_id = (attributes->>'practice_id')::uuid "
    "WHERE practice_id IS NULL AND entity_type IN ('provider', 'patient', 'fee_schedule_entry') "
    "AND attributes ? 'practice_id'",
    f"UPDATE {SCHEMA}.master_records AS record SET practice_id = patient.practice_id "
    f"FROM {SCHEMA}.master_records AS patient "
    "WHERE record.practice_id IS NULL AND record.entity_type IN ('coverage', 'authorization') "
    "AND patient.organization_id = record.organization_id AND patient.entity_type = 'patient' "
    "AND patient.entity_id::text = record.attributes->>'patient_id'",
    f"ALTER TABLE {SCHEMA}.master_records FORCE ROW LEVEL SECURITY",
]


def upgrade() -> None:
    """Add practice scoping, key owners, audit users and the indexes listing and uniqueness need."""
    for statement in STATEMENTS + BACKFILL:
        op.execute(statement)
