"""RBAC against the live stack: roles managed through the API decide what the WebSocket stream
delivers (T3.10 on the stream), what the API allows, and who may send to a webhook."""

import shutil

import pytest
from django.contrib.auth import get_user_model
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import PASSWORD, token_for
from tests.support.api import Api
from tests.support.events import post_webhook, unique, webhook_rule
from tests.support.packs import copy_pack, register
from tests.support.stream import StreamClient, finished

pytestmark = pytest.mark.e2e

VIEW = "execution_view"


def new_user(stack, django_db_blocker, prefix: str) -> tuple[str, str]:
    """A user with no roles; returns (username, token)."""
    name = unique(prefix)
    with django_db_blocker.unblock():
        get_user_model().objects.create_user(name, "", PASSWORD)
    return name, token_for(name, django_db_blocker)


def grant(admin_api, username: str, *grants: dict) -> None:
    """Give `username` a new role holding `grants` (StackStorm's permission_grants)."""
    role = unique("role")
    body = {"name": role, "permission_grants": list(grants)}
    assert admin_api.post("/api/v1/rbac/roles", body).status_code == 201
    assigned = admin_api.post("/api/v1/rbac/assignments", {"role": role, "user": username})
    assert assigned.status_code == 201, assigned.text


def ids_of(events: list) -> set:
    return {e["entity_id"] for e in events if e["type"].startswith("execution.")}


def test_the_stream_delivers_what_a_pack_scoped_grant_covers_and_nothing_else(
    stack, admin_api, django_db_blocker
):
    name, token = new_user(stack, django_db_blocker, "watcher")
    grant(
        admin_api, name, {"resource_uid": "pack:examples", "permission_types": ["execution_view"]}
    )

    with StreamClient(stack.url, token=token) as watcher:
        watcher.subscribe(events=["execution.*"])
        hidden = admin_api.run_and_wait("core.echo", message="not for the watcher")["id"]
        shown = admin_api.run("examples.args", first="for the watcher")["id"]
        events = watcher.events_until(finished(shown))

    assert shown in ids_of(events)
    assert hidden not in ids_of(events)
    api = Api(stack.url, token=token)
    assert api.get(f"/api/v1/executions/{shown}").status_code == 200
    assert api.get(f"/api/v1/executions/{hidden}").status_code == 404


def test_a_viewer_watches_everything_but_may_not_run_private_actions(
    stack, admin_api, django_db_blocker, tmp_path
):
    private = unique("admins").replace("-", "_")
    path = copy_pack("examples", tmp_path, private)
    shutil.rmtree(path / "rules")  # its rule would answer the shared examples webhook too
    register(admin_api, path, shared=False)
    name, token = new_user(stack, django_db_blocker, "viewer")
    assert admin_api.post("/api/v1/rbac/assignments", {"role": "viewer", "user": name}).ok
    viewer = Api(stack.url, token=token)

    with StreamClient(stack.url, token=token) as stream:
        stream.subscribe(events=["execution.*"])
        theirs = admin_api.run(f"{private}.args", first="seen by the viewer")["id"]
        events = stream.events_until(finished(theirs))
    refused = viewer.post("/api/v1/executions", {"action": f"{private}.args"})

    assert theirs in ids_of(events)
    assert refused.status_code == 403
    assert viewer.get(f"/api/v1/executions/{theirs}").status_code == 200
    assert viewer.get(f"/api/v1/actions/{private}.args").status_code == 200


def test_only_the_owner_and_holders_of_webhook_execute_may_send_to_a_webhook(
    stack, admin_api, django_db_blocker
):
    url = unique("owned-hook")
    webhook_rule(admin_api, url, {"ref": "core.noop"})
    name, token = new_user(stack, django_db_blocker, "sender")
    sender = Api(stack.url, token=token)

    refused = post_webhook(sender, url, {"n": 1})
    grant(admin_api, name, {"resource_uid": f"webhook:{url}", "permission_types": ["webhook_send"]})
    accepted = post_webhook(Api(stack.url, token=token), url, {"n": 2})

    assert refused.status_code == 404
    assert accepted.status_code == 202, accepted.text


def test_a_revoked_grant_stops_the_stream_at_once_without_a_reconnect(
    stack, admin_api, django_db_blocker
):
    name, token = new_user(stack, django_db_blocker, "revoked")
    grant(
        admin_api, name, {"resource_uid": "pack:examples", "permission_types": ["execution_view"]}
    )
    [assignment] = admin_api.get(
        "/api/v1/rbac/assignments", params={"user__username": name}
    ).json()["results"]
    user_api = Api(stack.url, token=token)

    with StreamClient(stack.url, token=token) as watcher:
        watcher.subscribe(events=["execution.*"])
        before = admin_api.run("examples.args", first="seen")["id"]
        seen = watcher.events_until(finished(before))
        deleted = admin_api.delete(f"/api/v1/rbac/assignments/{assignment['id']}")
        assert deleted.status_code == 204
        after = admin_api.run_and_wait("examples.args", first="no longer seen")["id"]
        own = user_api.run("core.echo", message="still mine")["id"]  # always theirs to see
        later = watcher.events_until(finished(own))

    assert before in ids_of(seen)
    assert after not in ids_of(later)
    assert own in ids_of(later)


def test_a_revoked_token_closes_its_stream_connection(stack, django_db_blocker):
    name, token = new_user(stack, django_db_blocker, "logout")
    with StreamClient(stack.url, token=token) as stream:
        stream.subscribe(events=["execution.*"])
        assert Api(stack.url, token=token).post("/api/v1/auth/logout", {}).status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            stream.receive(timeout=30)

    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4003, "access revoked")
