"""Cast rendered template strings to the types an action declares (StackStorm's behaviour).

Only values that came from a template are cast: a literal "5" in a rule stays a string.
Pure: no Django imports.
"""

import json

from apps.core.templating import is_template

TRUE_STRINGS = {"true", "yes", "1", "on"}
FALSE_STRINGS = {"false", "no", "0", "off"}


def cast_to_declared_types(specs: dict, templates: dict, rendered: dict) -> dict:
    return {
        name: cast_value(specs.get(name, {}).get("type"), value)
        if is_template(templates.get(name)) and isinstance(value, str)
        else value
        for name, value in rendered.items()
    }


def cast_value(declared, value: str):
    """Cast `value` to `declared`; leave it unchanged when it does not convert (validation will
    then name the parameter)."""
    try:
        if declared == "integer":
            return int(value)
        if declared == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if declared == "boolean" and value.strip().lower() in TRUE_STRINGS | FALSE_STRINGS:
            return value.strip().lower() in TRUE_STRINGS
        if declared in ("array", "object"):
            parsed = json.loads(value)
            return parsed if isinstance(parsed, list if declared == "array" else dict) else value
    except ValueError:
        return value
    return value
