"""StackStorm-compatible rule criteria: operators, payload paths, compile once, evaluate often.

No Django here. Semantics follow StackStorm's `st2common/operators.py` and
`st2reactor/rules/filter.py`:

- Criteria are ANDed, in the order written; StackStorm stops at the first criterion that fails.
- A key is a path into the payload rooted at `trigger` (`item` inside `search`). Text after `#`
  is a tag and ignored, so one field can carry several criteria (`trigger.level#low`).
- A missing key and a `null` value both reach the operator as `None` (StackStorm's payload
  lookup cannot tell them apart), so `exists` fails and `nexists` passes for either; the
  evaluation detail still says which it was (`is_missing`).
- No type coercion: `5` does not equal `"5"`. Python's own equality applies, so `1 == 1.0` and
  `1 == True` hold, as they do in StackStorm.
- Operators do not guard their inputs, exactly like StackStorm's: comparing incomparable types
  (`lessthan` on `"a"` vs `5`), a string operator on a non-string value (`iequals` on `5`), an
  invalid regex, an unparsable timestamp or a missing key given to `contains` raises, and the
  raise becomes an evaluation *error* (StackStorm records a failed rule enforcement), not a
  plain non-match.
- A pattern of `None` makes every operator return False except `nequals` (`value != None`),
  `exists` and `nexists`, which ignore it.
- A string pattern containing Jinja is rendered by the caller's `render` before comparing; a
  whole `{{ expression }}` keeps its native type. Non-string patterns are never rendered.
"""

import fnmatch
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from apps.core.templating import is_template

TRIGGER_SCOPE = "trigger"
ITEM_SCOPE = "item"

Render = Callable[[Any], Any]


class _Missing:
    """The value of a payload path that does not exist (distinct from a `None` value)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


class InvalidCriteriaError(ValueError):
    """A rule's criteria are malformed; the message names the offending key."""

    code = "invalid_criteria"

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


# Operators. Each mirrors StackStorm's function of the same name, including what it raises.


def equals(value, pattern) -> bool:
    return pattern is not None and value == pattern


def nequals(value, pattern) -> bool:
    return value != pattern


def iequals(value, pattern) -> bool:
    return pattern is not None and value.lower() == pattern.lower()


def contains(value, pattern) -> bool:
    return pattern is not None and pattern in value


def ncontains(value, pattern) -> bool:
    return pattern is not None and pattern not in value


def icontains(value, pattern) -> bool:
    return pattern is not None and pattern.lower() in value.lower()


def incontains(value, pattern) -> bool:
    return pattern is not None and pattern.lower() not in value.lower()


def startswith(value, pattern) -> bool:
    return pattern is not None and value.startswith(pattern)


def istartswith(value, pattern) -> bool:
    return pattern is not None and value.lower().startswith(pattern.lower())


def endswith(value, pattern) -> bool:
    return pattern is not None and value.endswith(pattern)


def iendswith(value, pattern) -> bool:
    return pattern is not None and value.lower().endswith(pattern.lower())


def lessthan(value, pattern) -> bool:
    return pattern is not None and value < pattern


def greaterthan(value, pattern) -> bool:
    return pattern is not None and value > pattern


@lru_cache(maxsize=1024)
def compiled_regex(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, flags)


@lru_cache(maxsize=1024)
def compiled_wildcard(pattern: str) -> re.Pattern:
    return re.compile(fnmatch.translate(pattern))


def matchwildcard(value, pattern) -> bool:
    """Unix shell-style wildcards (`*`, `?`, `[seq]`) over the whole value, case-sensitively."""
    return pattern is not None and compiled_wildcard(pattern).match(value) is not None


def regex(value, pattern) -> bool:
    """Like `re.search`: unanchored unless the pattern anchors itself."""
    return pattern is not None and compiled_regex(pattern).search(value) is not None


def iregex(value, pattern) -> bool:
    return pattern is not None and compiled_regex(pattern, re.IGNORECASE).search(value) is not None


def matchregex(value, pattern) -> bool:
    """Deprecated in StackStorm: `re.match` (anchored at the start) with DOTALL."""
    return pattern is not None and compiled_regex(pattern, re.DOTALL).match(value) is not None


def seconds_since(timestamp) -> float:
    """Seconds from an ISO-8601 `timestamp` (naive means UTC) to now; negative if in the future."""
    moment = datetime.fromisoformat(str(timestamp))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds()


def timediff_lt(value, pattern) -> bool:
    return pattern is not None and seconds_since(value) < float(pattern)


def timediff_gt(value, pattern) -> bool:
    return pattern is not None and seconds_since(value) > float(pattern)


def exists(value, pattern) -> bool:
    return value is not None


def nexists(value, pattern) -> bool:
    return value is None


def inside(value, pattern) -> bool:
    return pattern is not None and value in pattern


def ninside(value, pattern) -> bool:
    return pattern is not None and value not in pattern


# (quantifier over payload items, quantifier over the nested criteria of one item)
SEARCH_CONDITIONS = {
    "any": (any, all),
    "all": (all, all),
    "any2any": (any, any),
    "all2any": (all, any),
}


def search(value, pattern, condition: str, check: Callable[[Any, Any], bool]) -> bool:
    """Match the items of a list (a lone dict counts as a one-item list) against nested criteria.

    `pattern` holds the nested criteria and `check(criterion, item)` evaluates one of them on
    one item. With `all`/`all2any`, an empty list matches; with `any`/`any2any` it does not.
    """
    items_quantifier, criteria_quantifier = SEARCH_CONDITIONS[condition]
    items = [value] if isinstance(value, dict) else value
    return items_quantifier(
        criteria_quantifier(check(criterion, item) for criterion in pattern) for item in items
    )


@dataclass(frozen=True)
class Operator:
    """A criteria comparison: a pure `(value, pattern) -> bool` and the names rules use for it.

    `prepare`, when set, compiles or validates a pattern that is not a template, once, when the
    criteria are compiled.
    """

    name: str
    check: Callable[..., bool]
    aliases: tuple[str, ...] = ()
    needs_pattern: bool = True
    prepare: Callable[[Any], object] | None = None


OPERATORS: dict[str, Operator] = {}


def register(operator: Operator) -> Operator:
    for name in (operator.name, *operator.aliases):
        if name in OPERATORS:
            raise ValueError(f"criteria operator {name!r} is already registered")
        OPERATORS[name] = operator
    return operator


def get_operator(name: str) -> Operator | None:
    """The operator a rule names as `type` (case-insensitive, as in StackStorm), or None."""
    return OPERATORS.get(name.lower())


for _operator in (
    Operator("equals", equals, aliases=("eq",)),
    Operator("nequals", nequals, aliases=("neq",)),
    Operator("iequals", iequals, aliases=("ieq",)),
    Operator("contains", contains),
    Operator("ncontains", ncontains),
    Operator("icontains", icontains),
    Operator("incontains", incontains),
    Operator("startswith", startswith),
    Operator("istartswith", istartswith),
    Operator("endswith", endswith),
    Operator("iendswith", iendswith),
    Operator("lessthan", lessthan, aliases=("lt",)),
    Operator("greaterthan", greaterthan, aliases=("gt",)),
    Operator("matchwildcard", matchwildcard, prepare=compiled_wildcard),
    Operator("regex", regex, prepare=compiled_regex),
    Operator("iregex", iregex, prepare=lambda p: compiled_regex(p, re.IGNORECASE)),
    Operator("matchregex", matchregex, prepare=lambda p: compiled_regex(p, re.DOTALL)),
    Operator("timediff_lt", timediff_lt, aliases=("td_lt",), prepare=float),
    Operator("timediff_gt", timediff_gt, aliases=("td_gt",), prepare=float),
    Operator("exists", exists, needs_pattern=False),
    Operator("nexists", nexists, needs_pattern=False),
    Operator("inside", inside, aliases=("in",)),
    Operator("ninside", ninside, aliases=("nin",)),
    Operator("search", search),
):
    register(_operator)


# Payload paths: `trigger.a.b`, `trigger.list[0]`, `trigger.headers['X-Id']`, `trigger.list[*].x`.

_ROOT = re.compile(r"\s*([^.\[\]\s]+)\s*")
_STEP = re.compile(
    r"\.\s*\*"
    r"|\[\s*\*\s*\]"
    r"|\.\s*(?P<name>[^.\[\]]+)"
    r"|\[\s*(?P<index>-?\d+)\s*\]"
    r"|\[\s*(?P<quote>['\"])(?P<quoted>.*?)(?P=quote)\s*\]"
)


@dataclass(frozen=True)
class PayloadPath:
    """A parsed criteria key: its root (`trigger`/`item`) and the steps below it."""

    root: str
    steps: tuple[tuple[str, Any], ...]


@lru_cache(maxsize=4096)
def parse_path(key: str) -> PayloadPath:
    """Parse a criteria key, dropping a `#tag` suffix; raise InvalidCriteriaError if malformed."""
    path = key.split("#", 1)[0]
    root = _ROOT.match(path)
    if root is None:
        raise InvalidCriteriaError(f"criteria key {key!r} is not a payload path", key=key)
    steps, position = [], root.end()
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            raise InvalidCriteriaError(
                f"criteria key {key!r} is not a payload path (cannot read {path[position:]!r})",
                key=key,
            )
        if step["name"] is not None:
            steps.append(("name", step["name"].strip()))
        elif step["index"] is not None:
            steps.append(("index", int(step["index"])))
        elif step["quote"] is not None:
            steps.append(("key", step["quoted"]))
        else:
            steps.append(("any", None))
        position = step.end()
    return PayloadPath(root.group(1), tuple(steps))


def _child(node, kind: str, arg):
    if isinstance(node, Mapping):
        return node.get(arg, MISSING) if kind != "index" else MISSING
    if isinstance(node, list | tuple):
        # A dotted all-digit step (`trigger.items.0`) also indexes a list; StackStorm's JSONPath
        # only accepts `[0]`, which works here too.
        if kind == "name" and arg.lstrip("-").isdigit():
            kind, arg = "index", int(arg)
        if kind == "index" and -len(node) <= arg < len(node):
            return node[arg]
    return MISSING


def _matches(node, steps):
    if not steps:
        yield node
        return
    (kind, arg), rest = steps[0], steps[1:]
    if kind == "any":
        if isinstance(node, Mapping):
            node = list(node.values())
        for child in node if isinstance(node, list | tuple) else ():
            yield from _matches(child, rest)
        return
    child = _child(node, kind, arg)
    if child is not MISSING:
        yield from _matches(child, rest)


def resolve(document, path: PayloadPath, scope: str = TRIGGER_SCOPE):
    """The value at `path` in `document` (the object named `scope`), or MISSING.

    With wildcards the first match wins, as StackStorm takes the first JSONPath match.
    """
    if path.root != scope:
        return MISSING
    return next(_matches(document, path.steps), MISSING)


def resolve_path(payload, key: str, scope: str = TRIGGER_SCOPE):
    """The value of criteria key `key` (e.g. `trigger.body.level`) in `payload`, or MISSING."""
    return resolve(payload, parse_path(key), scope)


# Compiling.


@dataclass(frozen=True)
class CompiledCriterion:
    """One validated criterion; `children` are the nested criteria of a `search`."""

    key: str
    type: str
    operator: Operator
    path: PayloadPath
    pattern: Any
    is_template: bool
    condition: str | None = None
    children: tuple["CompiledCriterion", ...] = ()


@dataclass(frozen=True)
class CompiledCriteria:
    """A rule's criteria, validated once at registration and evaluated for each trigger."""

    criteria: tuple[CompiledCriterion, ...] = ()


def compile_criteria(criteria: Mapping | None) -> CompiledCriteria:
    """Validate `criteria` (key -> {type, pattern[, condition]}) and compile static patterns."""
    return CompiledCriteria(_compile_all(criteria, where=""))


def _compile_all(criteria, where: str) -> tuple[CompiledCriterion, ...]:
    if criteria is None:
        return ()
    if not isinstance(criteria, Mapping):
        raise InvalidCriteriaError(
            f"{where}criteria must map payload keys to {{type, pattern}}, not "
            f"{type(criteria).__name__}"
        )
    return tuple(_compile_one(key, spec, where) for key, spec in criteria.items())


def _compile_one(key, spec, where: str) -> CompiledCriterion:
    label = f"{where}criteria key {key!r}"
    if not isinstance(key, str):
        raise InvalidCriteriaError(f"{label} must be a string")
    if not isinstance(spec, Mapping):
        raise InvalidCriteriaError(f"{label} must map to {{type, pattern}}", key=key)
    if "type" not in spec:
        raise InvalidCriteriaError(f"{label} has no operator 'type'", key=key)
    type_name = spec["type"]
    operator = get_operator(type_name) if isinstance(type_name, str) else None
    if operator is None:
        raise InvalidCriteriaError(
            f"{label} uses unknown operator {type_name!r}; known: {', '.join(sorted(OPERATORS))}",
            key=key,
        )
    if operator.needs_pattern and "pattern" not in spec:
        raise InvalidCriteriaError(f"{label} ({type_name}) has no 'pattern'", key=key)
    pattern = spec.get("pattern")
    path = parse_path(key)
    if operator.name == "search":
        return _compile_search(key, type_name, operator, path, spec, label)
    templated = is_template(pattern)
    if operator.prepare is not None and pattern is not None and not templated:
        try:
            operator.prepare(pattern)
        except (re.error, TypeError, ValueError) as exc:
            raise InvalidCriteriaError(
                f"{label} ({type_name}) has an invalid pattern {pattern!r}: {exc}", key=key
            ) from exc
    return CompiledCriterion(key, type_name, operator, path, pattern, templated)


def _compile_search(key, type_name, operator, path, spec, label) -> CompiledCriterion:
    condition = spec.get("condition")
    if not isinstance(condition, str) or condition not in SEARCH_CONDITIONS:
        raise InvalidCriteriaError(
            f"{label} (search) has condition {condition!r}; "
            f"expected one of {', '.join(SEARCH_CONDITIONS)}",
            key=key,
        )
    pattern = spec["pattern"]
    if not isinstance(pattern, Mapping):
        raise InvalidCriteriaError(
            f"{label} (search) pattern must map item keys (item.<path>) to criteria", key=key
        )
    children = _compile_all(pattern, where=f"{label} > ")
    return CompiledCriterion(key, type_name, operator, path, pattern, False, condition, children)


# Evaluating.


@dataclass(frozen=True)
class CriterionResult:
    """How one criterion fared: the rendered pattern, the payload value, and any error."""

    key: str
    type: str
    pattern: Any
    value: Any
    passed: bool
    error: str | None = None
    is_missing: bool = False

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "type": self.type,
            "pattern": self.pattern,
            "value": self.value,
            "passed": self.passed,
            "error": self.error,
            "is_missing": self.is_missing,
        }


@dataclass(frozen=True)
class EvaluationResult:
    """Whether a payload matched; `error` is set when the match failed because something raised.

    `reason` says why it did not match; `criteria` lists the criteria evaluated, in order.
    """

    matched: bool
    criteria: tuple[CriterionResult, ...] = ()
    reason: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "matched": self.matched,
            "reason": self.reason,
            "error": self.error,
            "criteria": [result.as_dict() for result in self.criteria],
        }


def evaluate(
    compiled: CompiledCriteria, payload, render: Render, *, stop_at_first_failure: bool = True
) -> EvaluationResult:
    """Evaluate `compiled` against a trigger `payload`; never raises.

    Like StackStorm, evaluation stops at the first failing criterion; pass
    `stop_at_first_failure=False` to see every criterion's outcome (e.g. to explain a rule).
    An error in a criterion after the first plain mismatch does not make the result an error,
    since StackStorm would never have reached it.
    """
    if compiled.criteria and not payload:
        return EvaluationResult(matched=False, reason="the trigger payload is empty")
    results = []
    for criterion in compiled.criteria:
        results.append(check_criterion(criterion, payload, render, TRIGGER_SCOPE))
        if stop_at_first_failure and not results[-1].passed:
            break
    failed = next((result for result in results if not result.passed), None)
    if failed is None:
        return EvaluationResult(matched=True, criteria=tuple(results))
    if failed.error is not None:
        reason = f"criteria key {failed.key!r} ({failed.type}) failed: {failed.error}"
        return EvaluationResult(False, tuple(results), reason=reason, error=reason)
    reason = (
        f"criteria key {failed.key!r} ({failed.type}) did not pass: value "
        f"{reprlib.repr(failed.value)}, pattern {reprlib.repr(failed.pattern)}"
    )
    return EvaluationResult(False, tuple(results), reason=reason)


def check_criterion(
    criterion: CompiledCriterion, document, render: Render, scope: str
) -> CriterionResult:
    """Evaluate one criterion against `document` (the object named `scope`); never raises."""
    pattern = criterion.pattern
    outcome = {"key": criterion.key, "type": criterion.type, "pattern": pattern, "value": None}
    if criterion.is_template:
        try:
            pattern = outcome["pattern"] = render(pattern)
        except Exception as exc:
            error = f"failed to render pattern: {_describe(exc)}"
            return CriterionResult(**outcome, passed=False, error=error)
    value = resolve(document, criterion.path, scope)
    outcome["value"] = None if value is MISSING else value
    outcome["is_missing"] = value is MISSING
    try:
        if criterion.operator.name == "search":
            passed, error = _check_search(criterion, outcome["value"], render)
        else:
            passed, error = bool(criterion.operator.check(outcome["value"], pattern)), None
    except Exception as exc:
        passed, error = False, _describe(exc)
    return CriterionResult(**outcome, passed=passed, error=error)


def _check_search(criterion: CompiledCriterion, value, render: Render) -> tuple[bool, str | None]:
    # StackStorm turns an error in a nested criterion into a non-match for that item and goes on;
    # if the search fails overall, we report the first such error so it is not silently lost.
    errors: list[CriterionResult] = []

    def check(child: CompiledCriterion, item) -> bool:
        result = check_criterion(child, item, render, ITEM_SCOPE)
        if result.error is not None:
            errors.append(result)
        return result.passed

    passed = bool(search(value, criterion.children, criterion.condition, check))
    if passed or not errors:
        return passed, None
    first = errors[0]
    return False, f"item criteria key {first.key!r} ({first.type}) failed: {first.error}"


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
