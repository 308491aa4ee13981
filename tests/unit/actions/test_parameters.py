"""Parameter specs: merging runner and action specs, validating requests, applying defaults."""

import shlex
import subprocess

import pytest

from apps.actions.parameters import (
    SECRET_MASK,
    ParameterError,
    mask_secrets,
    merge_specs,
    spec_errors,
    validate_parameters,
)


def refusal(specs: dict, supplied: dict) -> ParameterError:
    """Return the error raised when `supplied` is refused (failing if it was accepted)."""
    with pytest.raises(ParameterError) as caught:
        validate_parameters(specs, supplied)
    return caught.value


def messages_for(error: ParameterError, parameter: str) -> list[str]:
    return [e["message"] for e in error.errors if e["parameter"] == parameter]


def echo_specs() -> dict:
    """The effective specs of core.echo: a message and an immutable templated command."""
    return {
        "message": {"type": "string", "required": True},
        "cmd": {"type": "string", "immutable": True, "default": "echo {{ message | shell_quote }}"},
    }


# --- merge_specs --------------------------------------------------------------------------


def test_merge_specs_lets_the_action_override_runner_attributes():
    runner = {"timeout": {"type": "integer", "minimum": 1, "default": 60}}
    action = {"timeout": {"default": 5, "immutable": True}}

    merged = merge_specs(runner, action)

    assert merged["timeout"] == {"type": "integer", "minimum": 1, "default": 5, "immutable": True}


def test_merge_specs_keeps_runner_parameters_the_action_does_not_mention():
    runner = {"cwd": {"type": "string"}, "timeout": {"type": "integer", "default": 60}}

    merged = merge_specs(runner, {"message": {"type": "string"}})

    assert set(merged) == {"cwd", "timeout", "message"}
    assert merged["timeout"]["default"] == 60


def test_merge_specs_accepts_an_action_without_parameters():
    assert merge_specs({"cwd": {"type": "string"}}, None) == {"cwd": {"type": "string"}}


def test_merge_specs_does_not_change_the_runner_specs():
    runner = {"timeout": {"type": "integer", "default": 60}}

    merge_specs(runner, {"timeout": {"default": 5}})

    assert runner == {"timeout": {"type": "integer", "default": 60}}


# --- validate_parameters: refusals ---------------------------------------------------------


def test_missing_required_parameter_is_refused_by_name():
    error = refusal({"name": {"type": "string", "required": True}}, {})

    assert error.errors == [{"parameter": "name", "message": "is required"}]


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("integer", "5"),
        ("string", 5),
        ("integer", True),
        ("boolean", "true"),
        ("array", "a,b"),
        ("object", []),
        ("number", "1.5"),
    ],
)
def test_values_of_the_wrong_type_are_refused_without_coercion(type_name, value):
    error = refusal({"value": {"type": type_name}}, {"value": value})

    assert messages_for(error, "value")
    assert type_name in messages_for(error, "value")[0]


def test_unknown_parameter_is_refused_by_name():
    error = refusal({"name": {"type": "string"}}, {"name": "x", "nmae": "typo"})

    assert error.errors == [{"parameter": "nmae", "message": "unknown parameter"}]


def test_value_outside_enum_is_refused():
    specs = {"mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"}}

    error = refusal(specs, {"mode": "medium"})

    assert "medium" in messages_for(error, "mode")[0]


def test_overriding_an_immutable_parameter_is_refused():
    error = refusal(echo_specs(), {"message": "hi", "cmd": "rm -rf /"})

    assert messages_for(error, "cmd") == ["is immutable and cannot be overridden"]


def test_supplying_an_immutable_parameter_equal_to_its_default_is_accepted():
    specs = {"timeout": {"type": "integer", "immutable": True, "default": 30}}

    assert validate_parameters(specs, {"timeout": 30}) == {"timeout": 30}


def test_parameters_that_are_not_an_object_are_refused():
    error = refusal({"name": {"type": "string"}}, ["name"])

    assert error.errors == [{"parameter": "parameters", "message": "must be an object"}]


def test_several_problems_are_reported_together():
    specs = {
        "name": {"type": "string", "required": True},
        "count": {"type": "integer"},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
    }

    error = refusal(specs, {"count": "three", "mode": "medium"})

    assert {e["parameter"] for e in error.errors} == {"name", "count", "mode"}
    for name in ("name", "count", "mode"):
        assert name in str(error)


def test_an_invalid_secret_value_is_not_echoed_in_the_error():
    specs = {"password": {"type": "string", "secret": True, "minLength": 20}}

    error = refusal(specs, {"password": "hunter2-secret"})

    assert messages_for(error, "password")
    assert "hunter2-secret" not in str(error)
    assert "hunter2-secret" not in repr(error.errors)


def test_a_secret_of_the_wrong_type_is_not_echoed_in_the_error():
    specs = {"pin": {"type": "integer", "secret": True}}

    error = refusal(specs, {"pin": "98765432"})

    assert "98765432" not in str(error)


# --- validate_parameters: defaults ---------------------------------------------------------


def test_defaults_fill_in_parameters_the_caller_left_out():
    specs = {"times": {"type": "integer", "default": 1}, "name": {"type": "string"}}

    assert validate_parameters(specs, {"name": "ada"}) == {"name": "ada", "times": 1}


def test_caller_values_win_over_defaults():
    specs = {"times": {"type": "integer", "default": 1}}

    assert validate_parameters(specs, {"times": 3}) == {"times": 3}


def test_parameters_without_value_or_default_are_left_out():
    assert validate_parameters({"cwd": {"type": "string"}}, {}) == {}


def test_changing_the_returned_defaults_does_not_change_the_spec():
    specs = {"tags": {"type": "array", "default": ["a"]}, "env": {"type": "object", "default": {}}}

    values = validate_parameters(specs, {})
    values["tags"].append("b")
    values["env"]["X"] = "1"

    assert specs["tags"]["default"] == ["a"]
    assert specs["env"]["default"] == {}
    assert validate_parameters(specs, {}) == {"tags": ["a"], "env": {}}


def test_templated_default_is_rendered_from_the_other_parameters():
    specs = {
        "max_pause": {"type": "integer", "default": 5},
        "cmd": {"default": "sleep {{ max_pause }}"},
    }

    assert validate_parameters(specs, {"max_pause": 2})["cmd"] == "sleep 2"


def test_templated_default_quotes_a_hostile_message_for_the_shell():
    message = """it's "quoted" and costs $HOME `id`; rm -rf ~"""

    values = validate_parameters(echo_specs(), {"message": message})

    assert values["cmd"] == f"echo {shlex.quote(message)}"
    echoed = subprocess.run(["bash", "-c", values["cmd"]], capture_output=True, text=True)
    assert echoed.stdout == message + "\n"


def test_templated_default_that_reads_a_secret_is_refused():
    specs = {
        "password": {"type": "string", "secret": True},
        "cmd": {"type": "string", "default": "login --password {{ password }}"},
    }

    error = refusal(specs, {"password": "hunter2-secret"})

    assert [e["parameter"] for e in error.errors] == ["cmd"]
    assert "password" in error.errors[0]["message"]
    assert "hunter2-secret" not in str(error)


def test_templated_default_naming_an_absent_parameter_is_refused():
    error = refusal({"greeting": {"default": "hello {{ name }}"}}, {})

    assert "name" in messages_for(error, "greeting")[0]


def test_caller_supplied_template_syntax_is_not_rendered():
    specs = {"message": {"type": "string"}, "note": {"type": "string"}}
    supplied = {"message": "{{ 7 * 7 }}", "note": "{% for x in y %}{% endfor %}"}

    assert validate_parameters(specs, supplied) == supplied


def test_caller_template_syntax_reaches_a_templated_default_as_plain_text():
    values = validate_parameters(echo_specs(), {"message": "{{ 7 * 7 }}"})

    assert values["message"] == "{{ 7 * 7 }}"
    assert values["cmd"] == "echo '{{ 7 * 7 }}'"


def test_rendered_default_is_checked_against_its_type():
    specs = {
        "count": {"type": "integer", "default": 2},
        "label": {"type": "integer", "default": "n={{ count }}"},
    }

    error = refusal(specs, {})

    assert messages_for(error, "label")


def test_templates_inside_an_object_default_are_rendered():
    specs = {
        "name": {"type": "string"},
        "env": {"type": "object", "default": {"G": "hi {{ name }}"}},
    }

    assert validate_parameters(specs, {"name": "ada"})["env"] == {"G": "hi ada"}


def test_an_immutable_templated_default_is_always_rendered():
    values = validate_parameters(
        echo_specs(), {"message": "hi", "cmd": "echo {{ message | shell_quote }}"}
    )

    assert values["cmd"] == "echo hi"


# --- mask_secrets -------------------------------------------------------------------------


def test_mask_secrets_hides_only_secret_parameters():
    specs = {"user": {"type": "string"}, "password": {"type": "string", "secret": True}}

    masked = mask_secrets(specs, {"user": "ada", "password": "hunter2"})

    assert masked == {"user": "ada", "password": SECRET_MASK}


def test_mask_secrets_does_not_change_the_values_it_was_given():
    specs = {"password": {"type": "string", "secret": True}}
    values = {"password": "hunter2"}

    mask_secrets(specs, values)

    assert values == {"password": "hunter2"}


def test_mask_secrets_accepts_no_values():
    assert mask_secrets({"password": {"secret": True}}, None) == {}


# --- spec_errors --------------------------------------------------------------------------


def test_spec_errors_accepts_a_valid_spec():
    spec = {"type": "string", "required": True, "secret": True, "default": "x", "position": 0}

    assert spec_errors("name", spec) == []


def test_spec_errors_names_an_unknown_type():
    errors = spec_errors("count", {"type": "int"})

    assert any("unknown type 'int'" in e and "count" in e for e in errors)


def test_spec_errors_checks_every_type_of_a_type_list():
    errors = spec_errors("value", {"type": ["string", "text"]})

    assert any("unknown type 'text'" in e for e in errors)


def test_spec_errors_refuses_a_spec_that_is_not_a_mapping():
    assert spec_errors("name", "string") == ["parameter 'name' must be a mapping"]


def test_spec_errors_refuses_invalid_json_schema():
    errors = spec_errors("count", {"type": "integer", "minimum": "zero"})

    assert any("not valid JSON Schema" in e and "count" in e for e in errors)
