"""Sandboxed Jinja rendering shared by parameters, rules and workflows (no Django imports).

A string that is exactly one `{{ expression }}` renders to the expression's native value
(number, list, object, null); any other string renders to a string.
"""

import re
import shlex
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)


class TemplateRenderError(Exception):
    """A template failed to compile or render; the message says why."""


class SecretNotDecrypted(TemplateError):
    """A datastore secret was used as it is, without `decrypt_kv`."""


class SecretValue:
    """A secret from the datastore (`st2kv.system.<name>`): only `decrypt_kv` opens it.

    `reveal` is called by the filter; whoever supplied it learns what was revealed, so it can
    keep the plaintext out of places secrets must not go.
    """

    def __init__(self, label: str, reveal):
        self._label = label
        self._reveal = reveal

    def __str__(self):
        raise SecretNotDecrypted(f"{self._label} is a secret: use `{self._label} | decrypt_kv`")


def decrypt_kv(value):
    """StackStorm's filter: the plaintext of a datastore secret (other values pass as they are)."""
    return value._reveal() if isinstance(value, SecretValue) else value


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters["shell_quote"] = lambda value: shlex.quote(str(value))
    env.filters["decrypt_kv"] = decrypt_kv
    return env


ENVIRONMENT = _environment()


def is_template(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@lru_cache(maxsize=4096)
def compile_expression(expression: str):
    return ENVIRONMENT.compile_expression(expression, undefined_to_none=False)


@lru_cache(maxsize=4096)
def compile_template(source: str):
    return ENVIRONMENT.from_string(source)


def refuse_undefined(value) -> None:
    """Raise UndefinedError (naming the variable) if `value` holds an undefined anywhere, and
    SecretNotDecrypted if it holds a datastore secret not passed through `decrypt_kv`."""
    if isinstance(value, Undefined | SecretValue):
        str(value)
    elif isinstance(value, dict):
        for item in value.values():
            refuse_undefined(item)
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_undefined(item)


def contains_template(value) -> bool:
    """True if `value`, or any string inside it, is a template."""
    if isinstance(value, dict):
        return any(contains_template(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_template(item) for item in value)
    return is_template(value)


def render_value(value, context: dict):
    """Render `value` (recursing into lists and dicts) against `context`."""
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if not is_template(value):
        return value
    try:
        match = WHOLE_EXPRESSION.match(value)
        if match and "}}" not in match.group("expr"):
            result = compile_expression(match.group("expr").strip())(**context)
            refuse_undefined(result)
            return result
        return compile_template(value).render(**context)
    except TemplateError as exc:
        raise TemplateRenderError(f"{exc.__class__.__name__}: {exc} in {value!r}") from exc
