"""Evaluate Orquesta expressions: YAQL `<% %>` and sandboxed Jinja `{{ }}` (no Django imports).

A string that is exactly one expression evaluates to the expression's native value; a string
mixing text and expressions evaluates to a string. Both languages see the same functions:
`ctx()`, `result()`, `item()`, `succeeded()`, `failed()`, `completed()`, `task_status()`,
`task()`, `json()` and `zip()`. More can be added with `register_function` (the datastore adds
`st2kv()` that way).
"""

import collections.abc  # noqa: F401 - yaql 3.2 uses collections.abc without importing it
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import zip_longest
from typing import Any

import yaql
from yaql.language import factory
from yaql.language.exceptions import YaqlException

from apps.core.templating import TemplateRenderError, render_value

YAQL_PATTERN = re.compile(r"<%(.*?)%>", re.DOTALL)
WHOLE_YAQL = re.compile(r"^\s*<%(.*?)%>\s*$", re.DOTALL)
JINJA_PATTERN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)

SUCCEEDED = "succeeded"
FAILED_STATUSES = frozenset({"failed", "timeout", "abandoned"})
COMPLETED_STATUSES = frozenset({SUCCEEDED, "canceled", *FAILED_STATUSES})

_ENGINE = factory.YaqlFactory().create(
    options={"yaql.convertInputData": True, "yaql.convertOutputData": True}
)
_ROOT_CONTEXT = yaql.create_context()
# name -> function(scope, *args): extension point for functions needing more than the scope
# (e.g. `st2kv` once the datastore exists).
EXTRA_FUNCTIONS: dict[str, Any] = {}


class ExpressionError(Exception):
    """An expression failed to parse or evaluate; the message names the expression."""


def register_function(name: str, function) -> None:
    """Make `function(scope, *args)` callable as `name(...)` in YAQL and Jinja expressions."""
    EXTRA_FUNCTIONS[name] = function


@dataclass
class Scope:
    """What expressions can see: the branch context and, on transitions, the task outcome."""

    ctx: dict
    result: Any = None
    status: str | None = None
    item: Any = None
    task_statuses: dict = field(default_factory=dict)  # task name -> latest status
    task_results: dict = field(default_factory=dict)  # task name -> latest result

    def functions(self) -> dict:
        def ctx(name=None):
            if name is None:
                return self.ctx
            if name not in self.ctx:
                raise ExpressionError(f"variable {name!r} is not in the context")
            return self.ctx[name]

        def item(name=None):
            if name is None:
                return self.item
            if not isinstance(self.item, dict) or name not in self.item:
                raise ExpressionError(f"item has no value named {name!r}")
            return self.item[name]

        def task(name=None):
            return {
                "task_name": name,
                "status": self.task_statuses.get(name),
                "result": self.task_results.get(name),
            }

        functions = {
            "ctx": ctx,
            "result": lambda: self.result,
            "item": item,
            "succeeded": lambda: self.status == SUCCEEDED,
            "failed": lambda: self.status in FAILED_STATUSES,
            "completed": lambda: self.status in COMPLETED_STATUSES,
            "task_status": lambda name: self.task_statuses.get(name, "unknown"),
            "task": task,
            "json": lambda text: json.loads(text) if isinstance(text, str) else text,
            "zip": lambda *lists: [list(row) for row in zip_longest(*lists)],
        }
        for name, function in EXTRA_FUNCTIONS.items():
            functions[name] = lambda *args, _f=function: _f(self, *args)
        return functions


def is_expression(value) -> bool:
    return isinstance(value, str) and ("<%" in value or "{{" in value or "{%" in value)


def contains_expression(value) -> bool:
    if isinstance(value, dict):
        return any(contains_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_expression(v) for v in value)
    return is_expression(value)


def evaluate(value, scope: Scope):
    """Evaluate every expression in `value` (recursing into lists and dicts)."""
    if isinstance(value, dict):
        return {key: evaluate(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate(item, scope) for item in value]
    if not is_expression(value):
        return value
    if "<%" in value:
        return evaluate_yaql(value, scope)
    return evaluate_jinja(value, scope)


def evaluate_yaql(text: str, scope: Scope):
    context = _ROOT_CONTEXT.create_child_context()
    for name, function in scope.functions().items():
        context.register_function(function, name=name)
    context["$"] = scope.ctx
    whole = WHOLE_YAQL.match(text)
    if whole and "%>" not in whole.group(1):
        return run_yaql(whole.group(1).strip(), context)
    return YAQL_PATTERN.sub(lambda m: as_text(run_yaql(m.group(1).strip(), context)), text)


def run_yaql(expression: str, context):
    try:
        return parse_yaql(expression).evaluate(context=context)
    except ExpressionError as exc:
        raise ExpressionError(f"{exc} in <% {expression} %>") from exc
    except (YaqlException, KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        message = str(exc) or type(exc).__name__
        raise ExpressionError(f"{type(exc).__name__}: {message} in <% {expression} %>") from exc


@lru_cache(maxsize=4096)
def parse_yaql(expression: str):
    return _ENGINE(expression)


def evaluate_jinja(text: str, scope: Scope):
    try:
        return render_value(text, scope.functions())
    except ExpressionError as exc:
        raise ExpressionError(f"{exc} in {text!r}") from exc
    except TemplateRenderError as exc:
        raise ExpressionError(str(exc)) from exc
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc} in {text!r}") from exc


def as_text(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def syntax_errors(text: str) -> list[str]:
    """What prevents the expressions in `text` from being parsed (empty when they all parse)."""
    errors = []
    for match in YAQL_PATTERN.finditer(text):
        try:
            parse_yaql(match.group(1).strip())
        except YaqlException as exc:
            errors.append(f"invalid YAQL <% {match.group(1).strip()} %>: {exc}")
    if "<%" in text and text.count("<%") != text.count("%>"):
        errors.append(f"unbalanced <% %> in {text!r}")
    if JINJA_PATTERN.search(text) or "{{" in text:
        from apps.core.templating import ENVIRONMENT

        try:
            ENVIRONMENT.parse(text)
        except Exception as exc:  # noqa: BLE001 - jinja raises several syntax error kinds
            errors.append(f"invalid Jinja in {text!r}: {exc}")
    return errors
