"""Kafka clients configured the way the design requires: idempotent producer, manual-commit consumers."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.settings import ServiceSettings


def _security(settings: ServiceSettings) -> dict[str, Any]:
    """TLS/SASL options; plaintext only on loopback development."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = ssl.create_default_context()
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """Idempotent producer (acks=all): a retried send never duplicates or reorders within a partition."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"claimflow-{settings.service_name}",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
        **_security(settings),
    )


def create_consumer(settings: ServiceSettings, *topics: str, group_id: str) -> AIOKafkaConsumer:
    """Consumer that commits only after the database commit and starts from the beginning of history."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"claimflow-{settings.service_name}",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.consumer_max_poll_records,
        isolation_level="read_uncommitted",
        **_security(settings),
    )


def create_admin(settings: ServiceSettings) -> AIOKafkaAdminClient:
    """Admin client for creating topics and reading offsets."""
    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **_security(settings))
