"""What the user wrote: the spec models, the YAML loader, the JSON Schema."""
