"""Datastore secrets in templates: opened only by `decrypt_kv`, refused as they are, and
kept out of parameters that are not secret."""

import pytest

from apps.core.templating import SecretValue, TemplateRenderError, render_value
from apps.datastore.templates import parameters_holding_secrets


def secret(label: str, plaintext, revealed: list) -> SecretValue:
    def reveal():
        revealed.append(plaintext)
        return plaintext

    return SecretValue(label, reveal)


def test_decrypt_kv_opens_a_secret_and_reports_it():
    revealed = []
    context = {"pw": secret("st2kv.system.pw", "hunter2-pw", revealed)}

    assert render_value("{{ pw | decrypt_kv }}", context) == "hunter2-pw"
    assert render_value("pass={{ pw | decrypt_kv }}", context) == "pass=hunter2-pw"
    assert revealed == ["hunter2-pw", "hunter2-pw"]


def test_decrypt_kv_leaves_plain_values_alone():
    assert render_value("{{ n | decrypt_kv }}", {"n": 3}) == 3


@pytest.mark.parametrize("template", ["{{ pw }}", "pass={{ pw }}", "{{ [pw] }}"])
def test_a_secret_used_without_decrypt_kv_is_refused_naming_the_key(template):
    context = {"pw": secret("st2kv.system.pw", "hunter2-pw", [])}

    with pytest.raises(TemplateRenderError, match="st2kv.system.pw is a secret") as error:
        render_value(template, context)
    assert "hunter2-pw" not in str(error.value)


def test_parameters_holding_a_revealed_secret_are_named_unless_secret():
    values = {
        "password": "hunter2-pw",
        "cmd": "login --pass=hunter2-pw",
        "headers": {"Authorization": "Bearer hunter2-pw"},
        "count": 1,
        "note": "nothing here",
    }

    assert parameters_holding_secrets(values, {"password"}, ["hunter2-pw"]) == ["cmd", "headers"]


def test_very_short_secrets_are_not_hunted_for():
    assert parameters_holding_secrets({"n": "1 2 3"}, set(), ["1"]) == []
