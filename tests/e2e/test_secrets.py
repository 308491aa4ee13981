"""Secrets stay secret (T3.20, T3.27): a secret parameter reaches the action on stdin only —
never its environment or argv, the execution record (API or database row), its stored output
or the platform's logs — and datastore secrets are ciphertext in the database."""

import hashlib

import pytest
from django.db import connection

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS
from tests.support.events import unique
from tests.support.stack import LOG_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kvpack(stack, django_db_blocker):
    with django_db_blocker.unblock():
        return register_pack(FIXTURE_PACKS / "kvpack")


def raw_execution_row(execution_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM executions_execution WHERE id = %s", [execution_id])
        return repr(cursor.fetchone())


def platform_logs() -> str:
    return "".join(path.read_text(errors="replace") for path in LOG_DIR.glob("*.log"))


def assert_nowhere(secret: str, api, execution: dict) -> None:
    """The secret is in none of the places an operator or another user could look."""
    assert secret not in repr(execution)
    listed = api.get("/api/v1/executions", params={"action": execution["action"]}).text
    assert secret not in listed
    assert secret not in raw_execution_row(execution["id"])
    assert secret not in platform_logs()


def test_python_action_gets_its_secret_on_stdin_only(alice_api, kvpack, live_db):
    secret = unique("py-secret-token")

    execution = alice_api.run_and_wait("kvpack.leak_check", token=secret, note="hello")

    assert execution["status"] == "succeeded", execution["stderr"]
    result = execution["result"]["result"]
    assert result["token_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert (result["in_environment"], result["in_argv"], result["in_parent_argv"]) == (
        False,
        False,
        False,
    )
    assert result["echo"] == "the token is ********"
    assert execution["stdout"] == "printing the token on purpose: ********\n"
    assert execution["parameters"] == {"token": "********", "note": "hello", "timeout": 600}
    assert_nowhere(secret, alice_api, execution)


def test_shell_script_gets_its_secret_on_stdin_only(alice_api, kvpack, live_db):
    secret = unique("sh-secret-token")

    execution = alice_api.run_and_wait("kvpack.leak_check_sh", token=secret)

    assert execution["status"] == "succeeded", execution["stderr"]
    assert execution["stdout"].splitlines() == [
        "environment:clean",
        "argv:clean",
        f"sha256:{hashlib.sha256(secret.encode()).hexdigest()}",
        "printing the token on purpose: ********",
    ]
    assert_nowhere(secret, alice_api, execution)


def test_shell_command_gets_its_secret_on_stdin_only(alice_api, kvpack, live_db):
    secret = unique("cmd-secret-token")

    execution = alice_api.run_and_wait("kvpack.leak_check_cmd", token=secret)

    assert execution["status"] == "succeeded", execution["stderr"]
    assert execution["stdout"].splitlines() == [
        "environment:clean",
        "argv:clean",
        f"sha256:{hashlib.sha256(secret.encode()).hexdigest()}",
    ]
    assert_nowhere(secret, alice_api, execution)


def test_a_rerun_hands_the_same_secret_to_the_action_again(alice_api, kvpack, live_db):
    secret = unique("rerun-secret")
    first = alice_api.run_and_wait("kvpack.leak_check", token=secret)

    answer = alice_api.post(f"/api/v1/executions/{first['id']}/rerun", {})
    assert answer.status_code == 201, answer.text
    again = alice_api.wait_for(answer.json()["id"])

    assert again["status"] == "succeeded", again["stderr"]
    assert again["result"]["result"]["token_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert_nowhere(secret, alice_api, again)


def test_a_refused_secret_is_not_echoed_back(alice_api, kvpack):
    answer = alice_api.post(
        "/api/v1/executions", {"action": "kvpack.leak_check", "parameters": {"token": 12345678}}
    )

    assert answer.status_code == 400
    assert "token" in answer.json()["detail"]
    assert "12345678" not in answer.text


def test_datastore_secrets_are_ciphertext_in_the_database(admin_api, live_db):
    name = unique("t327")
    secret = unique("db-secret-value")
    assert admin_api.put(f"/api/v1/keys/{name}", {"value": secret, "secret": True}).ok

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT value, encrypted_value, is_secret FROM datastore_keyvaluepair WHERE name = %s",
            [name],
        )
        value, encrypted_value, is_secret = cursor.fetchone()

    assert (value, is_secret) == (None, True)
    assert encrypted_value.startswith("aesgcm:")
    assert secret not in encrypted_value
    assert admin_api.get(f"/api/v1/keys/{name}").json()["value"] == "********"
    assert admin_api.get(f"/api/v1/keys/{name}?show_secrets=true").json()["value"] == secret
    assert secret not in platform_logs()
