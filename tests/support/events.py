"""Helpers for event tests: rules through the API, webhooks, and waiting for what they cause."""

import hashlib
import hmac
import json
import time
import uuid


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def create_rule(api, name: str, trigger: dict, action: dict, criteria=None, **extra) -> dict:
    body = {"name": name, "trigger": trigger, "action": action, "criteria": criteria or {}}
    response = api.post("/api/v1/rules", {**body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def webhook_rule(api, url: str, action: dict, criteria=None, name=None) -> dict:
    trigger = {"type": "core.st2.webhook", "parameters": {"url": url}}
    return create_rule(api, name or unique("rule"), trigger, action, criteria)


def post_webhook(api, url: str, body, headers=None):
    return api.post(f"/api/v1/webhooks/{url}", json=body, headers=headers or {})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wait_for_enforcements(api, instance_id: int, count: int, timeout: float = 30.0) -> list:
    """Wait until the instance is processed and return its enforcements (oldest first)."""
    deadline = time.monotonic() + timeout
    while True:
        instance = api.get(f"/api/v1/triggerinstances/{instance_id}").json()
        if instance["status"] in ("processed", "failed"):
            found = api.get("/api/v1/enforcements", params={"trigger_instance": instance_id})
            enforcements = sorted(found.json()["results"], key=lambda e: e["id"])
            assert len(enforcements) == count, json.dumps(enforcements, indent=1)
            return enforcements
        if time.monotonic() > deadline:
            raise AssertionError(f"trigger instance {instance_id} stuck in {instance['status']}")
        time.sleep(0.05)


def create_api_key(api, name=None) -> str:
    """Create an API key for the caller and return the key itself (shown only once)."""
    response = api.post("/api/v1/apikeys", {"name": name or unique("key")})
    assert response.status_code == 201, response.text
    return response.json()["key"]


def webhook_instances(api, url: str, since: str) -> list:
    """All instances of webhook `url` since the ISO time `since`, oldest first (every page)."""
    params = {"trigger": "core.st2.webhook", "occurred_after": since}
    page = api.get("/api/v1/triggerinstances", params=params).json()
    found = page["results"]
    while page.get("next"):
        page = api.session.get(page["next"], timeout=30).json()
        found += page["results"]
    return sorted((i for i in found if i["source_detail"] == url), key=lambda i: i["id"])
