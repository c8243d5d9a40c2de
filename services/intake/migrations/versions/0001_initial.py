"""Intake schema: organizations, keys, master data, patients, coverages, encounters, idempotency, audit.

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

SCHEMA = "intake"

TENANT_TABLES = {
    "organizations": """
        organization_id uuid PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()""",
    "issued_api_keys": """
        key_id text PRIMARY KEY,
        organization_id uuid NOT NULL,
        key_hash text NOT NULL,
        scopes jsonb NOT NULL,
        practice_ids jsonb NOT NULL DEFAULT '[]'::jsonb,
        label text,
        revoked boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()""",
    "master_records": """
        organization_id uuid NOT NULL,
        entity_type text NOT NULL,
        entity_id uuid NOT NULL,
        attributes jsonb NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, entity_type, entity_id)""",
    "encounters": """
        organization_id uuid NOT NULL,
        encounter_id uuid NOT NULL,
        practice_id uuid NOT NULL,
        ehr_encounter_id text NOT NULL,
        patient_id uuid NOT NULL,
        date_of_service date NOT NULL,
        status text NOT NULL,
        received_date date NOT NULL,
        snapshot jsonb NOT NULL,
        work_queue_flags jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, encounter_id),
        UNIQUE (organization_id, practice_id, ehr_encounter_id)""",
    "idempotency_keys": """
        organization_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        route text NOT NULL,
        request_hash text NOT NULL,
        status_code integer NOT NULL,
        response_body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, route, idempotency_key)""",
    "business_clocks": """
        organization_id uuid PRIMARY KEY,
        business_date date NOT NULL""",
    "audit_log": """
        id bigserial PRIMARY KEY,
        organization_id uuid NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()""",
}


def upgrade() -> None:
    for statement in infra_ddl(SCHEMA):
        op.execute(statement)
    for table, columns in TENANT_TABLES.items():
        op.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns})")
        for statement in tenant_rls_sql(SCHEMA, table):
            op.execute(statement)
    op.execute(f"CREATE INDEX master_records_by_type ON {SCHEMA}.master_records (organization_id, entity_type)")
    # The audit log is append-only for the service's runtime role.
    op.execute(f"REVOKE UPDATE, DELETE ON {SCHEMA}.audit_log FROM intake_app")
