"""The datastore API: scopes, JSON values, TTL, secrets, prefix lists and bad input."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.datastore.models import KeyValuePair
from apps.datastore.services import purge_expired_keys
from apps.datastore.tokens import execution_token, sensor_token
from apps.executions.choices import ExecutionStatus
from apps.sensors.models import Sensor
from tests.api.factories import make_execution, make_user

pytestmark = pytest.mark.django_db


def put(client, name, body, scope=None):
    suffix = f"?scope={scope}" if scope else ""
    return client.put(f"/api/v1/keys/{name}{suffix}", body, format="json")


def test_put_creates_then_replaces_a_system_key_holding_json(alice_api):
    created = put(alice_api, "deploy.targets", {"value": {"hosts": ["a", "b"], "port": 22}})
    replaced = put(alice_api, "deploy.targets", {"value": [1, 2, 3]})

    assert created.status_code == 201
    assert created.json()["value"] == {"hosts": ["a", "b"], "port": 22}
    assert replaced.status_code == 200
    shown = alice_api.get("/api/v1/keys/deploy.targets").json()
    assert shown["value"] == [1, 2, 3]
    assert shown["scope"] == "system" and shown["user"] is None and shown["secret"] is False


def test_system_keys_are_shared_between_users(alice_api, staff_api):
    put(alice_api, "shared", {"value": "from alice"})

    assert staff_api.get("/api/v1/keys/shared").json()["value"] == "from alice"


def test_user_keys_are_invisible_to_other_users(alice_api, staff_api):
    put(alice_api, "token", {"value": "alice's"}, scope="user")

    assert alice_api.get("/api/v1/keys/token?scope=user").json()["user"] == "alice"
    assert staff_api.get("/api/v1/keys/token?scope=user").status_code == 404
    assert staff_api.delete("/api/v1/keys/token?scope=user").status_code == 404
    assert alice_api.get("/api/v1/keys/token").status_code == 404  # not a system key
    listed = staff_api.get("/api/v1/keys?scope=all").json()["results"]
    assert "token" not in [key["name"] for key in listed]


def test_two_users_may_hold_user_keys_of_the_same_name(alice_api, staff_api):
    put(alice_api, "home", {"value": "/home/alice"}, scope="user")
    put(staff_api, "home", {"value": "/root"}, scope="user")

    assert alice_api.get("/api/v1/keys/home?scope=user").json()["value"] == "/home/alice"
    assert staff_api.get("/api/v1/keys/home?scope=user").json()["value"] == "/root"


def test_list_filters_by_prefix_and_scope(alice_api):
    for name in ["app.one", "app.two", "other"]:
        put(alice_api, name, {"value": name})
    put(alice_api, "app.mine", {"value": 1}, scope="user")

    def names(query):
        return [key["name"] for key in alice_api.get(f"/api/v1/keys?{query}").json()["results"]]

    assert names("prefix=app.") == ["app.one", "app.two", "app.mine"]
    assert names("prefix=app.&scope=system") == ["app.one", "app.two"]
    assert names("scope=user") == ["app.mine"]


def test_an_expired_key_is_gone_the_moment_it_expires(alice_api):
    put(alice_api, "lease", {"value": "held", "ttl": 3600})
    put(alice_api, "lease.other", {"value": "held", "ttl": 3600})
    shown = alice_api.get("/api/v1/keys/lease").json()
    assert shown["expires_at"] is not None

    # No waiting: move the expiry into the past, as the clock would (no purge has run).
    KeyValuePair.objects.filter(name="lease").update(
        expires_at=timezone.now() - timedelta(milliseconds=1)
    )

    assert alice_api.get("/api/v1/keys/lease").status_code == 404
    assert [k["name"] for k in alice_api.get("/api/v1/keys?prefix=lease").json()["results"]] == [
        "lease.other"
    ]
    assert alice_api.delete("/api/v1/keys/lease").status_code == 404
    recreated = put(alice_api, "lease", {"value": "again"})
    assert recreated.status_code == 201
    assert recreated.json()["expires_at"] is None


def test_delete_removes_a_key(alice_api):
    put(alice_api, "doomed", {"value": 1})

    assert alice_api.delete("/api/v1/keys/doomed").status_code == 204
    assert alice_api.get("/api/v1/keys/doomed").status_code == 404


def test_a_secret_is_stored_only_as_ciphertext_and_masked_in_every_answer(alice_api):
    answer = put(alice_api, "db.password", {"value": "s3cret-Pa55word", "secret": True})

    assert answer.status_code == 201
    assert answer.json()["value"] == "********"
    assert alice_api.get("/api/v1/keys/db.password").json()["value"] == "********"
    listed = alice_api.get("/api/v1/keys?prefix=db.").json()["results"]
    assert [key["value"] for key in listed] == ["********"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM datastore_keyvaluepair WHERE name = 'db.password'")
        row = cursor.fetchone()
    assert "s3cret-Pa55word" not in repr(row)
    assert any(str(column).startswith("aesgcm:") for column in row)


def test_show_secrets_reveals_to_staff_but_not_to_others(alice_api, staff_api):
    put(staff_api, "api.token", {"value": {"token": "tok-123456"}, "secret": True})

    refused = alice_api.get("/api/v1/keys/api.token?show_secrets=true")
    assert refused.status_code == 403
    assert "tok-123456" not in refused.text
    shown = staff_api.get("/api/v1/keys/api.token?show_secrets=true").json()
    assert shown["value"] == {"token": "tok-123456"}
    decrypted = staff_api.get("/api/v1/keys?prefix=api.&decrypt=true").json()["results"]
    assert decrypted[0]["value"] == {"token": "tok-123456"}


def test_the_owner_of_a_user_secret_may_reveal_it(alice_api):
    put(alice_api, "ssh.key", {"value": "PRIVATE-KEY-TEXT", "secret": True}, scope="user")

    shown = alice_api.get("/api/v1/keys/ssh.key?scope=user&show_secrets=true").json()
    assert shown["value"] == "PRIVATE-KEY-TEXT"


def test_a_secret_turned_plain_keeps_no_ciphertext(alice_api, staff_api):
    put(alice_api, "flip", {"value": "was-secret-value", "secret": True})
    put(alice_api, "flip", {"value": "now plain"})

    row = KeyValuePair.objects.get(name="flip")
    assert (row.value, row.encrypted_value, row.is_secret) == ("now plain", "", False)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v1/keys/k?scope=team", {"value": 1}, "scope must be one of"),
        ("/api/v1/keys/k", {}, "value"),
        ("/api/v1/keys/k", {"value": 1, "ttl": 0}, "ttl"),
        ("/api/v1/keys/has%20space", {"value": 1}, "key names"),
    ],
)
def test_bad_writes_get_a_400_naming_the_problem(alice_api, path, body, message):
    answer = alice_api.put(path, body, format="json")

    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert not KeyValuePair.objects.exists()


def test_the_datastore_needs_credentials(anonymous_api):
    assert anonymous_api.get("/api/v1/keys").status_code == 401
    assert anonymous_api.put("/api/v1/keys/x", {"value": 1}, format="json").status_code == 401


def test_a_forged_process_token_is_refused(anonymous_api):
    make_user("bob")
    answer = anonymous_api.get("/api/v1/keys", HTTP_X_ATTUNE_PROCESS_TOKEN="eyJ4Ijox:forged")

    assert answer.status_code == 401


def test_a_process_token_works_only_while_its_execution_runs_and_only_for_keys(
    alice, anonymous_api
):
    execution = make_execution(status=ExecutionStatus.RUNNING, created_by=alice)
    headers = {"HTTP_X_ATTUNE_PROCESS_TOKEN": execution_token(execution.pk)}

    written = anonymous_api.put(
        "/api/v1/keys/mine?scope=user", {"value": 1}, format="json", **headers
    )
    assert written.status_code == 201
    assert written.json()["user"] == "alice"  # the execution's user
    assert anonymous_api.get("/api/v1/executions", **headers).status_code == 401
    execution.status = ExecutionStatus.SUCCEEDED
    execution.save()
    assert anonymous_api.get("/api/v1/keys", **headers).status_code == 401


def test_a_sensor_token_reads_system_keys_but_has_no_user_keys(anonymous_api, examples_pack):
    sensor = Sensor.objects.create(
        pack=examples_pack, name="S", ref="examples.S", class_name="S", entry_point="s.py"
    )
    headers = {"HTTP_X_ATTUNE_PROCESS_TOKEN": sensor_token(sensor.ref)}

    assert anonymous_api.get("/api/v1/keys?scope=system", **headers).status_code == 200
    refused = anonymous_api.get("/api/v1/keys/x?scope=user", **headers)
    assert refused.status_code == 400
    assert "runs for no user" in refused.json()["detail"]
    sensor.is_enabled = False
    sensor.save()
    assert anonymous_api.get("/api/v1/keys", **headers).status_code == 401


def test_the_purge_frees_expired_keys_only(alice_api):
    put(alice_api, "old", {"value": 1, "ttl": 60})
    put(alice_api, "young", {"value": 2, "ttl": 60})
    put(alice_api, "forever", {"value": 3})
    KeyValuePair.objects.filter(name="old").update(expires_at=timezone.now())

    assert purge_expired_keys() == 1
    assert sorted(KeyValuePair.objects.values_list("name", flat=True)) == ["forever", "young"]
