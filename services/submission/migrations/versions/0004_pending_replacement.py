"""Submission: a re-coded charge waiting to replace its claim until the payer's claim number is known.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "submission"


def upgrade() -> None:
    # The charge as re-coded after the claim was billed; it goes out as a replacement (frequency 7) once the claim
    # is no longer being sent and the payer's claim number is known, and is null otherwise.
    op.execute(f"ALTER TABLE {SCHEMA}.claims ADD COLUMN pending_charge jsonb")
