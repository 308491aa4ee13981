"""Read a rule in StackStorm's format (rules/*.yaml or an API body) and check its shape.

Pure: no Django imports. Checks that need the database (does the trigger type exist, do the
trigger parameters fit its schema) live in services.
"""

import re
from dataclasses import dataclass

from apps.rules.criteria import InvalidCriteriaError, compile_criteria

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass
class RuleSpec:
    name: str
    description: str
    trigger_ref: str
    trigger_parameters: dict
    criteria: dict
    action_ref: str
    action_parameters: dict
    is_enabled: bool
    metadata_file: str = ""


def parse_rule(data, where: str, errors: list[dict]) -> RuleSpec | None:
    """Return the rule described by `data`, or None after adding errors naming `where` and the
    field."""
    before = len(errors)

    def error(field_name: str, message: str):
        errors.append({"file": where, "field": field_name, "message": message})

    if not isinstance(data, dict):
        error("", "a rule must be a mapping")
        return None
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        error("name", "is required: letters, digits, '_', '-' and '.'")
    trigger = mapping(data, "trigger", error, required=True)
    trigger_ref = trigger.get("type")
    if not isinstance(trigger_ref, str) or not trigger_ref:
        error("trigger.type", "is required (a trigger type ref such as core.st2.webhook)")
    trigger_parameters = mapping(trigger, "parameters", error, prefix="trigger.")
    criteria = mapping(data, "criteria", error)
    try:
        compile_criteria(criteria)
    except InvalidCriteriaError as exc:
        error("criteria", str(exc))
    action = mapping(data, "action", error, required=True)
    action_ref = action.get("ref")
    if not isinstance(action_ref, str) or "." not in action_ref:
        error("action.ref", "is required (an action ref such as core.echo)")
    action_parameters = mapping(action, "parameters", error, prefix="action.")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        error("enabled", "must be true or false")
    if len(errors) > before:
        return None
    return RuleSpec(
        name=name,
        description=str(data.get("description") or ""),
        trigger_ref=trigger_ref,
        trigger_parameters=trigger_parameters,
        criteria=criteria,
        action_ref=action_ref,
        action_parameters=action_parameters,
        is_enabled=enabled,
        metadata_file=where,
    )


def mapping(data: dict, key: str, error, *, required: bool = False, prefix: str = "") -> dict:
    value = data.get(key)
    if value is None:
        if required:
            error(prefix + key, "is required")
        return {}
    if not isinstance(value, dict):
        error(prefix + key, "must be a mapping")
        return {}
    return value
