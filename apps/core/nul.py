"""PostgreSQL's jsonb and text cannot hold the NUL character (\\u0000): refuse it at the door,
with the field named, instead of failing the write with a database error."""

from apps.core.exceptions import InvalidInput


def nul_character_path(value, path: str = "") -> str | None:
    """The path of the first string or key in `value` that holds a NUL character, else None."""
    if isinstance(value, str):
        return (path or "value") if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        where = f"{path}/{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where
        found = nul_character_path(item, where)
        if found is not None:
            return found
    return None


def refuse_nul_characters(value, what: str) -> None:
    """Raise InvalidInput (400) naming the field of `value` that holds a NUL character."""
    path = nul_character_path(value)
    if path is not None:
        raise InvalidInput(
            f"{what} field {path!r} contains a NUL character (\\u0000), which cannot be stored"
        )
