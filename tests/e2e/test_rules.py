"""Webhooks and rules end to end: webhook -> trigger instance -> rules -> executions
(T1.4, T2.5, T3.4, T3.5)."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.core.services import redis_client
from apps.triggers.models import TriggerInstance, TriggerType, trigger_key
from apps.triggers.services import redispatch_pending_instances, rules_queue_key
from tests.support.events import (
    create_rule,
    post_webhook,
    unique,
    wait_for_enforcements,
    webhook_rule,
)

pytestmark = pytest.mark.e2e

RECORD_PARAMETERS = {
    "data": "{{ trigger.body.order }}",
    "items": "{{ trigger.body.order.lines }}",
    "count": "{{ trigger.body.order.lines | length }}",
    "label": "order {{ trigger.body.order.id }}",
    "nothing": "{{ trigger.body.missing_ok }}",
}


def test_webhook_payload_fields_reach_the_action_with_their_types(admin_api):
    url = unique("orders")
    webhook_rule(admin_api, url, {"ref": "examples.record", "parameters": RECORD_PARAMETERS})
    order = {"id": 42, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}], "rush": True}

    response = post_webhook(admin_api, url, {"order": order, "missing_ok": None})

    assert response.status_code == 202
    instance_id = response.json()["trigger_instance_id"]
    [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)
    assert enforcement["status"] == "matched"
    execution = admin_api.wait_for(enforcement["execution"])
    assert execution["status"] == "succeeded"
    assert execution["result"]["result"] == {
        "data": order,
        "items": order["lines"],
        "count": 2,
        "label": "order 42",
        "nothing": None,
    }
    instance = admin_api.get(f"/api/v1/triggerinstances/{instance_id}").json()
    assert instance["payload"]["body"] == {"order": order, "missing_ok": None}
    assert instance["payload"]["headers"]["content-type"] == "application/json"
    assert "authorization" not in instance["payload"]["headers"]
    assert execution["context"]["rule"].endswith(".") is False
    assert execution["context"]["trigger_instance"] == instance_id


def test_empty_webhook_body_still_fires(admin_api):
    url = unique("empty")
    webhook_rule(admin_api, url, {"ref": "core.echo", "parameters": {"message": "poked"}})

    response = admin_api.post(
        f"/api/v1/webhooks/{url}", data=b"", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 202
    [enforcement] = wait_for_enforcements(admin_api, response.json()["trigger_instance_id"], 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "poked\n"


def test_one_webhook_with_three_rules_gives_one_instance_three_enforcements_three_executions(
    admin_api,
):
    url = unique("fanout")
    for n in range(3):
        webhook_rule(admin_api, url, {"ref": "core.echo", "parameters": {"message": f"rule {n}"}})

    response = post_webhook(admin_api, url, {"x": 1})

    instance_id = response.json()["trigger_instance_id"]
    enforcements = wait_for_enforcements(admin_api, instance_id, 3)
    assert [e["status"] for e in enforcements] == ["matched"] * 3
    outputs = sorted(admin_api.wait_for(e["execution"])["stdout"] for e in enforcements)
    assert outputs == ["rule 0\n", "rule 1\n", "rule 2\n"]
    instances = admin_api.get("/api/v1/triggerinstances", params={"trigger": "core.st2.webhook"})
    assert [i["id"] for i in instances.json()["results"] if i["source_detail"] == url] == [
        instance_id
    ]


def test_rules_on_level_info_and_error_each_match_their_own_and_debug_matches_neither(admin_api):
    url = unique("levels")
    for level in ("info", "error"):
        webhook_rule(
            admin_api,
            url,
            {"ref": "core.echo", "parameters": {"message": f"{level}: {{{{ trigger.body.msg }}}}"}},
            criteria={"trigger.body.level": {"type": "equals", "pattern": level}},
            name=unique(level),
        )

    results = {}
    for level in ("info", "error", "debug"):
        instance_id = post_webhook(admin_api, url, {"level": level, "msg": "hi"}).json()[
            "trigger_instance_id"
        ]
        results[level] = wait_for_enforcements(admin_api, instance_id, 2)

    def matched_outputs(enforcements):
        return [
            admin_api.wait_for(e["execution"])["stdout"]
            for e in enforcements
            if e["status"] == "matched"
        ]

    assert matched_outputs(results["info"]) == ["info: hi\n"]
    assert matched_outputs(results["error"]) == ["error: hi\n"]
    assert [e["status"] for e in results["debug"]] == ["not_matched", "not_matched"]
    assert all(e["execution"] is None for e in results["debug"])


def test_criteria_equals_greater_than_inside_and_their_conjunction(admin_api):
    url = unique("criteria")
    criteria = {
        "trigger.body.env": {"type": "equals", "pattern": "prod"},
        "trigger.body.severity": {"type": "greaterthan", "pattern": 3},
        "trigger.body.team": {"type": "inside", "pattern": ["ops", "sre"]},
    }
    webhook_rule(admin_api, url, {"ref": "core.noop"}, criteria=criteria)
    cases = [
        ({"env": "prod", "severity": 5, "team": "sre"}, "matched"),
        ({"env": "prod", "severity": 3, "team": "sre"}, "not_matched"),
        ({"env": "prod", "severity": 5, "team": "dev"}, "not_matched"),
        ({"env": "dev", "severity": 9, "team": "ops"}, "not_matched"),
        ({"env": "prod", "severity": "5", "team": "ops"}, "failed"),  # no coercion: "5" vs 3
    ]

    for body, expected in cases:
        instance_id = post_webhook(admin_api, url, body).json()["trigger_instance_id"]
        [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)
        assert enforcement["status"] == expected, (body, enforcement)
        assert (enforcement["execution"] is not None) == (expected == "matched")


def test_render_error_fails_the_enforcement_with_the_message(admin_api):
    url = unique("broken")
    webhook_rule(
        admin_api,
        url,
        {"ref": "core.echo", "parameters": {"message": "{{ trigger.body.nope.deeper }}"}},
    )

    instance_id = post_webhook(admin_api, url, {"x": 1}).json()["trigger_instance_id"]

    [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)
    assert enforcement["status"] == "failed"
    assert "nope" in enforcement["reason"]
    assert enforcement["execution"] is None


def test_disabling_a_rule_takes_effect_at_once_and_enabling_restores_it(admin_api):
    url = unique("toggle")
    rule = webhook_rule(admin_api, url, {"ref": "core.noop"})

    admin_api.session.patch(
        f"{admin_api.base_url}/api/v1/rules/{rule['ref']}", json={"enabled": False}
    ).raise_for_status()
    response = post_webhook(admin_api, url, {})
    assert response.status_code == 202
    assert wait_for_enforcements(admin_api, response.json()["trigger_instance_id"], 0) == []

    admin_api.session.patch(
        f"{admin_api.base_url}/api/v1/rules/{rule['ref']}", json={"enabled": True}
    ).raise_for_status()
    response = post_webhook(admin_api, url, {})
    [enforcement] = wait_for_enforcements(admin_api, response.json()["trigger_instance_id"], 1)
    assert enforcement["status"] == "matched"


def test_rule_test_endpoint_explains_without_running_anything(admin_api):
    url = unique("dry")
    rule = webhook_rule(
        admin_api,
        url,
        {"ref": "examples.record", "parameters": {"count": "{{ trigger.body.n }}"}},
        criteria={"trigger.body.n": {"type": "greaterthan", "pattern": 1}},
    )

    matched = admin_api.post(f"/api/v1/rules/{rule['ref']}/test", {"payload": {"body": {"n": 2}}})
    refused = admin_api.post(f"/api/v1/rules/{rule['ref']}/test", {"payload": {"body": {"n": 0}}})

    assert matched.json()["matched"] is True
    assert matched.json()["parameters"] == {"count": 2}
    assert matched.json()["criteria"][0]["passed"] is True
    assert refused.json()["matched"] is False
    assert refused.json()["criteria"][0]["value"] == 0
    assert (
        admin_api.get("/api/v1/enforcements", params={"rule_ref": rule["ref"]}).json()["results"]
        == []
    )


def test_rule_from_a_pack_file_fires_on_its_webhook(admin_api):
    response = post_webhook(admin_api, "examples", {"message": "from the pack"})

    [enforcement] = wait_for_enforcements(admin_api, response.json()["trigger_instance_id"], 1)
    execution = admin_api.wait_for(enforcement["execution"])
    assert execution["stdout"] == "examples hook says from the pack\n"


def test_rule_with_an_unknown_trigger_or_action_is_refused_with_the_field(admin_api):
    bad_trigger = admin_api.post(
        "/api/v1/rules",
        {
            "name": unique("bad"),
            "trigger": {"type": "nope.nothing"},
            "action": {"ref": "core.noop"},
        },
    )
    bad_action = admin_api.post(
        "/api/v1/rules",
        {
            "name": unique("bad"),
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": "x"}},
            "action": {"ref": "core.nothing"},
        },
    )
    bad_criteria = admin_api.post(
        "/api/v1/rules",
        {
            "name": unique("bad"),
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": "x"}},
            "action": {"ref": "core.noop"},
            "criteria": {"trigger.x": {"type": "bogus", "pattern": 1}},
        },
    )

    assert bad_trigger.status_code == 400
    assert bad_trigger.json()["errors"][0]["field"] == "trigger.type"
    assert bad_action.status_code == 400
    assert bad_action.json()["errors"][0]["field"] == "action.ref"
    assert bad_criteria.status_code == 400
    assert "bogus" in bad_criteria.json()["detail"]


def test_a_finished_execution_fires_the_action_trigger_for_rules_that_listen(admin_api):
    marker = unique("failed-greeting")
    create_rule(
        admin_api,
        unique("on-failure"),
        {"type": "core.st2.generic.actiontrigger"},
        {
            "ref": "core.echo",
            "parameters": {"message": "{{ trigger.action_ref }} {{ trigger.status }} " + marker},
        },
        criteria={
            "trigger.action_ref": {"type": "equals", "pattern": "examples.refuse"},
            "trigger.parameters.reason": {"type": "equals", "pattern": marker},
        },
    )

    failed = admin_api.run_and_wait("examples.refuse", reason=marker)

    assert failed["status"] == "failed"
    instances = admin_api.get(
        "/api/v1/triggerinstances", params={"trigger": "core.st2.generic.actiontrigger"}
    ).json()
    [instance] = [i for i in instances["results"] if i["source_detail"] == str(failed["id"])]
    assert instance["payload"]["execution_id"] == failed["id"]
    [enforcement] = [e for e in wait_for_enforcements(admin_api, instance["id"], 1)]
    notice = admin_api.wait_for(enforcement["execution"])
    assert notice["stdout"] == f"examples.refuse failed {marker}\n"


def test_a_webhook_runs_its_rules_even_while_the_rules_engine_is_down(stack, admin_api):
    url = unique("engine-down-hook")
    webhook_rule(admin_api, url, {"ref": "core.echo", "parameters": {"message": "inline"}})
    stack.stop("rules")
    try:
        response = post_webhook(admin_api, url, {})

        assert response.status_code == 202
        instance_id = response.json()["trigger_instance_id"]
        instance = admin_api.get(f"/api/v1/triggerinstances/{instance_id}").json()
        assert instance["status"] == "processed"  # by the request itself: few rules
        [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)
        assert admin_api.wait_for(enforcement["execution"])["stdout"] == "inline\n"
    finally:
        stack.start("rules")


def processed_webhook_instance(api, name: str, message: str) -> int:
    """A trigger instance of a new webhook whose rule echoes `message`, already processed (to
    re-emit: a re-emitted instance goes through the rules engine)."""
    url = unique(name)
    webhook_rule(api, url, {"ref": "core.echo", "parameters": {"message": message}})
    instance_id = post_webhook(api, url, {}).json()["trigger_instance_id"]
    wait_for_enforcements(api, instance_id, 1)
    return instance_id


def test_instances_queued_while_the_rules_engine_is_down_run_when_it_is_back(stack, admin_api):
    first = processed_webhook_instance(admin_api, "engine-down", "caught up")
    stack.stop("rules")
    try:
        response = admin_api.post(f"/api/v1/triggerinstances/{first}/reemit")  # via the engine

        assert response.status_code == 202, response.text
        instance_id = response.json()["id"]
        instance = admin_api.get(f"/api/v1/triggerinstances/{instance_id}").json()
        assert instance["status"] == "pending"
        health = requests.get(f"{stack.url}/api/v1/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["rules_engines"] == {"ok": False, "engines": []}
    finally:
        stack.start("rules")
    [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "caught up\n"


def test_an_instance_whose_queue_entry_was_lost_is_queued_again(admin_api, live_db):
    url = unique("lost-entry")
    webhook_rule(admin_api, url, {"ref": "core.echo", "parameters": {"message": "found"}})
    parameters = {"url": url}
    lost = TriggerInstance.objects.create(  # committed, but never queued for the engine
        trigger_type=TriggerType.objects.get(ref="core.st2.webhook"),
        trigger_ref="core.st2.webhook",
        trigger_key=trigger_key("core.st2.webhook", parameters),
        payload={"headers": {}, "body": {}},
        source="webhook",
        occurred_at=timezone.now() - timedelta(minutes=5),
    )

    assert lost.pk in redispatch_pending_instances()

    [enforcement] = wait_for_enforcements(admin_api, lost.pk, 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "found\n"


def test_instances_waiting_for_a_stopped_engine_are_not_queued_again_and_again(
    stack, admin_api, live_db
):
    first = processed_webhook_instance(admin_api, "engine-away", "once")
    stack.stop("rules")
    try:
        instance_id = admin_api.post(f"/api/v1/triggerinstances/{first}/reemit").json()["id"]
        TriggerInstance.objects.filter(pk=instance_id).update(  # long overdue
            occurred_at=timezone.now() - timedelta(minutes=5)
        )

        swept = [redispatch_pending_instances() for _ in range(3)]

        assert swept == [[], [], []]  # its id is still queued
        assert redis_client().lrange(rules_queue_key(), 0, -1) == [str(instance_id).encode()]
    finally:
        stack.start("rules")
    [enforcement] = wait_for_enforcements(admin_api, instance_id, 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "once\n"
