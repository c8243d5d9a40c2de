"""Tables every service keeps in its own schema: outbox, inbox, dead letters, parked messages, reference replica."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.db import tenant_rls_sql


def infra_ddl(schema: str) -> list[str]:
    """DDL of the infrastructure tables, used by each service's first migration."""
    return [
        f"""CREATE TABLE {schema}.outbox (
            id bigserial PRIMARY KEY,
            event_id text NOT NULL,
            topic text NOT NULL,
            message_key text NOT NULL,
            event_type text NOT NULL,
            value bytea NOT NULL,
            headers jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz
        )""",
        f"CREATE INDEX outbox_unsent ON {schema}.outbox (id) WHERE sent_at IS NULL",
        f"""CREATE TABLE {schema}.inbox (
            consumer text NOT NULL,
            event_id text NOT NULL,
            topic text NOT NULL,
            kafka_partition integer NOT NULL,
            kafka_offset bigint NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        )""",
        f"""CREATE TABLE {schema}.dead_letters (
            id bigserial PRIMARY KEY,
            consumer text NOT NULL,
            topic text NOT NULL,
            kafka_partition integer NOT NULL,
            kafka_offset bigint NOT NULL,
            message_key text NOT NULL,
            event_id text,
            event_type text,
            error_kind text NOT NULL,
            error text NOT NULL,
            value bytea NOT NULL,
            status text NOT NULL DEFAULT 'open',
            created_at timestamptz NOT NULL DEFAULT now(),
            resolved_at timestamptz
        )""",
        f"CREATE INDEX dead_letters_open_key ON {schema}.dead_letters (consumer, topic, message_key) "
        "WHERE status <> 'discarded' AND status <> 'replayed'",
        f"""CREATE TABLE {schema}.parked_messages (
            id bigserial PRIMARY KEY,
            consumer text NOT NULL,
            dead_letter_id bigint NOT NULL REFERENCES {schema}.dead_letters(id),
            topic text NOT NULL,
            kafka_partition integer NOT NULL,
            kafka_offset bigint NOT NULL,
            message_key text NOT NULL,
            value bytea NOT NULL,
            parked_at timestamptz NOT NULL DEFAULT now()
        )""",
        f"""CREATE TABLE {schema}.api_keys (
            key_id text PRIMARY KEY,
            organization_id uuid NOT NULL,
            key_hash text NOT NULL,
            scopes jsonb NOT NULL,
            practice_ids jsonb NOT NULL DEFAULT '[]'::jsonb,
            user_id uuid,
            revoked boolean NOT NULL DEFAULT false
        )""",
        f"""CREATE TABLE {schema}.reference_entities (
            organization_id uuid NOT NULL,
            entity_type text NOT NULL,
            entity_id text NOT NULL,
            attributes jsonb NOT NULL,
            deleted boolean NOT NULL DEFAULT false,
            event_time timestamptz NOT NULL,
            PRIMARY KEY (organization_id, entity_type, entity_id)
        )""",
        *tenant_rls_sql(schema, "reference_entities"),
    ]


@dataclass(frozen=True)
class InfraTables:
    """SQLAlchemy Core handles on one schema's infrastructure tables."""

    outbox: Table
    inbox: Table
    dead_letters: Table
    parked_messages: Table
    api_keys: Table
    reference_entities: Table


def infra_tables(metadata: MetaData) -> InfraTables:
    """Declare the infrastructure tables on a service's metadata (schema taken from the metadata)."""
    return InfraTables(
        outbox=Table(
            "outbox",
            metadata,
            Column("id", BigInteger, primary_key=True),
            Column("event_id", Text, nullable=False),
            Column("topic", Text, nullable=False),
            Column("message_key", Text, nullable=False),
            Column("event_type", Text, nullable=False),
            Column("value", LargeBinary, nullable=False),
            Column("headers", JSONB().with_variant(JSON(), "sqlite"), nullable=False),
            Column("created_at", DateTime(timezone=True)),
            Column("sent_at", DateTime(timezone=True)),
            # Writers only add rows (the runtime role may not read them back): no RETURNING of the new id.
            implicit_returning=False,
        ),
        inbox=Table(
            "inbox",
            metadata,
            Column("consumer", Text, primary_key=True),
            Column("event_id", Text, primary_key=True),
            Column("topic", Text, nullable=False),
            Column("kafka_partition", Integer, nullable=False),
            Column("kafka_offset", BigInteger, nullable=False),
            Column("processed_at", DateTime(timezone=True)),
        ),
        dead_letters=Table(
            "dead_letters",
            metadata,
            Column("id", BigInteger, primary_key=True),
            Column("consumer", Text, nullable=False),
            Column("topic", Text, nullable=False),
            Column("kafka_partition", Integer, nullable=False),
            Column("kafka_offset", BigInteger, nullable=False),
            Column("message_key", Text, nullable=False),
            Column("event_id", Text),
            Column("event_type", Text),
            Column("error_kind", Text, nullable=False),
            Column("error", Text, nullable=False),
            Column("value", LargeBinary, nullable=False),
            Column("status", String, nullable=False),
            Column("created_at", DateTime(timezone=True)),
            Column("resolved_at", DateTime(timezone=True)),
        ),
        parked_messages=Table(
            "parked_messages",
            metadata,
            Column("id", BigInteger, primary_key=True),
            Column("consumer", Text, nullable=False),
            Column("dead_letter_id", BigInteger, nullable=False),
            Column("topic", Text, nullable=False),
            Column("kafka_partition", Integer, nullable=False),
            Column("kafka_offset", BigInteger, nullable=False),
            Column("message_key", Text, nullable=False),
            Column("value", LargeBinary, nullable=False),
            Column("parked_at", DateTime(timezone=True)),
        ),
        api_keys=Table(
            "api_keys",
            metadata,
            Column("key_id", Text, primary_key=True),
            Column("organization_id", UUID(as_uuid=True), nullable=False),
            Column("key_hash", Text, nullable=False),
            Column("scopes", JSONB, nullable=False),
            Column("practice_ids", JSONB, nullable=False),
            Column("user_id", UUID(as_uuid=True)),
            Column("revoked", Boolean, nullable=False),
        ),
        reference_entities=Table(
            "reference_entities",
            metadata,
            Column("organization_id", UUID(as_uuid=True), primary_key=True),
            Column("entity_type", Text, primary_key=True),
            Column("entity_id", Text, primary_key=True),
            Column("attributes", JSONB, nullable=False),
            Column("deleted", Boolean, nullable=False),
            Column("event_time", DateTime(timezone=True), nullable=False),
        ),
    )
