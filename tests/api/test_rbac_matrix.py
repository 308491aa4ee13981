"""T3.10: every endpoint of every scoped view set × the personas admin (by role), operator,
viewer and outsider, on private content owned by someone else.

The endpoints come from the URL conf; `ENDPOINTS` says how to call each and what kind of
operation it is, and `EXPECTED` what each persona gets for each kind. A new endpoint without
an entry fails `test_every_scoped_endpoint_is_in_the_matrix`.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver

from apps.rbac.drf import ScopedViewMixin
from tests.api.conftest import FIXTURE_PACKS
from tests.api.rbac_world import PERSONAS, build_world
from tests.api.test_packs_api import tar_gz_of

pytestmark = pytest.mark.django_db

EXPECTED = {
    #            admin_role operator viewer outsider
    "list": (200, 200, 200, 200),
    "read": (200, 200, 200, 404),
    "execute": (201, 201, 403, 404),
    "cancel": (202, 202, 403, 404),
    "reemit": (202, 403, 403, 404),
    "modify": (200, 403, 403, 404),
    "delete": (204, 403, 403, 404),
    "create": (201, 403, 403, 403),
}


@dataclass(frozen=True)
class Endpoint:
    kind: str
    method: str
    url: Callable  # world -> path
    body: Callable = lambda world: None
    listed: Callable = None  # for lists: is this item the private one?
    fmt: str = "json"


def rule_body(world):
    return {
        "pack": "examples",
        "name": "added",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "added"}},
        "action": {"ref": "core.noop"},
    }


def policy_body(world):
    return {
        "pack": "policytest",
        "name": "added.retry",
        "resource_ref": "policytest.slow",
        "policy_type": "action.retry",
        "parameters": {"max_retry_count": 1},
    }


def archive(world):
    data = tar_gz_of(FIXTURE_PACKS / "examples")
    return {"file": SimpleUploadedFile("examples.tar.gz", data, content_type="application/gzip")}


API = "/api/v1"
POLICY_URL = f"{API}/policies/policytest.slow.retry"
ENDPOINTS = {
    ("PackViewSet", "list"): Endpoint(
        "list", "get", lambda w: f"{API}/packs", listed=lambda item: item["ref"] == "examples"
    ),
    ("PackViewSet", "retrieve"): Endpoint("read", "get", lambda w: f"{API}/packs/examples"),
    ("PackViewSet", "register"): Endpoint(
        "create",
        "post",
        lambda w: f"{API}/packs/register",
        lambda w: {"path": str(FIXTURE_PACKS / "examples")},
    ),
    ("PackViewSet", "upload"): Endpoint(
        "create", "post", lambda w: f"{API}/packs/upload", archive, fmt="multipart"
    ),
    ("ActionViewSet", "list"): Endpoint(
        "list",
        "get",
        lambda w: f"{API}/actions?pack__ref=examples",
        listed=lambda item: item["ref"] == "examples.greet",
    ),
    ("ActionViewSet", "retrieve"): Endpoint(
        "read", "get", lambda w: f"{API}/actions/examples.greet"
    ),
    ("ExecutionViewSet", "list"): Endpoint(
        "list",
        "get",
        lambda w: f"{API}/executions",
        listed=lambda item: item["action"] == "examples.greet",
    ),
    ("ExecutionViewSet", "retrieve"): Endpoint(
        "read", "get", lambda w: f"{API}/executions/{w.execution.pk}"
    ),
    ("ExecutionViewSet", "output"): Endpoint(
        "read", "get", lambda w: f"{API}/executions/{w.execution.pk}/output"
    ),
    ("ExecutionViewSet", "create"): Endpoint(
        "execute",
        "post",
        lambda w: f"{API}/executions",
        lambda w: {"action": "examples.greet", "parameters": {"name": "x"}},
    ),
    ("ExecutionViewSet", "rerun"): Endpoint(
        "execute", "post", lambda w: f"{API}/executions/{w.execution.pk}/rerun", lambda w: {}
    ),
    ("ExecutionViewSet", "cancel"): Endpoint(
        "cancel", "post", lambda w: f"{API}/executions/{w.execution.pk}/cancel"
    ),
    ("TriggerTypeViewSet", "list"): Endpoint(
        "list",
        "get",
        lambda w: f"{API}/triggertypes?pack__ref=sensorpack",
        listed=lambda item: item["pack"] == "sensorpack",
    ),
    ("TriggerTypeViewSet", "retrieve"): Endpoint(
        "read", "get", lambda w: f"{API}/triggertypes/{w.trigger_type.ref}"
    ),
    ("TriggerInstanceViewSet", "list"): Endpoint(
        "list",
        "get",
        lambda w: f"{API}/triggerinstances",
        listed=lambda item: item["trigger_ref"].startswith("sensorpack."),
    ),
    ("TriggerInstanceViewSet", "retrieve"): Endpoint(
        "read", "get", lambda w: f"{API}/triggerinstances/{w.trigger_instance.pk}"
    ),
    ("TriggerInstanceViewSet", "reemit"): Endpoint(
        "reemit", "post", lambda w: f"{API}/triggerinstances/{w.trigger_instance.pk}/reemit"
    ),
    ("RuleViewSet", "list"): Endpoint(
        "list",
        "get",
        lambda w: f"{API}/rules",
        listed=lambda item: item["ref"] == "examples.on_examples_hook",
    ),
    ("RuleViewSet", "retrieve"): Endpoint("read", "get", lambda w: f"{API}/rules/{w.rule.ref}"),
    ("RuleViewSet", "test"): Endpoint(
        "read",
        "post",
        lambda w: f"{API}/rules/{w.rule.ref}/test",
        lambda w: {"payload": {"body": {"message": "hi"}}},
    ),
    ("RuleViewSet", "create"): Endpoint("create", "post", lambda w: f"{API}/rules", rule_body),
    ("RuleViewSet", "update"): Endpoint(
        "modify",
        "put",
        lambda w: f"{API}/rules/{w.rule.ref}",
        lambda w: {**rule_body(w), "name": w.rule.name},
    ),
    ("RuleViewSet", "partial_update"): Endpoint(
        "modify", "patch", lambda w: f"{API}/rules/{w.rule.ref}", lambda w: {"enabled": False}
    ),
    ("RuleViewSet", "destroy"): Endpoint("delete", "delete", lambda w: f"{API}/rules/{w.rule.ref}"),
    ("RuleEnforcementViewSet", "list"): Endpoint(
        "list",
        "get",
        lambda w: f"{API}/enforcements",
        listed=lambda item: item["rule_ref"] == "examples.on_examples_hook",
    ),
    ("RuleEnforcementViewSet", "retrieve"): Endpoint(
        "read", "get", lambda w: f"{API}/enforcements/{w.enforcement.pk}"
    ),
    ("SensorViewSet", "list"): Endpoint(
        "list", "get", lambda w: f"{API}/sensors", listed=lambda item: item["pack"] == "sensorpack"
    ),
    ("SensorViewSet", "retrieve"): Endpoint(
        "read", "get", lambda w: f"{API}/sensors/{w.sensor.ref}"
    ),
    ("SensorViewSet", "partial_update"): Endpoint(
        "modify", "patch", lambda w: f"{API}/sensors/{w.sensor.ref}", lambda w: {"enabled": False}
    ),
    ("PolicyViewSet", "list"): Endpoint(
        "list", "get", lambda w: f"{API}/policies", listed=lambda item: item["pack"] == "policytest"
    ),
    ("PolicyViewSet", "retrieve"): Endpoint("read", "get", lambda w: POLICY_URL),
    ("PolicyViewSet", "create"): Endpoint(
        "create", "post", lambda w: f"{API}/policies", policy_body
    ),
    ("PolicyViewSet", "update"): Endpoint(
        "modify",
        "put",
        lambda w: POLICY_URL,
        lambda w: {**policy_body(w), "name": "slow.retry"},
    ),
    ("PolicyViewSet", "partial_update"): Endpoint(
        "modify", "patch", lambda w: POLICY_URL, lambda w: {"enabled": False}
    ),
    ("PolicyViewSet", "destroy"): Endpoint("delete", "delete", lambda w: POLICY_URL),
}


def scoped_endpoints(patterns=None) -> set:
    """(view set, action) of every route whose view set is scoped by RBAC."""
    found = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if hasattr(pattern, "url_patterns"):
            found |= scoped_endpoints(pattern.url_patterns)
            continue
        view = getattr(pattern.callback, "cls", None)
        if view is not None and issubclass(view, ScopedViewMixin):
            found |= {(view.__name__, action) for action in pattern.callback.actions.values()}
    return found


def test_every_scoped_endpoint_is_in_the_matrix():
    assert scoped_endpoints() == set(ENDPOINTS)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids=lambda key: f"{key[0]}.{key[1]}")
def test_persona_gets_what_their_role_allows(key, persona):
    endpoint, world = ENDPOINTS[key], build_world()
    client = world.clients[persona]

    response = getattr(client, endpoint.method)(
        endpoint.url(world), endpoint.body(world), format=endpoint.fmt
    )

    expected = EXPECTED[endpoint.kind][PERSONAS.index(persona)]
    assert response.status_code == expected, response.content[:300]
    if endpoint.listed is not None:
        shown = [item for item in response.json()["results"] if endpoint.listed(item)]
        assert bool(shown) == (persona != "outsider")
