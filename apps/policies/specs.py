"""Read a policy in StackStorm's format (policies/*.yaml or an API body) and check it.

Pure: no Django imports. Every problem names the field it concerns; parameters come back with
their defaults filled in, so what is stored is exactly what is enforced.
"""

import re
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
NAME_MAX_LENGTH = 200


@dataclass
class PolicySpec:
    name: str
    description: str
    resource_ref: str
    policy_type: str
    parameters: dict
    is_enabled: bool
    metadata_file: str = ""


def integer(minimum: int):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"must be an integer of at least {minimum}"
        return None

    return check


def number(minimum: float):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            return f"must be a number of at least {minimum}"
        return None

    return check


def one_of(*choices: str):
    def check(value):
        return None if value in choices else f"must be one of: {', '.join(choices)}"

    return check


RETRY_OUTCOMES = ("failure", "timeout", "abandoned")


def retry_outcomes(value):
    """StackStorm's single outcome, or a list of them."""
    outcomes = value if isinstance(value, list) else [value]
    if not outcomes or any(outcome not in RETRY_OUTCOMES for outcome in outcomes):
        return f"must be one of {', '.join(RETRY_OUTCOMES)}, or a list of them"
    return None


def attribute_names(value):
    if not isinstance(value, list) or not value:
        return "must be a non-empty list of parameter names"
    if not all(isinstance(name, str) and name for name in value):
        return "must be a non-empty list of parameter names"
    return None


# Per policy type: parameter name -> (default, check); a default of `...` marks it required.
CONCURRENCY_PARAMETERS = {
    "action": ("delay", one_of("delay", "cancel")),
    "threshold": (10, integer(1)),
}
POLICY_PARAMETERS = {
    "action.concurrency": CONCURRENCY_PARAMETERS,
    "action.concurrency.attr": {**CONCURRENCY_PARAMETERS, "attributes": (..., attribute_names)},
    "action.retry": {
        "retry_on": ("failure", retry_outcomes),
        "max_retry_count": (2, integer(0)),
        "delay": (0, number(0)),
        "backoff": (1, number(1)),
    },
}


def parse_policy(data, where: str, errors: list[dict]) -> PolicySpec | None:
    """Return the policy described by `data`, or None after adding errors naming `where` and
    the field."""
    before = len(errors)

    def error(field_name: str, message: str):
        errors.append({"file": where, "field": field_name, "message": message})

    if not isinstance(data, dict):
        error("", "a policy must be a mapping")
        return None
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > NAME_MAX_LENGTH:
        error("name", f"is required: up to {NAME_MAX_LENGTH} letters, digits, '_', '-' and '.'")
    resource_ref = data.get("resource_ref")
    if not isinstance(resource_ref, str) or "." not in resource_ref:
        error("resource_ref", "is required: the ref of an action, such as mypack.myaction")
    policy_type = data.get("policy_type")
    if policy_type not in POLICY_PARAMETERS:
        error("policy_type", f"must be one of: {', '.join(POLICY_PARAMETERS)}")
        parameters = {}
    else:
        parameters = check_parameters(policy_type, data.get("parameters"), error)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        error("enabled", "must be true or false")
    if len(errors) > before:
        return None
    return PolicySpec(
        name=name,
        description=str(data.get("description") or ""),
        resource_ref=resource_ref,
        policy_type=policy_type,
        parameters=parameters,
        is_enabled=enabled,
        metadata_file=where if where.startswith("policies/") else "",
    )


def check_parameters(policy_type: str, given, error) -> dict:
    """The parameters with defaults filled in; errors for unknown, missing or bad ones."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        error("parameters", "must be a mapping")
        return {}
    known = POLICY_PARAMETERS[policy_type]
    for name in sorted(set(given) - set(known)):
        message = f"unknown parameter for {policy_type}; known: {', '.join(known)}"
        error(f"parameters.{name}", message)
    values = {}
    for name, (default, check) in known.items():
        if name not in given:
            if default is ...:
                error(f"parameters.{name}", "is required")
            else:
                values[name] = default
            continue
        problem = check(given[name])
        if problem:
            error(f"parameters.{name}", problem)
        values[name] = given[name]
    return values
