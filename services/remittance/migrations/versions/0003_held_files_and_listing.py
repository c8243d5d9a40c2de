"""Remittance schema: files held for review, the bytes of a refused body, the payments every readable file carries.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "remittance"

STATEMENTS = (
    # A body refused before it could be read as X12 text (UTF-16, NUL, binary) keeps its exact bytes here.
    f"ALTER TABLE {SCHEMA}.remittance_files ADD COLUMN raw_bytes bytea",
    # The same out-of-balance file delivered again answers the file already held instead of holding it twice.
    f"ALTER TABLE {SCHEMA}.remittance_files ADD COLUMN content_sha256 text",
    # Who posted or rejected a held file, when, and why.
    f"ALTER TABLE {SCHEMA}.remittance_files ADD COLUMN review jsonb",
    f"CREATE INDEX remittance_files_listing ON {SCHEMA}.remittance_files (organization_id, received_at, file_id)",
    f"CREATE INDEX remittance_files_held ON {SCHEMA}.remittance_files (organization_id, content_sha256) "
    "WHERE status = 'held'",
    # Every readable file records its payments; only posted ones take the payer + trace, so a held, rejected,
    # superseded or duplicate file never blocks the complete file that follows it.
    f"ALTER TABLE {SCHEMA}.payments ADD COLUMN status text NOT NULL DEFAULT 'posted' "
    "CHECK (status IN ('posted', 'held', 'rejected', 'superseded', 'duplicate'))",
    f"ALTER TABLE {SCHEMA}.payments ADD COLUMN payer_identifier text",
    f"ALTER TABLE {SCHEMA}.payments DROP CONSTRAINT payments_organization_id_payer_key_trace_number_key",
    f"CREATE UNIQUE INDEX payments_posted_trace ON {SCHEMA}.payments (organization_id, payer_key, trace_number) "
    "WHERE status = 'posted'",
    f"CREATE INDEX payments_held_trace ON {SCHEMA}.payments (organization_id, payer_key, trace_number) "
    "WHERE status = 'held'",
    f"CREATE INDEX payments_file ON {SCHEMA}.payments (organization_id, file_id)",
    f"CREATE INDEX payments_date ON {SCHEMA}.payments (organization_id, payment_date)",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
