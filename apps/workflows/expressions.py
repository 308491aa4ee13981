"""Evaluate Orquesta expressions: YAQL `<% %>` and sandboxed Jinja `{{ }}` (no Django imports).

A string that is exactly one expression evaluates to the expression's native value; a string
mixing text and expressions evaluates to a string. Both languages see the same functions:
`ctx()`, `result()`, `item()`, `succeeded()`, `failed()`, `completed()`, `task_status()`,
`task()`, `json()` and `zip()`. More can be added with `register_function` (the datastore adds
`st2kv()` that way).
"""

import collections.abc  # noqa: F401 - yaql 3.2 uses collections.abc without importing it
import inspect
import json
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache, partial
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
# The scope of the expression being evaluated. YAQL inspects a function's signature when it is
# registered (slow), so the functions are registered once and look the scope up here.
_CURRENT_SCOPE: ContextVar["Scope"] = ContextVar("workflow_expression_scope")
# name -> function(scope, *args): extension point for functions needing more than the scope
# (e.g. `st2kv` once the datastore exists).
EXTRA_FUNCTIONS: dict[str, Any] = {}


class ExpressionError(Exception):
    """An expression failed to parse or evaluate; the message names the expression."""


@dataclass
class Scope:
    """What expressions can see: the branch context and, on transitions, the task outcome."""

    ctx: dict
    result: Any = None
    status: str | None = None
    item: Any = None
    task_statuses: dict = field(default_factory=dict)  # task name -> latest status
    task_results: dict = field(default_factory=dict)  # task name -> latest result
    datastore: Any = None  # the requester's keys, for `st2kv()` (see apps.datastore.workflows)

    def ctx_value(self, name=None):
        if name is None:
            return self.ctx
        if name not in self.ctx:
            raise ExpressionError(f"variable {name!r} is not in the context")
        return self.ctx[name]

    def item_value(self, name=None):
        if name is None:
            return self.item
        if not isinstance(self.item, dict) or name not in self.item:
            raise ExpressionError(f"item has no value named {name!r}")
        return self.item[name]

    def task_value(self, name=None) -> dict:
        return {
            "task_name": name,
            "status": self.task_statuses.get(name),
            "result": self.task_results.get(name),
        }

    def functions(self) -> dict:
        """The expression functions bound to this scope (for Jinja)."""
        functions = {name: partial(function, self) for name, function in FUNCTIONS.items()}
        for name, function in EXTRA_FUNCTIONS.items():
            functions[name] = partial(function, self)
        return functions


def zip_lists(*lists) -> list[list]:
    """Orquesta's zip: rows of the lists side by side, padded with null."""
    return [list(row) for row in zip_longest(*lists)]


def parse_json(text):
    return json.loads(text) if isinstance(text, str) else text


FUNCTIONS = {
    "ctx": lambda scope, name=None: scope.ctx_value(name),
    "result": lambda scope: scope.result,
    "item": lambda scope, name=None: scope.item_value(name),
    "succeeded": lambda scope: scope.status == SUCCEEDED,
    "failed": lambda scope: scope.status in FAILED_STATUSES,
    "completed": lambda scope: scope.status in COMPLETED_STATUSES,
    "task_status": lambda scope, name: scope.task_statuses.get(name, "unknown"),
    "task": lambda scope, name=None: scope.task_value(name),
    "json": lambda scope, text: parse_json(text),
    "zip": lambda scope, *lists: zip_lists(*lists),
}


def yaql_function(function):
    """Wrap `function(scope, *args)` for YAQL, which calls it without the scope."""
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())[1:]

    def call(*args):
        return function(_CURRENT_SCOPE.get(), *args)

    call.__signature__ = signature.replace(parameters=parameters)
    return call


def yaql_root_context():
    context = yaql.create_context()
    for name, function in FUNCTIONS.items():
        context.register_function(yaql_function(function), name=name)
    return context


_ROOT_CONTEXT = yaql_root_context()


def register_function(name: str, function) -> None:
    """Make `function(scope, *args)` callable as `name(...)` in YAQL and Jinja expressions."""
    EXTRA_FUNCTIONS[name] = function
    _ROOT_CONTEXT.register_function(yaql_function(function), name=name)


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
    context["$"] = scope.ctx
    token = _CURRENT_SCOPE.set(scope)
    try:
        whole = WHOLE_YAQL.match(text)
        if whole and "%>" not in whole.group(1):
            return run_yaql(whole.group(1).strip(), context)
        return YAQL_PATTERN.sub(lambda m: as_text(run_yaql(m.group(1).strip(), context)), text)
    finally:
        _CURRENT_SCOPE.reset(token)


def run_yaql(expression: str, context):
    try:
        return parse_yaql(expression).evaluate(context=context)
    except ExpressionError as exc:
        raise ExpressionError(f"{exc} in <% {expression} %>") from exc
    except Exception as exc:  # noqa: BLE001 - any failure of an expression fails its task
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
    except Exception as exc:  # noqa: BLE001 - any failure of an expression fails its task
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
