"""Action parameters: merge runner and action specs, validate a request, apply defaults.

Specs use StackStorm's format: a JSON-Schema fragment per parameter plus the keys `required`,
`default`, `secret`, `immutable` and `position`. Pure module: no Django imports.
"""

import copy

import jsonschema

from apps.core.templating import TemplateRenderError, contains_template, render_value

# Keys in a parameter spec that are ours, not JSON Schema's.
NON_SCHEMA_KEYS = {"required", "default", "secret", "immutable", "position"}
KNOWN_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}
SECRET_MASK = "********"


class ParameterError(Exception):
    """Parameters were refused; `errors` is a list of {"parameter", "message"}."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(f"{e['parameter']}: {e['message']}" for e in errors))


def merge_specs(runner_parameters: dict, action_parameters: dict) -> dict:
    """Return the effective spec per parameter: action attributes override the runner's."""
    merged = {name: dict(spec) for name, spec in runner_parameters.items()}
    for name, spec in (action_parameters or {}).items():
        merged[name] = {**merged.get(name, {}), **spec}
    return merged


def spec_errors(name: str, spec) -> list[str]:
    """Return what is wrong with one parameter spec (empty when it is valid)."""
    if not isinstance(spec, dict):
        return [f"parameter {name!r} must be a mapping"]
    errors = []
    types = spec.get("type")
    for type_name in types if isinstance(types, list) else [types]:
        if type_name is not None and type_name not in KNOWN_TYPES:
            errors.append(f"parameter {name!r} has unknown type {type_name!r}")
    try:
        jsonschema.Draft7Validator.check_schema(json_schema(spec))
    except jsonschema.SchemaError as exc:
        errors.append(f"parameter {name!r} is not valid JSON Schema: {exc.message}")
    return errors


def json_schema(spec: dict) -> dict:
    return {key: value for key, value in spec.items() if key not in NON_SCHEMA_KEYS}


def secret_names(specs: dict) -> set[str]:
    return {name for name, spec in specs.items() if spec.get("secret")}


def validate_parameters(
    specs: dict,
    supplied: dict,
    validators: dict | None = None,
    template_context: dict | None = None,
) -> dict:
    """Check `supplied` against `specs` and return the full parameters with defaults applied.

    Templated defaults (e.g. core.echo's `cmd: echo {{ message }}`) are rendered with the other
    parameters and `template_context` (e.g. `st2kv`); values the caller supplied are never
    rendered. Secret values are not available to templates, so a secret parameter cannot end up
    in a command line.
    """
    if not isinstance(supplied, dict):
        raise ParameterError([{"parameter": "parameters", "message": "must be an object"}])
    errors = [
        {"parameter": name, "message": "unknown parameter"}
        for name in supplied
        if name not in specs
    ]
    errors += [
        {"parameter": name, "message": "is immutable and cannot be overridden"}
        for name, spec in specs.items()
        if spec.get("immutable") and name in supplied and supplied[name] != spec.get("default")
    ]
    if errors:
        raise ParameterError(errors)
    # An immutable value always comes from the action (rendered), even when the caller echoed it.
    values = {k: v for k, v in supplied.items() if not specs[k].get("immutable")}
    templated = apply_defaults(specs, values)
    render_templated_defaults(specs, values, templated, template_context or {})
    check_values(specs, values, validators)
    return values


def apply_defaults(specs: dict, values: dict) -> list[str]:
    """Fill in defaults; return the names whose default is a template to render."""
    templated = []
    for name, spec in specs.items():
        if name in values or "default" not in spec:
            continue
        values[name] = copy.deepcopy(spec["default"])
        if contains_template(values[name]):
            templated.append(name)
    return templated


def render_templated_defaults(
    specs: dict, values: dict, templated: list[str], extra_context: dict
) -> None:
    """Render templated defaults; one may use another, so render in as many passes as needed."""
    secrets = secret_names(specs)
    context = {k: v for k, v in values.items() if k not in templated and k not in secrets}
    context = {**extra_context, **context}
    pending = list(templated)
    failures = {}
    while pending:
        failures = {}
        for name in pending:
            try:
                values[name] = render_value(values[name], context)
            except TemplateRenderError as exc:
                failures[name] = exc
                continue
            if name not in secrets:
                context[name] = values[name]
        if len(failures) == len(pending):
            break
        pending = list(failures)
    if failures:
        raise ParameterError(
            [
                {"parameter": name, "message": f"default could not be rendered: {exc}"}
                for name, exc in failures.items()
            ]
        )


def compile_validators(specs: dict) -> dict:
    """One JSON-Schema validator per parameter, built once per action, not per request."""
    return {name: jsonschema.Draft7Validator(json_schema(spec)) for name, spec in specs.items()}


def check_values(specs: dict, values: dict, validators: dict | None = None) -> None:
    validators = validators or compile_validators(specs)
    errors = []
    for name, spec in specs.items():
        if name not in values:
            if spec.get("required"):
                errors.append({"parameter": name, "message": "is required"})
            continue
        for error in validators[name].iter_errors(values[name]):
            errors.append({"parameter": name, "message": describe_error(name, spec, error)})
    if errors:
        raise ParameterError(errors)


def describe_error(name: str, spec: dict, error: jsonschema.ValidationError) -> str:
    """Describe a validation error without echoing a secret value back."""
    if spec.get("secret"):
        return f"is invalid ({error.validator} {error.validator_value!r})"
    return error.message


def mask_secrets(specs: dict, values: dict) -> dict:
    """Return a copy of `values` with every secret parameter replaced by a mask."""
    secrets = secret_names(specs)
    return {k: (SECRET_MASK if k in secrets else v) for k, v in (values or {}).items()}
