"""When each organization's facts last changed: the business gauges cover the most recently active organizations.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "analytics"


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {SCHEMA}.organization_activity ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now()"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.organization_activity DROP COLUMN changed_at")
