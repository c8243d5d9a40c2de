"""Creates every catalogue topic and its dead-letter topic explicitly: `python -m shared.topics ensure`."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from shared.events.catalogue import TOPICS
from shared.kafka import create_admin
from shared.settings import ServiceSettings, load_settings

PARTITIONS = 4


def topic_configs() -> dict[str, dict[str, str]]:
    """Every topic with its configuration: lifecycle topics keep everything, reference is compacted."""
    configs: dict[str, dict[str, str]] = {}
    for spec in TOPICS:
        if spec.compacted:
            configs[spec.name] = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
        else:
            configs[spec.name] = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
        configs[spec.dead_letter] = {
            "cleanup.policy": "delete",
            "retention.ms": "-1",
            "retention.bytes": "-1",
        }
    return configs


async def ensure_topics(settings: ServiceSettings) -> list[str]:
    """Create the missing topics; returns the names created."""
    admin = create_admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=PARTITIONS, replication_factor=1, topic_configs=config)
            for name, config in topic_configs().items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        await admin.close()


def main(argv: list[str]) -> int:
    """CLI entry point."""
    if argv != ["ensure"]:
        sys.stderr.write("usage: python -m shared.topics ensure\n")
        return 2
    settings = load_settings(ServiceSettings)
    try:
        created = asyncio.run(ensure_topics(settings))
    except KafkaConnectionError as error:
        sys.stderr.write(f"Kafka at {settings.kafka_bootstrap} is unreachable ({error}); start it with `make up`\n")
        return 1
    sys.stdout.write(f"topics: {len(created)} created, {len(topic_configs()) - len(created)} already there\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
