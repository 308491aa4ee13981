"""Parse and check an Orquesta workflow definition (no Django imports).

`parse_workflow` turns the YAML text into a plain, JSON-serializable dict (the snapshot a
workflow execution keeps) or raises WorkflowInvalid with every problem found, each naming the
task, the field and the line.
"""

import re

import yaml

from apps.workflows.expressions import syntax_errors

ENGINE_COMMANDS = frozenset({"continue", "fail", "noop", "retry"})
WORKFLOW_KEYS = {"version", "description", "input", "vars", "tasks", "output"}
TASK_KEYS = {"action", "input", "next", "join", "with", "retry", "delay"}
TRANSITION_KEYS = {"when", "publish", "do"}
WITH_KEYS = {"items", "concurrency"}
RETRY_KEYS = {"when", "count", "delay"}
SUPPORTED_VERSIONS = {"1.0", "1"}
ACTION_REF = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$")
TASK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
INLINE_PAIR = re.compile(
    r"""\s*(?P<key>[A-Za-z_][\w.-]*)\s*=\s*"""
    r"""(?P<value><%.*?%>|\{\{.*?\}\}|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;]+)"""
    r"""\s*[,;]?""",
    re.DOTALL,
)
ITEMS_NAMES = re.compile(
    r"^\s*(?P<names>[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+in\s+(?P<expr>.+)$", re.DOTALL
)


class WorkflowInvalid(Exception):
    """The definition cannot run; `errors` is a list of {"field", "line", "message"}."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(format_error(e) for e in errors))


def format_error(error: dict) -> str:
    line = f" (line {error['line']})" if error.get("line") else ""
    return f"{error['field']}{line}: {error['message']}"


class Checker:
    """Collects errors, locating each field by its line in the YAML source."""

    def __init__(self, lines: dict):
        self.lines = lines
        self.errors: list[dict] = []

    def error(self, path: tuple, message: str) -> None:
        field = ".".join(str(p) for p in path) or "(workflow)"
        line = None
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line:
                break
        self.errors.append({"field": field, "line": line, "message": message})

    def check_expressions(self, path: tuple, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self.check_expressions((*path, key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.check_expressions((*path, index), item)
        elif isinstance(value, str):
            for message in syntax_errors(value):
                self.error(path, message)


def parse_workflow(text: str) -> dict:
    """Return the normalized workflow definition, or raise WorkflowInvalid naming each problem."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowInvalid([{"field": "(workflow)", "line": None, "message": str(exc)}]) from exc
    checker = Checker(node_lines(root, ()) if root is not None else {})
    if not isinstance(data, dict):
        checker.error((), "a workflow definition must be a mapping")
        raise WorkflowInvalid(checker.errors)
    spec = build_workflow(data, checker)
    if checker.errors:
        raise WorkflowInvalid(checker.errors)
    return spec


def node_lines(node, path: tuple) -> dict:
    """Map every path in the YAML document to the 1-based line where it starts."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines.update(node_lines(value, child))
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            lines.update(node_lines(value, (*path, index)))
    return lines


def build_workflow(data: dict, checker: Checker) -> dict:
    for key in sorted(set(data) - WORKFLOW_KEYS):
        checker.error((key,), f"unknown attribute {key!r}")
    version = str(data.get("version", ""))
    if version not in SUPPORTED_VERSIONS:
        checker.error(("version",), "is required and must be 1.0")
    tasks = data.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        checker.error(("tasks",), "is required: a mapping of task name to task")
        tasks = {}
    spec = {
        "version": "1.0",
        "description": str(data.get("description") or ""),
        "input": parse_input(data.get("input"), checker),
        "vars": parse_assignments(data.get("vars"), ("vars",), checker),
        "output": parse_assignments(data.get("output"), ("output",), checker),
        "tasks": {},
    }
    for name, task in tasks.items():
        spec["tasks"][str(name)] = parse_task(str(name), task, checker)
    check_graph(spec, checker)
    return spec


def parse_input(value, checker: Checker) -> list[dict]:
    """`input` is a list of names, or of one-key mappings name: default."""
    if value is None:
        return []
    if not isinstance(value, list):
        checker.error(("input",), "must be a list of names or name: default")
        return []
    found = []
    for index, entry in enumerate(value):
        if isinstance(entry, str):
            found.append({"name": entry, "has_default": False, "default": None})
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, default),) = entry.items()
            checker.check_expressions(("input", index, name), default)
            found.append({"name": str(name), "has_default": True, "default": default})
        else:
            checker.error(("input", index), "must be a name or one name: default")
    return found


def parse_assignments(value, path: tuple, checker: Checker) -> list[list]:
    """`vars`, `output` and `publish`: a list of name: value (or names), a mapping, or the
    inline form `a=1 b=<% ... %>`. Order matters: later ones see earlier ones."""
    if value is None:
        return []
    if isinstance(value, str):
        pairs = parse_inline(value, path, checker)
        checker.check_expressions(path, dict(pairs))
        return pairs
    if isinstance(value, dict):
        value = [{k: v} for k, v in value.items()]
    if not isinstance(value, list):
        checker.error(path, "must be a list of name: value")
        return []
    found = []
    for index, entry in enumerate(value):
        if isinstance(entry, str):
            found.append([entry, None])
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, item),) = entry.items()
            checker.check_expressions((*path, index, name), item)
            found.append([str(name), item])
        else:
            checker.error((*path, index), "must be one name: value")
    return found


def parse_inline(text: str, path: tuple, checker: Checker) -> list[list]:
    """Parse `k=v k2="v 2", k3=<% expr %>` into [[k, v], ...]; bare values are YAML scalars."""
    pairs, position = [], 0
    text = text.strip()
    while position < len(text):
        match = INLINE_PAIR.match(text, position)
        if match is None or match.end() == position:
            checker.error(path, f"cannot read {text[position:]!r}: expected name=value")
            return pairs
        pairs.append([match.group("key"), inline_value(match.group("value"))])
        position = match.end()
    return pairs


def inline_value(raw: str):
    if raw[:1] in "\"'" and raw[-1:] == raw[:1] and len(raw) >= 2:
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if raw.startswith("<%") or raw.startswith("{{"):
        return raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    return value if isinstance(value, str | int | float | bool) or value is None else raw


def parse_task(name: str, task, checker: Checker) -> dict:
    path = ("tasks", name)
    if name in ENGINE_COMMANDS:
        checker.error(path, f"{name!r} is an engine command and cannot name a task")
    elif not TASK_NAME.match(name):
        checker.error(path, "task names are letters, digits, '_', '-' and '.'")
    if task is None:
        task = {}
    if not isinstance(task, dict):
        checker.error(path, "a task must be a mapping")
        return empty_task()
    for key in sorted(set(task) - TASK_KEYS):
        checker.error((*path, key), f"unknown task attribute {key!r}")
    action, inline_input = parse_action(task.get("action"), path, checker)
    explicit_input = task.get("input") or {}
    if not isinstance(explicit_input, dict):
        checker.error((*path, "input"), "must be a mapping of parameter name to value")
        explicit_input = {}
    checker.check_expressions((*path, "input"), explicit_input)
    if explicit_input and action is None:
        checker.error((*path, "input"), "needs an action")
    return {
        "action": action,
        "input": {**inline_input, **explicit_input},
        "next": parse_next(task.get("next"), path, checker),
        "join": parse_join(task.get("join"), path, checker),
        "with": parse_with(task.get("with"), path, checker),
        "retry": parse_retry(task.get("retry"), path, checker),
        "delay": parse_seconds(task.get("delay"), (*path, "delay"), checker),
    }


def empty_task() -> dict:
    return {
        "action": None,
        "input": {},
        "next": [],
        "join": None,
        "with": None,
        "retry": None,
        "delay": None,
    }


def parse_action(value, path: tuple, checker: Checker) -> tuple:
    if value is None:
        return None, {}
    if not isinstance(value, str) or not value.strip():
        checker.error((*path, "action"), "must be an action ref such as core.local")
        return None, {}
    ref, _, rest = value.strip().partition(" ")
    if not ACTION_REF.match(ref):
        checker.error((*path, "action"), f"{ref!r} is not an action ref (pack.action)")
    pairs = parse_inline(rest, (*path, "action"), checker) if rest.strip() else []
    checker.check_expressions((*path, "action"), dict(pairs))
    return ref, dict(pairs)


def parse_next(value, path: tuple, checker: Checker) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        checker.error((*path, "next"), "must be a list of transitions")
        return []
    transitions = []
    for index, entry in enumerate(value):
        where = (*path, "next", index)
        if not isinstance(entry, dict):
            checker.error(where, "a transition must be a mapping of when, publish, do")
            continue
        for key in sorted(set(entry) - TRANSITION_KEYS):
            checker.error((*where, key), f"unknown transition attribute {key!r}")
        when = entry.get("when")
        if when is not None:
            if not isinstance(when, str):
                checker.error((*where, "when"), "must be an expression")
                when = None
            else:
                checker.check_expressions((*where, "when"), when)
        transitions.append(
            {
                "when": when,
                "publish": parse_assignments(entry.get("publish"), (*where, "publish"), checker),
                "do": parse_do(entry.get("do"), (*where, "do"), checker),
            }
        )
    return transitions


def parse_do(value, path: tuple, checker: Checker) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [name.strip() for name in re.split(r"[,\s]+", value) if name.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    checker.error(path, "must be a task name, a comma-separated list or a list of names")
    return []


def parse_join(value, path: tuple, checker: Checker):
    if value is None:
        return None
    if value == "all":
        return "all"
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    checker.error((*path, "join"), "must be 'all' or a positive number of inbound branches")
    return None


def parse_with(value, path: tuple, checker: Checker):
    if value is None:
        return None
    where = (*path, "with")
    if isinstance(value, str | list):
        value = {"items": value}
    if not isinstance(value, dict):
        checker.error(where, "must be an items expression or a mapping of items, concurrency")
        return None
    for key in sorted(set(value) - WITH_KEYS):
        checker.error((*where, key), f"unknown with attribute {key!r}")
    items, names = value.get("items"), None
    if isinstance(items, str):
        match = ITEMS_NAMES.match(items)
        if match:
            names = [n.strip() for n in match.group("names").split(",")]
            items = match.group("expr").strip()
        checker.check_expressions((*where, "items"), items)
    elif not isinstance(items, list):
        checker.error((*where, "items"), "is required: a list or an expression giving one")
    concurrency = value.get("concurrency")
    if concurrency is not None and not is_positive_or_expression(concurrency):
        checker.error((*where, "concurrency"), "must be a positive integer or an expression")
    return {"items": items, "names": names, "concurrency": concurrency}


def parse_retry(value, path: tuple, checker: Checker):
    if value is None:
        return None
    where = (*path, "retry")
    if not isinstance(value, dict):
        checker.error(where, "must be a mapping of when, count, delay")
        return None
    for key in sorted(set(value) - RETRY_KEYS):
        checker.error((*where, key), f"unknown retry attribute {key!r}")
    count = value.get("count")
    if not is_positive_or_expression(count):
        checker.error((*where, "count"), "is required: a positive integer or an expression")
    when = value.get("when")
    if when is not None:
        checker.check_expressions((*where, "when"), when)
    delay = parse_seconds(value.get("delay"), (*where, "delay"), checker)
    return {"when": when, "count": count, "delay": delay}


def parse_seconds(value, path: tuple, checker: Checker):
    if value is None:
        return None
    if isinstance(value, str):
        checker.check_expressions(path, value)
        if "<%" in value or "{{" in value:
            return value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or value < 0:
        checker.error(path, "must be a number of seconds (0 or more) or an expression")
        return None
    return value


def is_positive_or_expression(value) -> bool:
    if isinstance(value, str):
        return "<%" in value or "{{" in value
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_graph(spec: dict, checker: Checker) -> None:
    """Every `do` names a task or an engine command, and some task has no inbound transition."""
    tasks = spec["tasks"]
    for name, task in tasks.items():
        for index, transition in enumerate(task["next"]):
            for target in transition["do"]:
                if target not in tasks and target not in ENGINE_COMMANDS:
                    checker.error(
                        ("tasks", name, "next", index, "do"),
                        f"task {target!r} does not exist in this workflow",
                    )
    if tasks and not start_tasks(spec):
        checker.error(("tasks",), "no task can start: every task has an inbound transition")


def inbound_transitions(spec: dict) -> dict:
    """Task name -> the tasks with a transition leading to it (each named once)."""
    inbound: dict[str, list[str]] = {name: [] for name in spec["tasks"]}
    for name, task in spec["tasks"].items():
        for transition in task["next"]:
            for target in transition["do"]:
                if target in inbound and name not in inbound[target]:
                    inbound[target].append(name)
    return inbound


def start_tasks(spec: dict) -> list[str]:
    """Tasks without inbound transitions, in definition order."""
    inbound = inbound_transitions(spec)
    return [name for name in spec["tasks"] if not inbound[name]]
