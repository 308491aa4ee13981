"""Webhook edge: authentication, signatures, body formats, limits, the generic st2 webhook,
and re-emitting an instance."""

import json
import time

import pytest
import requests

from apps.webhooks.models import Webhook
from tests.support.events import (
    post_webhook,
    signature,
    unique,
    wait_for_enforcements,
    webhook_rule,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def hook(admin_api):
    """A webhook with one rule echoing the body's `msg`."""
    url = unique("hook")
    webhook_rule(
        admin_api, url, {"ref": "core.echo", "parameters": {"message": "{{ trigger.body.msg }}"}}
    )
    return url


def anonymous_post(stack, url: str, body: bytes, headers: dict):
    return requests.post(
        f"{stack.url}/api/v1/webhooks/{url}", data=body, headers=headers, timeout=30
    )


def test_webhook_without_credentials_is_refused(stack, hook):
    response = anonymous_post(stack, hook, b'{"msg": "hi"}', {"Content-Type": "application/json"})

    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


def test_webhook_signed_with_its_secret_is_accepted_and_a_bad_signature_refused(
    stack, hook, admin_api, live_db
):
    Webhook.objects.create(name=hook, hmac_secret="s3cret-for-hmac")
    body = json.dumps({"msg": "signed"}).encode()
    headers = {"Content-Type": "application/json"}

    bad = anonymous_post(
        stack, hook, body, {**headers, "X-Hub-Signature-256": signature("wrong", body)}
    )
    good = anonymous_post(
        stack, hook, body, {**headers, "X-Hub-Signature-256": signature("s3cret-for-hmac", body)}
    )

    assert bad.status_code == 401
    assert good.status_code == 202
    [enforcement] = wait_for_enforcements(admin_api, good.json()["trigger_instance_id"], 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "signed\n"


def test_form_encoded_body_becomes_a_mapping(admin_api, hook):
    response = admin_api.session.post(
        f"{admin_api.base_url}/api/v1/webhooks/{hook}", data={"msg": "from a form"}, timeout=30
    )

    assert response.status_code == 202
    [enforcement] = wait_for_enforcements(admin_api, response.json()["trigger_instance_id"], 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "from a form\n"


def test_unknown_webhook_is_404(admin_api):
    response = post_webhook(admin_api, unique("nobody-listens"), {"x": 1})

    assert response.status_code == 404
    assert "no rule listens" in response.json()["detail"]


def post_json_bytes(api, url: str, body: bytes):
    """POST `body` as it is, declared as JSON."""
    return api.session.post(
        f"{api.base_url}/api/v1/webhooks/{url}",
        data=body,
        timeout=30,
        headers={"Content-Type": "application/json"},
    )


def test_invalid_json_body_is_a_clear_400(admin_api, hook):
    response = post_json_bytes(admin_api, hook, b"{not json")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_oversized_body_is_413_and_records_nothing(admin_api, hook):
    since = admin_api.get("/api/v1/triggerinstances").json()["results"][0]["id"]

    response = post_webhook(admin_api, hook, {"msg": "x" * (2 * 1024 * 1024)})

    assert response.status_code == 413
    newest = admin_api.get("/api/v1/triggerinstances").json()["results"][0]["id"]
    assert newest == since


def test_rate_limit_answers_429_with_retry_after(admin_api, hook, live_db):
    Webhook.objects.create(name=hook, rate_limit_per_minute=2)
    if 60 - time.time() % 60 < 3:
        time.sleep(3)  # the limit counts per clock minute: keep the three calls in one

    statuses = [post_webhook(admin_api, hook, {"msg": str(n)}) for n in range(3)]

    assert [r.status_code for r in statuses] == [202, 202, 429]
    assert statuses[2].json()["code"] == "rate_limited"
    assert 1 <= int(statuses[2].headers["Retry-After"]) <= 61


def test_generic_st2_webhook_dispatches_any_trigger_type_and_validates_its_payload(admin_api):
    url = unique("generic")
    webhook_rule(
        admin_api, url, {"ref": "core.echo", "parameters": {"message": "{{ trigger.body }}"}}
    )

    ok = post_webhook(
        admin_api, "st2", {"trigger": "core.st2.webhook", "payload": {"headers": {}, "body": "raw"}}
    )
    bad = post_webhook(
        admin_api, "st2", {"trigger": "core.st2.webhook", "payload": {"headers": "not a mapping"}}
    )
    unknown = post_webhook(admin_api, "st2", {"trigger": "nope.nothing", "payload": {}})

    assert ok.status_code == 202
    assert bad.status_code == 400
    assert "headers" in bad.json()["detail"]
    assert unknown.status_code == 404


def test_reemit_runs_the_rules_again_on_the_same_payload(admin_api, hook):
    first = post_webhook(admin_api, hook, {"msg": "twice"}).json()["trigger_instance_id"]
    wait_for_enforcements(admin_api, first, 1)

    response = admin_api.post(f"/api/v1/triggerinstances/{first}/reemit")

    assert response.status_code == 202
    second = response.json()
    assert second["source"] == "reemit"
    assert second["payload"]["body"] == {"msg": "twice"}
    [enforcement] = wait_for_enforcements(admin_api, second["id"], 1)
    assert admin_api.wait_for(enforcement["execution"])["stdout"] == "twice\n"


def test_nul_character_in_the_body_is_a_clear_400_naming_the_field(admin_api, hook):
    response = post_json_bytes(admin_api, hook, b'{"msg": "a\\u0000b"}')

    assert response.status_code == 400
    assert "'body/msg' contains a NUL character" in response.json()["detail"]
