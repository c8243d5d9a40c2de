"""Writes the JSON Schemas of every event type and the AsyncAPI 3.0 document: `python -m shared.schemas write`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.catalogue import EVENT_CLASSES, TOPICS, json_schemas

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 3.0 description of the catalogue: one channel per topic, one message per event type."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in TOPICS:
        channel_id = spec.name.replace(".", "_").replace("-", "_")
        types = [name for name, (topic, _) in EVENT_CLASSES.items() if topic == spec.name]
        channel_messages = {}
        for name in types:
            message_id = name.replace(".", "_").replace("-", "_")
            messages[message_id] = {
                "name": name,
                "contentType": "application/json",
                "payload": {"$ref": f"./events/{name}.json"},
                "summary": (EVENT_CLASSES[name][1].__doc__ or "").strip(),
            }
            channel_messages[message_id] = {"$ref": f"#/components/messages/{message_id}"}
        channels[channel_id] = {
            "address": spec.name,
            "description": f"Key: {spec.key}. Producer: {spec.producer}."
            + (" Compacted." if spec.compacted else " Retention unlimited."),
            "messages": channel_messages,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{spec.producer} publishes",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Claimflow events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 envelopes on Kafka; payload models live in shared/events.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def rendered() -> dict[str, str]:
    """Every generated file, path relative to shared/schemas → text."""
    files = {
        f"events/{name}.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in json_schemas().items()
    }
    files["asyncapi.json"] = json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"
    return files


def write() -> int:
    """Write the files; returns how many changed."""
    changed = 0
    for relative, text in rendered().items():
        path = SCHEMA_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed += 1
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["write"]:
        sys.stderr.write("usage: python -m shared.schemas write\n")
        raise SystemExit(2)
    sys.stdout.write(f"{write()} schema files written\n")
