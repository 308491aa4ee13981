"""`manage.py rotate_secrets_key`: every secret at rest moves to the current key."""

import pytest
from django.core.management import call_command

from apps.core import crypto
from apps.datastore.models import KeyValuePair
from apps.executions.models import Execution
from apps.executions.sealing import open_secrets

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_key(settings):
    key = crypto.new_key_text()
    settings.ATTUNE_SECRETS_KEY = key
    settings.ATTUNE_SECRETS_OLD_KEYS = []
    crypto.keyring.cache_clear()
    yield key
    crypto.keyring.cache_clear()


def test_rotation_re_encrypts_keys_and_execution_parameters(
    old_key, settings, alice_api, examples_pack
):
    alice_api.put("/api/v1/keys/rotated", {"value": "rotate-me-pw", "secret": True}, format="json")
    created = alice_api.post(
        "/api/v1/executions",
        {"action": "examples.args", "parameters": {"password": "param-pw-value"}},
        format="json",
    )
    assert created.status_code == 201

    settings.ATTUNE_SECRETS_KEY = crypto.new_key_text()
    settings.ATTUNE_SECRETS_OLD_KEYS = [old_key]
    crypto.keyring.cache_clear()
    call_command("rotate_secrets_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.ATTUNE_SECRETS_OLD_KEYS = []  # the old key is gone now
    crypto.keyring.cache_clear()

    pair = KeyValuePair.objects.get(name="rotated")
    assert crypto.decrypt_json(pair.encrypted_value, pair.encryption_context()) == "rotate-me-pw"
    execution = Execution.objects.get(pk=created.json()["id"])
    names = execution.secret_parameter_names()
    assert open_secrets(execution.parameters, names)["password"] == "param-pw-value"
    assert open_secrets(execution.supplied_parameters, names)["password"] == "param-pw-value"


def test_rotation_seals_secret_parameters_recorded_in_plaintext(old_key, examples_pack):
    created = Execution.objects.create(
        action_ref="examples.args",
        action_snapshot={"secret_parameters": ["password"]},
        parameters={"password": "legacy-plain-pw", "mode": "fast"},
        supplied_parameters={"password": "legacy-plain-pw"},
    )

    call_command("rotate_secrets_key", stdout=open("/dev/null", "w"))  # noqa: SIM115

    execution = Execution.objects.get(pk=created.pk)
    assert "legacy-plain-pw" not in repr((execution.parameters, execution.supplied_parameters))
    assert execution.parameters["mode"] == "fast"
    assert open_secrets(execution.parameters, ["password"])["password"] == "legacy-plain-pw"
