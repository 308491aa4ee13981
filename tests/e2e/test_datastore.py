"""The datastore end to end: Python actions and sensors use it through action_service /
sensor_service (T1.6), one action's writes are the next one's reads, with secrets and TTL
(T2.3), and rule and action-default templates read it with `st2kv` and `decrypt_kv`."""

import hashlib
import json
import time

import pytest

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS
from tests.support.events import post_webhook, unique, wait_for_enforcements, webhook_rule

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kvpack(stack, django_db_blocker):
    with django_db_blocker.unblock():
        return register_pack(FIXTURE_PACKS / "kvpack")


def call(method: str, *args, **kwargs) -> dict:
    return {"method": method, "args": list(args), "kwargs": kwargs}


def digest(request: dict) -> dict:
    return {**request, "digest": True}


def json_digest(value) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def run_kv(api, *calls) -> list:
    execution = api.run_and_wait("kvpack.kv", calls=list(calls))
    assert execution["status"] == "succeeded", execution["error"] or execution["stderr"]
    return execution["result"]["result"]


def test_python_action_reads_writes_updates_and_deletes_keys(alice_api, kvpack):
    name = unique("t16")

    answers = run_kv(
        alice_api,
        call("get_value", name, local=False),
        call("set_value", name, {"replicas": 3, "zones": ["a", "b"]}, local=False),
        call("get_value", name, local=False),
        call("set_value", name, {"replicas": 5}, local=False),
        call("get_value", name, local=False),
        call("delete_value", name, local=False),
        call("get_value", name, local=False),
        call("delete_value", name, local=False),
    )

    assert answers == [
        None,
        True,
        {"replicas": 3, "zones": ["a", "b"]},
        True,
        {"replicas": 5},
        True,
        None,
        False,
    ]
    assert alice_api.get(f"/api/v1/keys/{name}").status_code == 404


def test_python_action_keys_are_pack_local_by_default_and_listed_by_prefix(alice_api, kvpack):
    prefix = unique("local")

    answers = run_kv(
        alice_api,
        call("set_value", f"{prefix}.a", 1),
        call("set_value", f"{prefix}.b", 2),
        call("list_values", prefix=prefix),
    )

    assert answers[2] == [
        {"name": f"kvpack.Kv:{prefix}.a", "value": 1, "secret": False},
        {"name": f"kvpack.Kv:{prefix}.b", "value": 2, "secret": False},
    ]
    assert alice_api.get(f"/api/v1/keys/kvpack.Kv:{prefix}.a").json()["value"] == 1


def test_an_action_decrypts_a_secret_only_when_it_asks_and_its_record_masks_it(admin_api, kvpack):
    name = unique("secret")
    admin_api.put(f"/api/v1/keys/{name}", {"value": "pa55-w0rd-value", "secret": True})
    execution = admin_api.run_and_wait(
        "kvpack.kv",
        calls=[
            call("get_value", name, local=False),
            digest(call("get_value", name, local=False, decrypt=True)),
            call("get_value", name, local=False, decrypt=True),
            call("list_values", local=False, prefix=name, decrypt=True),
            call("set_value", f"{name}.new", "written-encrypted", local=False, encrypt=True),
        ],
    )

    assert execution["status"] == "succeeded", execution["stderr"]
    answers = execution["result"]["result"]
    assert answers[0] == "********"  # not asked to decrypt
    assert answers[1] == json_digest("pa55-w0rd-value")  # the action did get the plaintext
    assert answers[2] == "********"  # ... but returned as it is, the record masks it
    assert answers[3] == [{"name": name, "value": "********", "secret": True}]
    assert "pa55-w0rd-value" not in repr(execution)
    written = admin_api.get(f"/api/v1/keys/{name}.new?show_secrets=true").json()
    assert (written["secret"], written["value"]) == (True, "written-encrypted")


def test_an_action_decrypts_no_more_than_its_user_could(alice_api, admin_api, kvpack):
    name = unique("admins")
    admin_api.put(f"/api/v1/keys/{name}", {"value": "admin-only-pw", "secret": True})
    alice_api.put(f"/api/v1/keys/{name}?scope=user", {"value": "alice-own-pw", "secret": True})

    own_key = call("get_value", name, local=False, scope="user", decrypt=True)
    own = alice_api.run_and_wait("kvpack.kv", calls=[digest(own_key)])
    system = alice_api.run_and_wait(
        "kvpack.kv", calls=[call("get_value", name, local=False, decrypt=True)]
    )

    assert own["result"]["result"] == [json_digest("alice-own-pw")]
    assert system["status"] == "failed"
    assert "datastore answered 403" in system["error"]
    assert "admin-only-pw" not in repr(system)


def test_user_scope_in_an_action_is_the_user_who_ran_it(alice_api, admin_api, kvpack):
    name = unique("mine")
    alice_api.put(f"/api/v1/keys/{name}?scope=user", {"value": "alice's value"})

    as_alice = run_kv(alice_api, call("get_value", name, local=False, scope="st2kv.user"))
    as_admin = run_kv(admin_api, call("get_value", name, local=False, scope="user"))

    assert as_alice == ["alice's value"]
    assert as_admin == [None]


def test_action_b_reads_what_action_a_wrote_until_its_ttl_expires(alice_api, kvpack):
    name = unique("t23")
    run_kv(
        alice_api,
        call("set_value", name, {"build": 42}, local=False, ttl=2),
        call("set_value", name, "s3cr3t-build-key", local=False, scope="user", encrypt=True),
    )

    read = run_kv(
        alice_api,
        call("get_value", name, local=False),
        digest(call("get_value", name, local=False, scope="user", decrypt=True)),
    )
    assert read == [{"build": 42}, json_digest("s3cr3t-build-key")]

    expires_at = alice_api.get(f"/api/v1/keys/{name}").json()["expires_at"]
    assert expires_at is not None
    deadline = time.monotonic() + 30
    while alice_api.get(f"/api/v1/keys/{name}").status_code != 404:
        assert time.monotonic() < deadline, "the key never expired"
        time.sleep(0.1)
    assert run_kv(alice_api, call("get_value", name, local=False)) == [None]


def test_a_sensor_keeps_its_state_in_pack_local_keys(admin_api, kvpack):
    ref = "kvpack.KvCounterSensor"
    key = "/api/v1/keys/kvpack.KvCounterSensor:count"
    admin_api.delete(key)
    assert admin_api.session.patch(
        f"{admin_api.base_url}/api/v1/sensors/{ref}", json={"enabled": True}, timeout=30
    ).ok
    try:
        deadline = time.monotonic() + 30
        while (admin_api.get(key).json().get("value") or 0) < 2:
            assert time.monotonic() < deadline, "the sensor never counted to 2"
            time.sleep(0.1)
    finally:
        admin_api.session.patch(
            f"{admin_api.base_url}/api/v1/sensors/{ref}", json={"enabled": False}, timeout=30
        )


def test_rule_parameters_read_keys_and_decrypt_secrets_into_secret_parameters(admin_api, kvpack):
    admin_api.put("/api/v1/keys/kvtest_rule_pw", {"value": "rule-pa55word", "secret": True})
    admin_api.put("/api/v1/keys/kvtest_rule_host", {"value": "db.example.com"})
    url = unique("kvrule")
    webhook_rule(
        admin_api,
        url,
        {
            "ref": "kvpack.show_password",
            "parameters": {
                "password": "{{ st2kv.system.kvtest_rule_pw | decrypt_kv }}",
                "host": "{{ st2kv.system.kvtest_rule_host }}",
            },
        },
    )

    instance = post_webhook(admin_api, url, {}).json()["trigger_instance_id"]
    enforcement = wait_for_enforcements(admin_api, instance, 1)[0]
    execution = admin_api.wait_for(enforcement["execution"])

    assert execution["status"] == "succeeded", execution["error"]
    assert execution["parameters"]["password"] == "********"
    assert execution["parameters"]["host"] == "db.example.com"
    result = execution["result"]["result"]
    assert result["host"] == "db.example.com"
    assert result["password_sha256"] == sha256("rule-pa55word")


def test_a_rule_may_not_decrypt_a_secret_into_a_plain_parameter(admin_api, kvpack):
    admin_api.put("/api/v1/keys/kvtest_rule_pw2", {"value": "plain-leak-pw", "secret": True})
    url = unique("kvleak")
    webhook_rule(
        admin_api,
        url,
        {
            "ref": "kvpack.show_password",
            "parameters": {
                "password": "given",
                "host": "{{ st2kv.system.kvtest_rule_pw2 | decrypt_kv }}",
            },
        },
    )

    instance = post_webhook(admin_api, url, {}).json()["trigger_instance_id"]
    enforcement = wait_for_enforcements(admin_api, instance, 1)[0]

    assert enforcement["status"] == "failed"
    assert "host would hold a decrypted datastore secret" in enforcement["reason"]
    assert enforcement["execution"] is None


def test_a_secret_used_without_decrypt_kv_fails_with_a_clear_message(admin_api, kvpack):
    admin_api.put("/api/v1/keys/kvtest_rule_pw3", {"value": "never-shown-pw", "secret": True})
    url = unique("kvnodecrypt")
    webhook_rule(
        admin_api,
        url,
        {
            "ref": "kvpack.show_password",
            "parameters": {"password": "{{ st2kv.system.kvtest_rule_pw3 }}"},
        },
    )

    instance = post_webhook(admin_api, url, {}).json()["trigger_instance_id"]
    enforcement = wait_for_enforcements(admin_api, instance, 1)[0]

    assert enforcement["status"] == "failed"
    assert "st2kv.system.kvtest_rule_pw3 is a secret" in enforcement["reason"]


def test_action_defaults_read_the_datastore_when_requested(alice_api, admin_api, kvpack):
    admin_api.put("/api/v1/keys/kvtest_db_password", {"value": "default-pa55", "secret": True})
    admin_api.put("/api/v1/keys/kvtest_db_host", {"value": "primary.db"})

    execution = alice_api.run_and_wait("kvpack.show_password")

    assert execution["status"] == "succeeded", execution["error"]
    assert execution["parameters"]["password"] == "********"
    assert execution["parameters"]["host"] == "primary.db"
    assert execution["result"]["result"]["password_sha256"] == sha256("default-pa55")


def test_a_missing_key_in_an_action_default_is_a_clear_400(alice_api, admin_api, kvpack):
    admin_api.delete("/api/v1/keys/kvtest_db_host")
    admin_api.put("/api/v1/keys/kvtest_db_password", {"value": "default-pa55", "secret": True})

    answer = alice_api.post("/api/v1/executions", {"action": "kvpack.show_password"})

    assert answer.status_code == 400
    assert "'st2kv.system.kvtest_db_host' is undefined" in answer.json()["detail"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_secret_decrypted_in_criteria_is_masked_in_the_enforcement(admin_api, kvpack):
    admin_api.put("/api/v1/keys/kvtest_hook_token", {"value": "hook-t0ken-value", "secret": True})
    url = unique("kvcriteria")
    rule = webhook_rule(
        admin_api,
        url,
        {"ref": "core.noop"},
        criteria={
            "trigger.body.token": {
                "type": "equals",
                "pattern": "{{ st2kv.system.kvtest_hook_token | decrypt_kv }}",
            }
        },
    )

    explained = admin_api.post(
        f"/api/v1/rules/{rule['ref']}/test", {"payload": {"body": {"token": "hook-t0ken-value"}}}
    )
    instance = post_webhook(admin_api, url, {"token": "wrong"}).json()["trigger_instance_id"]
    enforcement = wait_for_enforcements(admin_api, instance, 1)[0]

    assert explained.status_code == 200, explained.text
    assert explained.json()["matched"] is True
    assert "hook-t0ken-value" not in explained.text
    assert enforcement["status"] == "not_matched"
    assert "hook-t0ken-value" not in str(enforcement)
    assert "********" in str(enforcement["criteria_results"])
