"""Secret fields of trigger payloads (`secret: true` in the trigger type's payload_schema) are
masked in the API, the admin, notifications and enforcements, and never reach a parameter that
is not secret."""

import pytest

from apps.actions.parameters import SECRET_MASK
from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS
from tests.support.events import create_rule, post_webhook, unique, wait_for_enforcements
from tests.support.stream import StreamClient

pytestmark = pytest.mark.e2e

PASSWORD = "hunter2-login-password"
TOKEN = "session-token-0123456789"
TRIGGER = "secretpayload.login"


@pytest.fixture(scope="module", autouse=True)
def secret_payload_pack(stack, django_db_blocker):
    with django_db_blocker.unblock():
        register_pack(FIXTURE_PACKS / "secretpayload")


def send_login(api) -> int:
    payload = {
        "user": "ada",
        "password": PASSWORD,
        "session": {"ip": "10.0.0.7", "token": TOKEN},
    }
    response = post_webhook(api, "st2", {"trigger": TRIGGER, "payload": payload})
    assert response.status_code == 202, response.text
    return response.json()["trigger_instance_id"]


def test_secret_payload_fields_are_masked_unless_an_admin_asks(
    stack, admin_api, alice_api, admin_token
):
    trigger = {"type": TRIGGER, "parameters": {}}
    criteria = {"trigger.password": {"type": "equals", "pattern": "something else"}}
    create_rule(admin_api, unique("login"), trigger, {"ref": "core.noop"}, criteria)
    with StreamClient(stack.url, token=admin_token) as stream:
        stream.subscribe(events=["trigger_instance.created"], trigger_types=[TRIGGER])
        instance_id = send_login(admin_api)
        [event] = stream.events_until(lambda seen: len(seen) == 1)
    [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)

    shown = admin_api.get(f"/api/v1/triggerinstances/{instance_id}").json()["payload"]
    assert shown == {
        "user": "ada",
        "password": SECRET_MASK,
        "session": {"ip": "10.0.0.7", "token": SECRET_MASK},
    }
    assert event["payload"]["payload"] == shown
    assert enforcement["status"] == "not_matched"
    assert PASSWORD not in str(enforcement) and TOKEN not in str(enforcement)
    listed = admin_api.get("/api/v1/triggerinstances", params={"trigger": TRIGGER}).json()
    assert PASSWORD not in str(listed)
    revealed = admin_api.get(f"/api/v1/triggerinstances/{instance_id}?show_secrets=true")
    assert revealed.json()["payload"]["password"] == PASSWORD
    refused = alice_api.get("/api/v1/triggerinstances?show_secrets=true")
    assert refused.status_code == 403


def test_a_secret_payload_field_never_reaches_a_parameter_that_is_not_secret(admin_api):
    trigger = {"type": TRIGGER, "parameters": {}}
    leak = {"ref": "core.echo", "parameters": {"message": "{{ trigger.password }}"}}
    create_rule(admin_api, unique("leak"), trigger, leak)

    instance_id = send_login(admin_api)
    rules = admin_api.get("/api/v1/rules", params={"page_size": 1000}).json()["results"]
    listening = [r for r in rules if r["trigger"]["type"] == TRIGGER and r["enabled"]]
    enforcements = wait_for_enforcements(admin_api, instance_id, len(listening))

    mine = [e for e in enforcements if e["rule_ref"].startswith("default.leak-")]
    assert mine and all(e["status"] == "failed" and e["execution"] is None for e in mine)
    assert all("message" in e["reason"] for e in mine)
    assert PASSWORD not in str(enforcements)
