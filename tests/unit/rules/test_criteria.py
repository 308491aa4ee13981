"""StackStorm rule criteria: operators, payload paths, compiling and evaluating."""

from datetime import UTC, datetime, timedelta, timezone
from unittest import mock

import pytest

from apps.core.templating import render_value
from apps.rules.criteria import (
    MISSING,
    OPERATORS,
    InvalidCriteriaError,
    compile_criteria,
    evaluate,
    get_operator,
    resolve_path,
)

ERROR = "error"


def renderer(payload):
    return lambda pattern: render_value(pattern, {"trigger": payload})


def run(criteria, payload, **options):
    return evaluate(compile_criteria(criteria), payload, renderer(payload), **options)


def outcome(result):
    """`True`/`False` for a plain result, `ERROR` when the evaluation failed with an error."""
    if result.error is not None:
        assert not result.matched
        return ERROR
    return result.matched


def check(type_, value, pattern):
    return run({"trigger.value": {"type": type_, "pattern": pattern}}, {"value": value})


OPERATOR_CASES = [
    # equals / eq: no type coercion; a None pattern never matches.
    ("equals", "a", "a", True),
    ("eq", 5, 5, True),
    ("equals", 5, "5", False),
    ("equals", "5", 5, False),
    ("equals", "A", "a", False),
    ("equals", 1.0, 1, True),
    ("equals", [1, 2], [1, 2], True),
    ("equals", {"a": 1}, {"a": 1}, True),
    ("equals", None, None, False),
    # nequals / neq: the only operator that compares against a None pattern.
    ("nequals", 5, "5", True),
    ("neq", "a", "a", False),
    ("nequals", "a", None, True),
    ("nequals", None, None, False),
    # iequals / ieq: strings only.
    ("iequals", "HeLLo", "hello", True),
    ("ieq", "a", "b", False),
    ("iequals", "a", None, False),
    ("iequals", 5, "5", ERROR),
    ("iequals", None, "a", ERROR),
    # contains / ncontains work on strings and lists.
    ("contains", "hello world", "world", True),
    ("contains", "Hello", "hello", False),
    ("contains", ["a", "b"], "b", True),
    ("contains", ["a", "b"], "c", False),
    ("contains", {"k": 1}, "k", True),
    ("contains", "abc", None, False),
    ("contains", 5, "5", ERROR),
    ("contains", "abc", 5, ERROR),
    ("ncontains", "abc", "x", True),
    ("ncontains", "abc", "b", False),
    ("ncontains", ["a"], "a", False),
    ("ncontains", "abc", None, False),
    ("ncontains", 5, "5", ERROR),
    # icontains / incontains: strings only.
    ("icontains", "Hello World", "WORLD", True),
    ("icontains", "abc", "x", False),
    ("icontains", ["A"], "a", ERROR),
    ("incontains", "Hello", "LL", False),
    ("incontains", "Hello", "x", True),
    ("incontains", "Hello", None, False),
    ("incontains", 5, "x", ERROR),
    # startswith / endswith and their case-insensitive forms.
    ("startswith", "foobar", "foo", True),
    ("startswith", "foobar", "Foo", False),
    ("startswith", "foobar", None, False),
    ("startswith", 5, "5", ERROR),
    ("istartswith", "FooBar", "foo", True),
    ("istartswith", "FooBar", "bar", False),
    ("endswith", "foobar", "bar", True),
    ("endswith", "foobar", "BAR", False),
    ("endswith", ["bar"], "bar", ERROR),
    ("iendswith", "foobar", "BAR", True),
    ("iendswith", "foobar", "foo", False),
    # lessthan / lt, greaterthan / gt: incomparable types are an error.
    ("lessthan", 3, 5, True),
    ("lt", 5, 5, False),
    ("lessthan", 2.5, 3, True),
    ("lessthan", "a", "b", True),
    ("lessthan", 3, None, False),
    ("lessthan", "5", 10, ERROR),
    ("lessthan", None, 5, ERROR),
    ("greaterthan", 6, 5, True),
    ("gt", 5, 5, False),
    ("greaterthan", 5, "4", ERROR),
    # matchwildcard: shell-style, whole value, case-sensitive.
    ("matchwildcard", "server-01.prod", "server-*.prod", True),
    ("matchwildcard", "a.txt", "?.txt", True),
    ("matchwildcard", "ab.txt", "?.txt", False),
    ("matchwildcard", "xserver-1", "server-*", False),
    ("matchwildcard", "Server", "server", False),
    ("matchwildcard", "a", None, False),
    ("matchwildcard", 5, "*", ERROR),
    # regex / iregex behave like re.search: unanchored unless the pattern anchors.
    ("regex", "error: disk full", "disk", True),
    ("regex", "abc", "^b", False),
    ("regex", "abc", "^a.c$", True),
    ("regex", "ABC", "abc", False),
    ("regex", "a\nb", "a.b", False),
    ("regex", "abc", None, False),
    ("regex", 5, "5", ERROR),
    ("iregex", "ABC", "abc", True),
    ("iregex", "xABC", "^abc", False),
    # matchregex (deprecated) behaves like re.match with DOTALL.
    ("matchregex", "error: disk", "disk", False),
    ("matchregex", "disk full", "disk", True),
    ("matchregex", "a\nb", "a.b", True),
    # exists / nexists: a null value counts as absent.
    ("exists", "x", None, True),
    ("exists", 0, None, True),
    ("exists", False, None, True),
    ("exists", "", None, True),
    ("exists", None, None, False),
    ("nexists", None, None, True),
    ("nexists", "", None, False),
    # inside / in, ninside / nin: the value within a list or a string.
    ("inside", "b", ["a", "b"], True),
    ("in", "c", ["a", "b"], False),
    ("inside", "ell", "hello", True),
    ("inside", 5, [5, 6], True),
    ("inside", 5, ["5"], False),
    ("inside", None, ["a"], False),
    ("inside", "a", None, False),
    ("inside", 5, "12345", ERROR),
    ("ninside", "c", ["a", "b"], True),
    ("nin", "a", ["a"], False),
    ("ninside", "x", "hello", True),
    ("ninside", "a", None, False),
    ("ninside", 5, "5", ERROR),
]


@pytest.mark.parametrize(("type_", "value", "pattern", "expected"), OPERATOR_CASES)
def test_operator_compares_payload_value_with_pattern(type_, value, pattern, expected):
    assert outcome(check(type_, value, pattern)) == expected


def test_every_stackstorm_operator_and_alias_is_registered_and_nothing_else():
    assert set(OPERATORS) == {
        "equals", "eq", "nequals", "neq", "iequals", "ieq", "contains", "ncontains",
        "icontains", "incontains", "startswith", "istartswith", "endswith", "iendswith",
        "lessthan", "lt", "greaterthan", "gt", "matchwildcard", "regex", "iregex",
        "matchregex", "timediff_lt", "td_lt", "timediff_gt", "td_gt", "exists", "nexists",
        "inside", "in", "ninside", "nin", "search",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("eq", "equals"),
        ("neq", "nequals"),
        ("ieq", "iequals"),
        ("lt", "lessthan"),
        ("gt", "greaterthan"),
        ("td_lt", "timediff_lt"),
        ("td_gt", "timediff_gt"),
        ("in", "inside"),
        ("nin", "ninside"),
    ],
)
def test_alias_names_the_same_operator(alias, name):
    assert get_operator(alias) is get_operator(name)


def test_operator_names_are_case_insensitive():
    assert outcome(check("EQUALS", "a", "a")) is True


@pytest.mark.parametrize(
    ("type_", "pattern", "expected"),
    [
        ("exists", None, False),
        ("nexists", None, True),
        ("equals", "x", False),
        ("nequals", "x", True),
        ("inside", ["a"], False),
        ("ninside", ["a"], True),
        ("contains", "x", ERROR),
        ("iequals", "x", ERROR),
        ("lessthan", 5, ERROR),
        ("regex", "x", ERROR),
        ("inside", "abc", ERROR),
        ("timediff_lt", 60, ERROR),
    ],
)
def test_missing_key_reaches_the_operator_as_none(type_, pattern, expected):
    result = run({"trigger.absent": {"type": type_, "pattern": pattern}}, {"present": 1})
    assert outcome(result) == expected
    assert result.criteria[0].is_missing is True
    assert result.criteria[0].value is None


def test_null_value_is_reported_as_present_but_fails_exists_like_stackstorm():
    result = run({"trigger.value": {"type": "exists"}}, {"value": None})
    assert result.matched is False
    assert result.criteria[0].is_missing is False


def _iso(delta_seconds, tz=UTC, transform=lambda text: text):
    """A timestamp `delta_seconds` from the moment the test runs (not when it is collected)."""

    def build():
        moment = datetime.now(UTC) + timedelta(seconds=delta_seconds)
        return transform(moment.astimezone(tz).isoformat())

    return build


@pytest.mark.parametrize(
    ("type_", "value", "pattern", "expected"),
    [
        ("timediff_lt", _iso(-120), 60, False),
        ("timediff_gt", _iso(-120), 60, True),
        ("td_lt", _iso(-120), 300, True),
        ("td_gt", _iso(-120), 300, False),
        ("timediff_gt", _iso(-120), "60", True),
        ("timediff_lt", _iso(3600), 60, True),
        ("timediff_gt", _iso(3600), 0, False),
        ("timediff_gt", _iso(-120, timezone(timedelta(hours=2))), 60, True),
        ("timediff_lt", _iso(-120, timezone(timedelta(hours=-5))), 60, False),
        ("timediff_gt", _iso(-120, transform=lambda t: t.replace("+00:00", "Z")), 60, True),
        ("timediff_gt", _iso(-120, transform=lambda t: t.replace("+00:00", "")), 60, True),
        ("timediff_lt", _iso(-120, transform=lambda t: t.replace("+00:00", "")), 60, False),
        ("timediff_lt", _iso(-120), None, False),
        ("timediff_lt", "not a date", 60, ERROR),
        ("timediff_lt", 1419166748, 60, ERROR),
    ],
)
def test_timediff_compares_seconds_elapsed_since_timestamp(type_, value, pattern, expected):
    value = value() if callable(value) else value
    assert outcome(check(type_, value, pattern)) == expected


PAYLOAD = {
    "body": {"level": "high", "count": 3, "nothing": None},
    "items": [{"name": "first"}, {"name": "second"}],
    "headers": {"X-Custom-Header": "custom", "a.b": "dotted"},
    "dash-key": "dashed",
    "by_id": {"0": "zero"},
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("trigger.body.level", "high"),
        ("trigger.body.count", 3),
        ("trigger.body.nothing", None),
        ("trigger.items[0].name", "first"),
        ("trigger.items.1.name", "second"),
        ("trigger.items[-1].name", "second"),
        ("trigger.items[*].name", "first"),
        ("trigger.headers['X-Custom-Header']", "custom"),
        ('trigger.headers["a.b"]', "dotted"),
        ("trigger.dash-key", "dashed"),
        ("trigger.by_id.0", "zero"),
        ("trigger.body.level#tag", "high"),
        ("trigger", PAYLOAD),
        ("trigger.body.absent", MISSING),
        ("trigger.body.level.deeper", MISSING),
        ("trigger.items[5].name", MISSING),
        ("trigger.items.name", MISSING),
        ("trigger.body[0]", MISSING),
        ("payload.body.level", MISSING),
    ],
)
def test_resolve_path_reads_criteria_keys_from_the_payload(key, expected):
    assert resolve_path(PAYLOAD, key) == expected


def test_resolve_path_tells_a_missing_key_from_a_null_value():
    assert resolve_path(PAYLOAD, "trigger.body.nothing") is None
    assert resolve_path(PAYLOAD, "trigger.body.absent") is MISSING


@pytest.mark.parametrize("key", ["", "trigger..level", "trigger[abc]", "trigger.items[0"])
def test_compile_rejects_a_key_that_is_not_a_payload_path(key):
    with pytest.raises(InvalidCriteriaError) as raised:
        compile_criteria({key: {"type": "exists"}})
    assert raised.value.key == key


def test_compile_rejects_an_unknown_operator_naming_key_and_operator():
    with pytest.raises(InvalidCriteriaError, match=r"'trigger\.level'.*'equalz'") as raised:
        compile_criteria({"trigger.level": {"type": "equalz", "pattern": "x"}})
    assert raised.value.key == "trigger.level"
    assert raised.value.code == "invalid_criteria"


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        (["trigger.a"], "must map payload keys"),
        ({"trigger.a": "equals"}, "must map to"),
        ({"trigger.a": {"pattern": 1}}, "no operator 'type'"),
        ({"trigger.a": {"type": None, "pattern": 1}}, "unknown operator None"),
        ({"trigger.a": {"type": "equals"}}, "no 'pattern'"),
        ({"trigger.a": {"type": "regex", "pattern": "("}}, "invalid pattern"),
        ({"trigger.a": {"type": "matchwildcard", "pattern": 5}}, "invalid pattern"),
        ({"trigger.a": {"type": "timediff_lt", "pattern": "soon"}}, "invalid pattern"),
        ({"trigger.a": {"type": "search", "pattern": {}}}, "condition None"),
        ({"trigger.a": {"type": "search", "condition": "some", "pattern": {}}}, "'some'"),
        ({"trigger.a": {"type": "search", "condition": "any", "pattern": []}}, "item keys"),
        (
            {"trigger.a": {"type": "search", "condition": "any", "pattern": {"item.b": {}}}},
            r"'trigger\.a' > criteria key 'item\.b' has no operator",
        ),
    ],
)
def test_compile_rejects_malformed_criteria(criteria, message):
    with pytest.raises(InvalidCriteriaError, match=message):
        compile_criteria(criteria)


def test_exists_and_nexists_need_no_pattern():
    compiled = compile_criteria({"trigger.a": {"type": "exists"}, "trigger.b": {"type": "nexists"}})
    assert evaluate(compiled, {"a": 1}, renderer({"a": 1})).matched is True


def test_rule_without_criteria_matches_any_payload():
    assert evaluate(compile_criteria(None), {}, renderer({})).matched is True
    assert evaluate(compile_criteria({}), {"a": 1}, renderer({"a": 1})).matched is True


def test_criteria_never_match_an_empty_payload_even_nexists():
    result = run({"trigger.a": {"type": "nexists"}}, {})
    assert result.matched is False
    assert result.error is None
    assert "payload is empty" in result.reason


def test_whole_expression_pattern_is_rendered_to_its_native_type_before_comparing():
    criteria = {"trigger.count": {"type": "equals", "pattern": "{{ trigger.threshold }}"}}
    result = run(criteria, {"count": 10, "threshold": 10})
    assert result.matched is True
    assert result.criteria[0].pattern == 10


def test_text_template_pattern_is_rendered_to_a_string():
    payload = {"host": "web-prod-1", "env": "prod"}
    criteria = {"trigger.host": {"type": "matchwildcard", "pattern": "web-{{ trigger.env }}-*"}}
    assert run(criteria, payload).matched is True


def test_template_rendering_to_an_invalid_regex_fails_with_an_error_at_evaluation():
    payload = {"text": "abc", "expr": "("}
    result = run({"trigger.text": {"type": "regex", "pattern": "{{ trigger.expr }}"}}, payload)
    assert result.matched is False
    assert "(regex) failed: error: missing )" in result.error
    assert result.criteria[0].pattern == "("


def test_pattern_that_fails_to_render_is_an_error_naming_the_key():
    result = run({"trigger.a": {"type": "equals", "pattern": "{{ trigger.nope }}"}}, {"a": 1})
    assert result.matched is False
    assert "failed to render pattern" in result.error
    assert "'trigger.a'" in result.error


def test_only_template_strings_are_rendered():
    render = mock.Mock(side_effect=lambda pattern: "a")
    criteria = {
        "trigger.a#1": {"type": "inside", "pattern": ["{{ trigger.a }}", "b"]},
        "trigger.a#2": {"type": "equals", "pattern": "{{ trigger.a }}"},
        "trigger.a#3": {"type": "equals", "pattern": "a"},
    }
    result = evaluate(compile_criteria(criteria), {"a": "b"}, render, stop_at_first_failure=False)
    assert [r.passed for r in result.criteria] == [True, False, False]
    render.assert_called_once_with("{{ trigger.a }}")


def test_all_criteria_must_pass():
    payload = {"level": "high", "count": 3}
    criteria = {
        "trigger.level": {"type": "equals", "pattern": "high"},
        "trigger.count": {"type": "greaterthan", "pattern": 2},
    }
    assert run(criteria, payload).matched is True
    assert run(criteria, {**payload, "count": 1}).matched is False


def test_criteria_tags_apply_several_criteria_to_one_field():
    criteria = {
        "trigger.level#low": {"type": "greaterthan", "pattern": 40},
        "trigger.level#high": {"type": "lessthan", "pattern": 50},
    }
    assert run(criteria, {"level": 45}).matched is True
    assert run(criteria, {"level": 55}).matched is False


def test_evaluation_stops_at_the_first_failing_criterion_like_stackstorm():
    criteria = {
        "trigger.level": {"type": "equals", "pattern": "low"},
        "trigger.count": {"type": "lessthan", "pattern": "ten"},
    }
    result = run(criteria, {"level": "high", "count": 3})
    assert result.matched is False
    assert result.error is None
    assert [r.key for r in result.criteria] == ["trigger.level"]


def test_every_criterion_can_be_explained_without_turning_a_later_error_into_the_failure():
    criteria = {
        "trigger.level": {"type": "equals", "pattern": "low"},
        "trigger.count": {"type": "lessthan", "pattern": "ten"},
    }
    result = run(criteria, {"level": "high", "count": 3}, stop_at_first_failure=False)
    assert [r.passed for r in result.criteria] == [False, False]
    assert result.criteria[1].error.startswith("TypeError")
    assert result.error is None
    assert "'trigger.level'" in result.reason


def test_operator_error_fails_the_evaluation_with_a_reason():
    criteria = {
        "trigger.count": {"type": "lessthan", "pattern": "ten"},
        "trigger.level": {"type": "equals", "pattern": "high"},
    }
    result = run(criteria, {"level": "high", "count": 3})
    assert result.matched is False
    assert result.error == result.reason
    assert "'trigger.count' (lessthan) failed: TypeError" in result.error


def test_evaluation_result_details_each_criterion():
    criteria = {
        "trigger.level": {"type": "eq", "pattern": "high"},
        "trigger.count": {"type": "gt", "pattern": 5},
        "trigger.gone": {"type": "nexists"},
    }
    result = run(criteria, {"level": "high", "count": 3}, stop_at_first_failure=False)
    assert result.as_dict() == {
        "matched": False,
        "reason": "criteria key 'trigger.count' (gt) did not pass: value 3, pattern 5",
        "error": None,
        "criteria": [
            {
                "key": "trigger.level",
                "type": "eq",
                "pattern": "high",
                "value": "high",
                "passed": True,
                "error": None,
                "is_missing": False,
            },
            {
                "key": "trigger.count",
                "type": "gt",
                "pattern": 5,
                "value": 3,
                "passed": False,
                "error": None,
                "is_missing": False,
            },
            {
                "key": "trigger.gone",
                "type": "nexists",
                "pattern": None,
                "value": None,
                "passed": True,
                "error": None,
                "is_missing": True,
            },
        ],
    }


# search: the examples of StackStorm's rules documentation.

ISSUE_FIELDS = [
    {"field_type": "Custom", "field_name": "Status", "to_value": "Approved"},
    {"field_type": "Custom", "field_name": "Signed off by", "to_value": "Stanley"},
]
BUILT_IN_FIELD = {"field_type": "Built-in", "field_name": "Summary", "to_value": "Lorem"}
STATUS_APPROVED = {
    "item.field_name": {"type": "equals", "pattern": "Status"},
    "item.to_value": {"type": "equals", "pattern": "Approved"},
}
TANK_OUT_OF_RANGE = {
    "item.chemicalLevel#1": {"type": "lessthan", "pattern": 40},
    "item.chemicalLevel#2": {"type": "greaterthan", "pattern": 50},
}
OUTSIDE_AREA = {
    "item.latitude.value#1": {"type": "lessthan", "pattern": 40},
    "item.latitude.value#2": {"type": "greaterthan", "pattern": 50},
    "item.longitude.value#1": {"type": "lessthan", "pattern": -100},
    "item.longitude.value#2": {"type": "greaterthan", "pattern": -90},
}


def _place(latitude, longitude):
    return {"latitude": {"value": latitude}, "longitude": {"value": longitude}}


@pytest.mark.parametrize(
    ("condition", "pattern", "items", "expected"),
    [
        ("any", STATUS_APPROVED, ISSUE_FIELDS, True),
        ("any", STATUS_APPROVED, [{**ISSUE_FIELDS[0], "to_value": "Rejected"}], False),
        ("all", {"item.field_type": {"type": "eq", "pattern": "Custom"}}, ISSUE_FIELDS, True),
        (
            "all",
            {"item.field_type": {"type": "eq", "pattern": "Custom"}},
            [BUILT_IN_FIELD, *ISSUE_FIELDS],
            False,
        ),
        ("all", STATUS_APPROVED, ISSUE_FIELDS, False),
        ("any2any", TANK_OUT_OF_RANGE, [{"chemicalLevel": 43}, {"chemicalLevel": 55}], True),
        ("any2any", TANK_OUT_OF_RANGE, [{"chemicalLevel": 43}, {"chemicalLevel": 45}], False),
        ("any", TANK_OUT_OF_RANGE, [{"chemicalLevel": 30}, {"chemicalLevel": 55}], False),
        ("all2any", OUTSIDE_AREA, [_place(43, -95), _place(44, -96)], False),
        ("all2any", OUTSIDE_AREA, [_place(43, -95), _place(44, -106)], False),
        ("all2any", OUTSIDE_AREA, [_place(53, -95), _place(44, -106)], True),
        ("all2any", OUTSIDE_AREA, _place(43, -106), True),
        ("any2any", OUTSIDE_AREA, _place(43, -95), False),
        ("any", STATUS_APPROVED, [], False),
        ("any2any", STATUS_APPROVED, [], False),
        ("all", STATUS_APPROVED, [], True),
        ("all2any", STATUS_APPROVED, [], True),
    ],
)
def test_search_matches_list_items_against_nested_criteria(condition, pattern, items, expected):
    criteria = {"trigger.items": {"type": "search", "condition": condition, "pattern": pattern}}
    assert outcome(run(criteria, {"items": items})) == expected


@pytest.mark.parametrize("items", [None, 5])
def test_search_over_a_missing_or_non_list_value_is_an_error(items):
    criteria = {"trigger.items": {"type": "search", "condition": "any", "pattern": {}}}
    payload = {"other": 1} if items is None else {"items": items}
    assert outcome(run(criteria, payload)) == ERROR


def test_search_reports_a_nested_error_when_no_item_matches():
    criteria = {
        "trigger.items": {
            "type": "search",
            "condition": "any",
            "pattern": {"item.name": {"type": "icontains", "pattern": "x"}},
        }
    }
    result = run(criteria, {"items": [{"name": 5}, {"name": "abc"}]})
    assert outcome(result) == ERROR
    assert "item criteria key 'item.name' (icontains) failed: AttributeError" in result.error


def test_search_ignores_a_nested_error_when_another_item_matches():
    criteria = {
        "trigger.items": {
            "type": "search",
            "condition": "any",
            "pattern": {"item.name": {"type": "icontains", "pattern": "B"}},
        }
    }
    assert outcome(run(criteria, {"items": [{"name": 5}, {"name": "abc"}]})) is True


def test_search_nests_and_renders_nested_patterns():
    criteria = {
        "trigger.hosts": {
            "type": "search",
            "condition": "any",
            "pattern": {
                "item.name": {"type": "startswith", "pattern": "{{ trigger.prefix }}"},
                "item.disks": {
                    "type": "search",
                    "condition": "any",
                    "pattern": {"item.free": {"type": "lt", "pattern": 10}},
                },
            },
        }
    }
    hosts = [
        {"name": "db-1", "disks": [{"free": 50}, {"free": 5}]},
        {"name": "web-1", "disks": [{"free": 50}]},
    ]
    assert run(criteria, {"prefix": "db", "hosts": hosts}).matched is True
    assert run(criteria, {"prefix": "web", "hosts": hosts}).matched is False
