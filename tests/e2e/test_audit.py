"""The audit trail (T3.28): logins, creates, changes, deletes, executions and cancels, each
with who, what, when and from where; staff query it with filters; no secret is ever in it."""

from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import PASSWORD
from tests.support.api import Api
from tests.support.events import post_webhook, unique, wait_for_enforcements, webhook_rule

pytestmark = pytest.mark.e2e


def now() -> str:
    return datetime.now(UTC).isoformat()


def trail(api, **filters) -> list[dict]:
    """Audit events matching `filters`, oldest first."""
    answer = api.get("/api/v1/audit", params={"page_size": 500, **filters})
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["results"]))


def summary(events) -> list[tuple]:
    return [(e["actor"], e["action"], e["object_type"], e["object_id"]) for e in events]


def test_logins_and_failed_logins_are_recorded_with_the_address(stack, admin_api):
    since = now()
    anonymous = Api(stack.url)
    refused = anonymous.post("/api/v1/auth/token", {"username": "alice", "password": "no"})
    assert refused.status_code == 401
    answer = anonymous.post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD})
    assert answer.status_code == 201

    events = trail(admin_api, object_type="user", occurred_after=since)

    assert [(e["actor"], e["action"]) for e in events] == [
        ("unknown (alice)", "login_failed"),
        ("alice", "login"),
    ]
    assert {e["ip_address"] for e in events} == {"127.0.0.1"}
    assert PASSWORD not in str(events)


def test_rule_changes_executions_and_cancels_name_who_did_them(alice_api, admin_api, tmp_path):
    since = now()
    name = unique("audited")
    ref = f"default.{name}"
    rule = {
        "name": name,
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": name}},
        "action": {"ref": "core.noop"},
    }
    assert alice_api.post("/api/v1/rules", rule).status_code == 201
    changed = {**rule, "description": "changed"}
    assert alice_api.session.put(f"{alice_api.base_url}/api/v1/rules/{ref}", json=changed).ok
    assert alice_api.delete(f"/api/v1/rules/{ref}").status_code == 204
    execution = alice_api.run("core.local", cmd="sleep 30")
    assert alice_api.post(f"/api/v1/executions/{execution['id']}/cancel").status_code == 202

    events = trail(admin_api, actor="alice", occurred_after=since)

    assert summary(events) == [
        ("alice", "create", "rule", ref),
        ("alice", "change", "rule", ref),
        ("alice", "delete", "rule", ref),
        ("alice", "execute", "execution", str(execution["id"])),
        ("alice", "cancel", "execution", str(execution["id"])),
    ]
    assert events[3]["detail"]["action"] == "core.local"
    assert all(e["ip_address"] == "127.0.0.1" for e in events)
    assert summary(trail(admin_api, object_type="rule", object_id=ref, action="delete")) == [
        ("alice", "delete", "rule", ref)
    ]
    assert trail(admin_api, actor="alice", occurred_before=since, object_id=ref) == []


def test_a_rule_triggered_execution_is_recorded_for_the_rule_owner(alice_api, admin_api):
    since = now()
    url = unique("audit-hook")
    rule = webhook_rule(alice_api, url, {"ref": "core.noop"})

    instance = post_webhook(admin_api, url, {}).json()["trigger_instance_id"]
    enforcement = wait_for_enforcements(admin_api, instance, 1)[0]

    events = trail(admin_api, object_type="execution", occurred_after=since)
    assert summary(events) == [("alice", "execute", "execution", str(enforcement["execution"]))]
    assert events[0]["detail"]["rule"] == rule["ref"]
    assert events[0]["ip_address"] is None  # the rules engine, not a request, started it


def test_key_changes_are_recorded_without_their_values(alice_api, admin_api):
    since = now()
    name = unique("audited-key")
    alice_api.put(f"/api/v1/keys/{name}", {"value": "top-secret-audit-value", "secret": True})
    alice_api.put(f"/api/v1/keys/{name}", {"value": "top-secret-audit-value-2", "secret": True})
    alice_api.delete(f"/api/v1/keys/{name}")

    events = trail(admin_api, object_type="key", occurred_after=since)

    assert summary(events) == [
        ("alice", "create", "key", f"system:{name}"),
        ("alice", "change", "key", f"system:{name}"),
        ("alice", "delete", "key", f"system:{name}"),
    ]
    assert events[0]["detail"]["is_secret"] is True
    assert "top-secret-audit-value" not in str(events)


def test_only_staff_read_the_trail_and_bad_filters_get_a_400(alice_api, admin_api):
    assert alice_api.get("/api/v1/audit").status_code == 403
    bad = admin_api.get("/api/v1/audit", params={"action": "explode"})
    assert bad.status_code == 400
    assert "action" in bad.json()["detail"]
    assert admin_api.get("/api/v1/audit", params={"occurred_after": "yesterday"}).status_code == 400
