"""The JSON Schema of the spec, generated from the models (schemas/devenv.schema.json).

Pydantic describes the canonical models; users may also write the short forms that the
models' before-validators accept, so those are added here for editors to accept them too.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA_ID = "https://devenv.dev/schemas/devenv.schema.json"

SHORT_FORMS: dict[str, list[dict[str, Any]]] = {
    "Base": [{"type": "string", "description": "an image reference, e.g. debian:bookworm"}],
    "ImageCache": [{"type": "string", "description": "REGISTRY[:PORT][/NAMESPACE]"}],
    "Port": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {"type": "string", "description": "[BIND:]HOST:CONTAINER[/udp] or CONTAINER"},
    ],
    "Shared": [{"type": "string", "description": "HOST:CONTAINER[:ro]"}],
    "Sshd": [{"type": "boolean"}],
    "User": [{"type": "string", "description": "the user's name"}],
}


def schema_dict() -> dict[str, Any]:
    from devenv.spec.models import Spec

    schema = Spec.model_json_schema(mode="validation")
    for name, alternatives in SHORT_FORMS.items():
        schema["$defs"][name] = {"anyOf": [schema["$defs"][name], *alternatives]}
    props = schema["properties"]
    props["command"]["anyOf"].insert(0, {"type": "string", "description": "split like a shell"})
    props["env"]["additionalProperties"] = {"type": ["string", "number", "boolean"]}
    props["env"]["propertyNames"] = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
    # `name` defaults to the file's stem, so editors must not demand it.
    schema.pop("required", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    return json.dumps(schema_dict(), indent=2, sort_keys=True) + "\n"
