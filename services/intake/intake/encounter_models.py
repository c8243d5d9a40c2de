"""Tables of the encounter history (amendments, cancellations, work-queue resolutions) in the intake schema."""

from sqlalchemy import BigInteger, Column, Date, Integer, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from intake.models import metadata

encounter_changes = Table(
    "encounter_changes",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("organization_id", UUID(as_uuid=True), nullable=False),
    Column("encounter_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("amendment_number", Integer, nullable=False),
    Column("note", Text),
    Column("business_date", Date, nullable=False),
    Column("changes", JSONB, nullable=False),
)
