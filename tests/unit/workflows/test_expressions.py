"""Orquesta expressions in YAQL and Jinja see the same functions."""

import pytest

from apps.workflows.expressions import ExpressionError, Scope, evaluate, syntax_errors


def scope(**kwargs) -> Scope:
    return Scope(ctx={"name": "ada", "numbers": [1, 2, 3], "nested": {"a": {"b": 7}}}, **kwargs)


def test_whole_yaql_expression_keeps_its_type():
    assert evaluate("<% ctx(numbers) %>", scope()) == [1, 2, 3]
    assert evaluate("<% ctx().nested.a.b + 1 %>", scope()) == 8
    assert evaluate('<% ctx("name") %>', scope()) == "ada"


def test_yaql_inside_text_renders_a_string():
    assert evaluate("hello <% ctx(name) %>, <% ctx(numbers) %>", scope()) == "hello ada, [1, 2, 3]"


def test_jinja_sees_the_same_functions():
    assert evaluate("{{ ctx('numbers') }}", scope()) == [1, 2, 3]
    assert evaluate("{{ ctx().name | upper }}!", scope()) == "ADA!"
    assert evaluate("{{ result().x }}", scope(result={"x": 5})) == 5


def test_task_status_functions():
    assert evaluate("<% succeeded() %>", scope(status="succeeded")) is True
    assert evaluate("<% failed() %>", scope(status="timeout")) is True
    assert evaluate("<% completed() and not failed() %>", scope(status="canceled")) is True
    statuses = {"build": "failed"}
    assert evaluate("<% task_status(build) %>", scope(task_statuses=statuses)) == "failed"
    assert evaluate("{{ task_status('build') }}", scope(task_statuses=statuses)) == "failed"


def test_item_json_zip_and_task():
    assert evaluate("<% item(host) %>", scope(item={"host": "h1"})) == "h1"
    assert evaluate("<% item() %>", scope(item="apple")) == "apple"
    assert evaluate("<% json('{\"a\": [1]}').a %>", scope()) == [1]
    assert evaluate("<% zip([1, 2], [a, b]) %>", scope()) == [[1, "a"], [2, "b"]]
    results = {"fetch": {"code": 200}}
    assert evaluate("<% task(fetch).result.code %>", scope(task_results=results)) == 200


def test_values_in_lists_and_dicts_are_evaluated():
    value = {"who": "<% ctx(name) %>", "list": ["{{ ctx('numbers')[0] }}", "plain"]}
    assert evaluate(value, scope()) == {"who": "ada", "list": [1, "plain"]}


def test_missing_variable_names_the_expression():
    with pytest.raises(ExpressionError, match="missing"):
        evaluate("<% ctx(missing) %>", scope())
    with pytest.raises(ExpressionError, match="nope"):
        evaluate("{{ ctx().nope }}", scope())


def test_syntax_errors_are_reported_before_running():
    assert syntax_errors("<% ctx(a) %>") == []
    assert syntax_errors("<% ctx(a %>")
    assert syntax_errors("{{ ctx('a') ")
    assert syntax_errors("{{ ctx( }}")


def test_registered_functions_see_the_scope_in_both_languages():
    from apps.workflows.expressions import EXTRA_FUNCTIONS, register_function

    register_function("shout", lambda scope, key: str(scope.ctx[key]).upper())
    try:
        assert evaluate("<% shout(name) %>", scope()) == "ADA"
        assert evaluate("{{ shout('name') }}", scope()) == "ADA"
    finally:
        EXTRA_FUNCTIONS.pop("shout")


@pytest.mark.parametrize("expression", ["<% 1 / 0 %>", "{{ 1 / 0 }}", "<% ctx(name).nope() %>"])
def test_any_evaluation_failure_is_an_expression_error(expression):
    with pytest.raises(ExpressionError, match="in "):
        evaluate(expression, scope())
