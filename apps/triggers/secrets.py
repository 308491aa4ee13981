"""Secret fields of trigger payloads: properties marked `secret: true` in a trigger type's
`payload_schema` (at any depth of nested objects) are masked wherever an instance is shown.
No Django imports."""

from apps.actions.parameters import SECRET_MASK


def secret_paths(schema: dict | None, prefix: tuple = ()) -> list[tuple]:
    """Paths (tuples of property names) of the secret properties of `schema`."""
    paths = []
    for name, spec in ((schema or {}).get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        if spec.get("secret"):
            paths.append((*prefix, name))
        elif spec.get("type") == "object" or "properties" in spec:
            paths += secret_paths(spec, (*prefix, name))
    return paths


def masked_payload(payload, paths: list[tuple]):
    """A copy of `payload` with the value at each path replaced by the mask."""
    if not paths or not isinstance(payload, dict):
        return payload
    masked = dict(payload)
    for path in paths:
        mask_path(masked, path)
    return masked


def mask_path(payload: dict, path: tuple) -> None:
    head, rest = path[0], path[1:]
    if head not in payload:
        return
    if not rest:
        payload[head] = SECRET_MASK
    elif isinstance(payload[head], dict):
        payload[head] = dict(payload[head])
        mask_path(payload[head], rest)


def secret_values(payload, paths: list[tuple]) -> list:
    """The values at the secret paths (to mask them where they were copied, e.g. criteria)."""
    found = []
    for path in paths:
        value = payload
        for name in path:
            value = value.get(name) if isinstance(value, dict) else None
        if value is not None:
            found.append(value)
    return found
