"""Sandboxed Jinja rendering of parameter values."""

import subprocess

import pytest

from apps.core.templating import TemplateRenderError, is_template, render_value


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("{{ count }}", {"count": 3}, 3),
        ("{{ count + 1 }}", {"count": 3}, 4),
        ("{{ tags }}", {"tags": ["a", "b"]}, ["a", "b"]),
        ("{{ env }}", {"env": {"A": "1"}}, {"A": "1"}),
        ("{{ nothing }}", {"nothing": None}, None),
        ("{{ flag }}", {"flag": False}, False),
        ("  {{ count }}  ", {"count": 3}, 3),
    ],
)
def test_a_whole_expression_keeps_the_type_of_its_value(template, context, expected):
    assert render_value(template, context) == expected
    assert type(render_value(template, context)) is type(expected)


def test_a_template_mixing_text_and_expressions_renders_to_a_string():
    assert render_value("sleep {{ seconds }}", {"seconds": 5}) == "sleep 5"


def test_two_expressions_render_to_a_string():
    assert render_value("{{ a }}{{ b }}", {"a": 1, "b": 2}) == "12"


def test_statements_render_to_a_string():
    assert render_value("{% for t in tags %}{{ t }},{% endfor %}", {"tags": ["a", "b"]}) == "a,b,"


def test_templates_inside_dicts_and_lists_are_rendered():
    value = {"cmd": "echo {{ name }}", "args": ["{{ count }}", "plain", {"deep": "{{ name }}"}]}

    rendered = render_value(value, {"name": "ada", "count": 2})

    assert rendered == {"cmd": "echo ada", "args": [2, "plain", {"deep": "ada"}]}


def test_values_without_template_syntax_are_returned_unchanged():
    for value in ["plain text", 5, None, True, "{ not a template }"]:
        assert render_value(value, {}) == value


def test_is_template_recognises_expressions_and_statements_only_in_strings():
    assert is_template("{{ x }}")
    assert is_template("{% if x %}y{% endif %}")
    assert not is_template("plain")
    assert not is_template(["{{ x }}"])


@pytest.mark.parametrize("template", ["{{ missing }}", "hello {{ missing }}", "{{ missing + 1 }}"])
def test_an_undefined_variable_is_refused_by_name(template):
    with pytest.raises(TemplateRenderError, match="missing"):
        render_value(template, {"present": 1})


def test_a_missing_attribute_is_refused():
    with pytest.raises(TemplateRenderError, match="nope"):
        render_value("{{ env.nope }}", {"env": {}})


@pytest.mark.parametrize("template", ["{{ [missing] }}", "{{ {'key': missing} }}"])
def test_an_undefined_variable_inside_a_literal_is_refused(template):
    with pytest.raises(TemplateRenderError, match="missing"):
        render_value(template, {})


def test_a_syntax_error_is_refused():
    with pytest.raises(TemplateRenderError):
        render_value("{{ name | }}", {"name": "x"})


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "x {{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ value.__dict__ }}",
    ],
)
def test_the_sandbox_refuses_unsafe_attribute_access(template):
    with pytest.raises(TemplateRenderError):
        render_value(template, {"value": object(), "cycler": object()})


def test_shell_quote_makes_any_value_one_shell_word():
    message = """it's "quoted" $HOME `id` ; echo pwned"""

    command = render_value("printf %s {{ message | shell_quote }}", {"message": message})

    printed = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert printed.stdout == message


def test_shell_quote_quotes_non_strings_and_empty_strings():
    assert render_value("{{ n | shell_quote }}", {"n": 5}) == "5"
    assert render_value("echo {{ s | shell_quote }}", {"s": ""}) == "echo ''"


def test_rendering_does_not_autoescape_html():
    assert render_value("{{ x }} ok", {"x": "<b>&</b>"}) == "<b>&</b> ok"
