"""Audit events for admin logins and API keys, read through the staff-only audit API."""

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from tests.api.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def events(**filters) -> list[tuple]:
    rows = AuditEvent.objects.filter(**filters).order_by("id")
    return [(e.actor_name, e.action, e.object_type) for e in rows]


def test_admin_logins_and_failed_logins_are_audited():
    make_user("boss", is_staff=True, password=PASSWORD)
    browser = Client()

    browser.post("/admin/login/", {"username": "boss", "password": "wrong"})
    browser.post("/admin/login/", {"username": "boss", "password": PASSWORD})

    assert events(object_type="user") == [
        ("unknown (boss)", "login_failed", "user"),
        ("boss", "login", "user"),
    ]
    assert AuditEvent.objects.filter(action="login").get().ip_address == "127.0.0.1"


def test_api_key_lifecycle_is_audited_without_the_key(alice_api):
    created = alice_api.post("/api/v1/apikeys", {"name": "ci"}, format="json").json()
    alice_api.patch(f"/api/v1/apikeys/{created['id']}", {"is_enabled": False}, format="json")
    alice_api.delete(f"/api/v1/apikeys/{created['id']}")

    assert events(object_type="apikey") == [
        ("alice", "create", "apikey"),
        ("alice", "change", "apikey"),
        ("alice", "delete", "apikey"),
    ]
    assert created["key"] not in str(list(AuditEvent.objects.values()))


def test_the_audit_api_filters_by_time_and_is_staff_only(staff_api, alice_api):
    alice_api.put("/api/v1/keys/k", {"value": 1}, format="json")
    first = AuditEvent.objects.get(object_type="key")

    after = staff_api.get("/api/v1/audit", {"occurred_after": first.occurred_at.isoformat()})
    before = staff_api.get("/api/v1/audit", {"occurred_before": first.occurred_at.isoformat()})

    assert [e["object_id"] for e in after.json()["results"]] == ["system:k"]
    assert "system:k" not in [e["object_id"] for e in before.json()["results"]]
    assert alice_api.get("/api/v1/audit").status_code == 403
