"""User-scoped keys are visible to their owner and to roles granted on them (`?user=`)."""

import pytest

from apps.datastore.models import KeyValuePair
from apps.rbac.models import Grant, Role
from tests.api.factories import api_client, make_user
from tests.api.rbac_world import give_role

pytestmark = pytest.mark.django_db

BOBS_KEY = "/api/v1/keys/deploy_token?scope=user&user=bob"


@pytest.fixture
def bob_has_keys(db):
    bob = api_client(make_user("bob"))
    for name, secret in (("deploy_token", True), ("notes", False)):
        body = {"value": f"bob's {name}", "secret": secret}
        assert bob.put(f"/api/v1/keys/{name}?scope=user", body, format="json").status_code == 201


def holder_of(*grants: tuple) -> object:
    """A client for a new user whose role holds `grants` ((permission, resource_ref), ...)."""
    user = make_user("keeper")
    role = Role.objects.create(name="key_keeper")
    for permission, ref in grants:
        Grant.objects.create(role=role, permission_type=permission, resource_ref=ref)
    give_role(user, "key_keeper")
    return api_client(user)


def test_others_user_keys_do_not_exist_without_a_grant(bob_has_keys, alice_api):
    assert alice_api.get(BOBS_KEY).status_code == 404
    assert alice_api.get("/api/v1/keys?scope=user&user=bob").status_code == 404
    assert alice_api.delete(BOBS_KEY).status_code == 404
    assert alice_api.put(BOBS_KEY, {"value": "x"}, format="json").status_code == 404


def test_a_key_grant_shows_that_key_masked_and_no_other(bob_has_keys):
    keeper = holder_of(("key_view", "deploy_token"))

    shown = keeper.get(BOBS_KEY)

    assert shown.status_code == 200
    assert shown.json()["value"] == "********"
    assert shown.json()["user"] == "bob"
    assert keeper.get(f"{BOBS_KEY}&show_secrets=true").status_code == 403
    assert keeper.get("/api/v1/keys/notes?scope=user&user=bob").status_code == 404


def test_viewing_does_not_allow_changing(bob_has_keys):
    keeper = holder_of(("key_view", "deploy_token"))

    assert keeper.put(BOBS_KEY, {"value": "mine now"}, format="json").status_code == 403
    assert keeper.delete(BOBS_KEY).status_code == 403
    assert KeyValuePair.objects.filter(name="deploy_token").exists()


def test_a_global_key_grant_lists_and_changes_another_users_keys(bob_has_keys):
    keeper = holder_of(("key_all", ""))

    listed = keeper.get("/api/v1/keys?scope=user&user=bob").json()["results"]
    replaced = keeper.put(
        "/api/v1/keys/notes?scope=user&user=bob", {"value": "edited"}, format="json"
    )

    assert sorted(k["name"] for k in listed) == ["deploy_token", "notes"]
    assert replaced.status_code == 200
    assert KeyValuePair.objects.get(name="notes").value == "edited"
    assert KeyValuePair.objects.get(name="notes").user.username == "bob"


def test_user_applies_to_user_scoped_keys_only(alice_api):
    answer = alice_api.get("/api/v1/keys/x?user=bob")

    assert answer.status_code == 400
    assert "user-scoped keys only" in answer.json()["detail"]
