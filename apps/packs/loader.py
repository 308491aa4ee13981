"""Read a pack directory in StackStorm's on-disk format and check it (no Django imports).

Every problem is collected with the file and field it concerns, so one registration attempt
reports all of them at once.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from apps.actions.parameters import spec_errors
from apps.actions.runner_types import RUNNER_TYPES
from apps.policies.specs import PolicySpec, parse_policy
from apps.rules.specs import RuleSpec, parse_rule
from apps.workflows.spec import WorkflowInvalid, parse_workflow

REF_PATTERN = re.compile(r"^[a-z0-9_]+$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# pack.yaml fields and the longest value the database keeps for each.
FIELD_LIMITS = {"ref": 100, "name": 200, "version": 50, "author": 200, "email": 200}
NAME_MAX_LENGTH = 200


@dataclass
class ActionSpec:
    name: str
    runner_type: str
    entry_point: str
    description: str
    parameters: dict
    output_schema: dict
    is_enabled: bool
    metadata_file: str


@dataclass
class TriggerTypeSpec:
    name: str
    description: str
    payload_schema: dict
    parameters_schema: dict


@dataclass
class SensorSpec:
    name: str
    class_name: str
    entry_point: str
    description: str
    poll_interval: float | None
    is_enabled: bool
    trigger_types: list[TriggerTypeSpec]
    metadata_file: str


@dataclass
class PackSpec:
    ref: str
    name: str
    version: str
    description: str
    author: str
    email: str
    is_system: bool
    metadata: dict
    actions: list[ActionSpec] = field(default_factory=list)
    trigger_types: list[TriggerTypeSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    sensors: list[SensorSpec] = field(default_factory=list)
    policies: list[PolicySpec] = field(default_factory=list)

    def all_trigger_types(self) -> list[TriggerTypeSpec]:
        """The pack's trigger types: those in triggers/ and those its sensors declare."""
        return self.trigger_types + [t for s in self.sensors for t in s.trigger_types]


class PackInvalid(Exception):
    """The pack cannot be registered; `errors` is a list of {"file", "field", "message"}."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(format_error(e) for e in errors))


def format_error(error: dict) -> str:
    where = error["file"] + (f" [{error['field']}]" if error.get("field") else "")
    return f"{where}: {error['message']}"


def load_pack(root: Path) -> PackSpec:
    """Return the pack found at `root`, or raise PackInvalid naming every problem."""
    errors: list[dict] = []
    metadata = read_yaml(root, "pack.yaml", errors)
    if metadata is None:
        raise PackInvalid(errors)
    pack = pack_from_metadata(metadata, errors)
    for path in metadata_files(root, "actions"):
        action = load_action(root, path.relative_to(root).as_posix(), errors)
        if action is not None:
            pack.actions.append(action)
    check_unique_names(pack.actions, errors)
    for path in metadata_files(root, "triggers"):
        trigger_type = load_trigger_type(root, path.relative_to(root).as_posix(), errors)
        if trigger_type is not None:
            pack.trigger_types.append(trigger_type)
    for path in metadata_files(root, "sensors"):
        sensor = load_sensor(root, path.relative_to(root).as_posix(), errors)
        if sensor is not None:
            pack.sensors.append(sensor)
    check_unique_sensors(pack, errors)
    for path in metadata_files(root, "rules"):
        relative = path.relative_to(root).as_posix()
        data = read_yaml(root, relative, errors)
        rule = parse_rule(data, relative, errors) if data is not None else None
        if rule is not None:
            pack.rules.append(rule)
    pack.policies = load_policies(root, errors)
    if errors:
        raise PackInvalid(errors)
    return pack


def load_policies(root: Path, errors: list[dict]) -> list[PolicySpec]:
    """The pack's policies/*.yaml, each name once."""
    policies, seen = [], {}
    for path in metadata_files(root, "policies"):
        relative = path.relative_to(root).as_posix()
        data = read_yaml(root, relative, errors)
        policy = parse_policy(data, relative, errors) if data is not None else None
        if policy is None:
            continue
        if policy.name in seen:
            message = f"duplicate policy name {policy.name!r} (also in {seen[policy.name]})"
            errors.append({"file": relative, "field": "name", "message": message})
        seen[policy.name] = relative
        policies.append(policy)
    return policies


def metadata_files(root: Path, folder: str) -> list[Path]:
    """The YAML files directly in `folder` of the pack, sorted."""
    directory = root / folder
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def read_yaml(root: Path, relative: str, errors: list[dict]) -> dict | None:
    path = root / relative
    if not path.is_file():
        errors.append({"file": relative, "field": "", "message": "file is missing"})
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        errors.append({"file": relative, "field": "", "message": f"not valid YAML: {exc}"})
        return None
    if not isinstance(data, dict):
        errors.append({"file": relative, "field": "", "message": "must be a mapping"})
        return None
    return data


def pack_from_metadata(metadata: dict, errors: list[dict]) -> PackSpec:
    def error(field_name: str, message: str):
        errors.append({"file": "pack.yaml", "field": field_name, "message": message})

    name = metadata.get("name")
    ref = metadata.get("ref") or name
    if not isinstance(name, str) or not name:
        error("name", "is required")
    if not isinstance(ref, str) or not REF_PATTERN.match(ref or ""):
        error("ref", "must be lowercase letters, digits and underscores (set `ref` or `name`)")
    version = metadata.get("version")
    if version is None or not str(version).strip():
        error("version", "is required")
    for field_name, limit in FIELD_LIMITS.items():
        if len(str(metadata.get(field_name) or "")) > limit:
            error(field_name, f"is longer than {limit} characters")
    return PackSpec(
        ref=str(ref or ""),
        name=str(name or ""),
        version=str(version or ""),
        description=str(metadata.get("description") or ""),
        author=str(metadata.get("author") or ""),
        email=str(metadata.get("email") or ""),
        is_system=metadata.get("system") is True,
        metadata=metadata,
    )


def load_action(root: Path, relative: str, errors: list[dict]) -> ActionSpec | None:
    data = read_yaml(root, relative, errors)
    if data is None:
        return None
    before = len(errors)

    def error(field_name: str, message: str):
        errors.append({"file": relative, "field": field_name, "message": message})

    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > NAME_MAX_LENGTH:
        error("name", f"is required: up to {NAME_MAX_LENGTH} letters, digits, '_', '-' and '.'")
    runner_type = data.get("runner_type")
    runner = RUNNER_TYPES.get(runner_type)
    if runner is None:
        error("runner_type", f"unknown runner {runner_type!r}; known: {', '.join(RUNNER_TYPES)}")
    entry_point = data.get("entry_point") or ""
    if runner is not None and runner.needs_entry_point:
        check_entry_point(root, entry_point, error)
    if runner_type == "orquesta" and len(errors) == before:
        check_workflow(root, entry_point, errors)
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        error("parameters", "must be a mapping of parameter name to spec")
        parameters = {}
    for param_name, spec in parameters.items():
        for message in spec_errors(param_name, spec):
            error(f"parameters.{param_name}", message)
    output_schema = data.get("output_schema") or {}
    if not isinstance(output_schema, dict):
        error("output_schema", "must be a mapping")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        error("enabled", "must be true or false")
    if len(errors) > before:
        return None
    return ActionSpec(
        name=name,
        runner_type=runner_type,
        entry_point=entry_point,
        description=str(data.get("description") or ""),
        parameters=parameters,
        output_schema=output_schema,
        is_enabled=enabled,
        metadata_file=relative,
    )


def check_entry_point(root: Path, entry_point: str, error) -> None:
    """Entry points are relative to the pack's actions/ directory and must stay inside the pack."""
    if not entry_point:
        error("entry_point", "is required for this runner")
        return
    if not isinstance(entry_point, str):
        error("entry_point", "must be a path relative to actions/")
        return
    path = root / "actions" / entry_point
    if not path.resolve().is_relative_to(root.resolve()):
        error("entry_point", f"{entry_point!r} points outside the pack")
    elif path.is_symlink():
        error("entry_point", f"actions/{entry_point} is a symlink; packs are stored without them")
    elif not path.is_file():
        error("entry_point", f"file actions/{entry_point} does not exist")


def check_workflow(root: Path, entry_point: str, errors: list[dict]) -> None:
    """Refuse an Orquesta workflow definition that cannot run, naming task, field and line."""
    relative = f"actions/{entry_point}"
    try:
        parse_workflow((root / relative).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        errors.append({"file": relative, "field": "", "message": "is not UTF-8 text"})
    except WorkflowInvalid as exc:
        for problem in exc.errors:
            where = f" (line {problem['line']})" if problem.get("line") else ""
            message = problem["message"] + where
            errors.append({"file": relative, "field": problem["field"], "message": message})


def check_unique_names(actions: list[ActionSpec], errors: list[dict]) -> None:
    seen = {}
    for action in actions:
        if action.name in seen:
            errors.append(
                {
                    "file": action.metadata_file,
                    "field": "name",
                    "message": f"duplicate action name {action.name!r} "
                    f"(also in {seen[action.name]})",
                }
            )
        seen[action.name] = action.metadata_file


def load_trigger_type(root: Path, relative: str, errors: list[dict]) -> TriggerTypeSpec | None:
    data = read_yaml(root, relative, errors)
    if data is None:
        return None
    return parse_trigger_type(data, relative, "", errors)


def parse_trigger_type(
    data, relative: str, prefix: str, errors: list[dict]
) -> TriggerTypeSpec | None:
    """Check one trigger type definition; `prefix` locates it inside its file."""
    if not isinstance(data, dict):
        where = prefix.rstrip(".")
        errors.append({"file": relative, "field": where, "message": "must be a mapping"})
        return None
    before = len(errors)
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        errors.append({"file": relative, "field": f"{prefix}name", "message": "is required"})
    schemas = {}
    for key in ("payload_schema", "parameters_schema"):
        schema = data.get(key) or {}
        try:
            jsonschema.Draft7Validator.check_schema(schema)
            schemas[key] = schema
        except jsonschema.SchemaError as exc:
            errors.append({"file": relative, "field": f"{prefix}{key}", "message": exc.message})
    if len(errors) > before:
        return None
    return TriggerTypeSpec(name=name, description=str(data.get("description") or ""), **schemas)


def load_sensor(root: Path, relative: str, errors: list[dict]) -> SensorSpec | None:
    """Read one sensors/*.yaml: the Python class to run and the trigger types it emits."""
    data = read_yaml(root, relative, errors)
    if data is None:
        return None
    before = len(errors)

    def error(field_name: str, message: str):
        errors.append({"file": relative, "field": field_name, "message": message})

    class_name = data.get("class_name")
    if not isinstance(class_name, str) or not class_name.isidentifier():
        error("class_name", "is required: the name of the Python sensor class")
    name = data.get("name", class_name)  # StackStorm names a sensor after its class
    if "name" in data and not (isinstance(name, str) and NAME_PATTERN.match(name)):
        error("name", "must be letters, digits, '_', '-' and '.'")
    entry_point = data.get("entry_point") or ""
    check_sensor_entry_point(root, entry_point, error)
    poll_interval = data.get("poll_interval")
    is_number = isinstance(poll_interval, int | float) and not isinstance(poll_interval, bool)
    if poll_interval is not None and not (is_number and poll_interval > 0):
        error("poll_interval", "must be a positive number of seconds")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        error("enabled", "must be true or false")
    trigger_types = parse_sensor_trigger_types(data.get("trigger_types"), relative, errors)
    if len(errors) > before:
        return None
    return SensorSpec(
        name=name,
        class_name=class_name,
        entry_point=entry_point,
        description=str(data.get("description") or ""),
        poll_interval=float(poll_interval) if poll_interval is not None else None,
        is_enabled=enabled,
        trigger_types=trigger_types,
        metadata_file=relative,
    )


def check_sensor_entry_point(root: Path, entry_point: str, error) -> None:
    """Sensor entry points are relative to the pack's sensors/ directory (as in StackStorm)."""
    if not isinstance(entry_point, str) or not entry_point:
        error("entry_point", "is required: the Python file of the sensor class")
        return
    target = (root / "sensors" / entry_point).resolve()
    if not target.is_relative_to(root.resolve()):
        error("entry_point", f"{entry_point!r} points outside the pack")
    elif not target.is_file():
        error("entry_point", f"file sensors/{entry_point} does not exist")
    elif target.suffix != ".py":
        error("entry_point", "must be a Python file")


def parse_sensor_trigger_types(value, relative: str, errors: list[dict]) -> list[TriggerTypeSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append({"file": relative, "field": "trigger_types", "message": "must be a list"})
        return []
    found = []
    for index, data in enumerate(value):
        trigger_type = parse_trigger_type(data, relative, f"trigger_types[{index}].", errors)
        if trigger_type is not None:
            found.append(trigger_type)
    return found


def check_unique_sensors(pack: PackSpec, errors: list[dict]) -> None:
    """Sensor names are unique in a pack, and so are trigger type names across triggers/ and
    every sensor (they all become `<pack>.<name>`)."""
    sensors = {}
    for sensor in pack.sensors:
        if sensor.name in sensors:
            message = f"duplicate sensor name {sensor.name!r} (also in {sensors[sensor.name]})"
            errors.append({"file": sensor.metadata_file, "field": "name", "message": message})
        sensors[sensor.name] = sensor.metadata_file
    seen = {t.name: "triggers/" for t in pack.trigger_types}
    for sensor in pack.sensors:
        for trigger_type in sensor.trigger_types:
            if trigger_type.name in seen:
                message = (
                    f"duplicate trigger type {trigger_type.name!r} "
                    f"(also in {seen[trigger_type.name]})"
                )
                errors.append(
                    {"file": sensor.metadata_file, "field": "trigger_types", "message": message}
                )
            seen[trigger_type.name] = sensor.metadata_file
