"""Replace secret values wherever they appear in output or results (no Django imports)."""

from apps.actions.parameters import SECRET_MASK

# Shorter values would mask ordinary text ("1", "yes") everywhere; they are too weak to hide.
MIN_MASKED_LENGTH = 4


def mask_secret_values(value, secrets: list):
    """Return `value` with every occurrence of a secret string replaced by the mask."""
    needles = sorted(
        {str(s) for s in secrets if s is not None and len(str(s)) >= MIN_MASKED_LENGTH},
        key=len,
        reverse=True,
    )
    if not needles:
        return value
    return _mask(value, needles)


def _mask(value, needles: list[str]):
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, SECRET_MASK)
        return value
    if isinstance(value, list):
        return [_mask(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: _mask(item, needles) for key, item in value.items()}
    return value
