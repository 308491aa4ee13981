"""Authentication: login tokens, logout, API keys, and which endpoints require credentials."""

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.core.cache import credentials_version_key
from apps.core.services import redis_client
from tests.api.factories import PASSWORD, api_client, make_token, make_user

pytestmark = pytest.mark.django_db


def login(username: str, password: str):
    return APIClient().post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )


def with_api_key(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def create_api_key(client: APIClient, name: str = "ci") -> dict:
    response = client.post("/api/v1/apikeys", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- login tokens ----------------------------------------------------------------------------


def test_login_with_good_credentials_returns_a_token():
    make_user("bob", password=PASSWORD)

    response = login("bob", PASSWORD)

    assert response.status_code == 201
    assert response.json()["token"].startswith("att_")
    assert response.json()["expires_at"]


def test_login_with_a_wrong_password_is_401_json():
    make_user("bob", password=PASSWORD)

    response = login("bob", "wrong password")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert "token" not in response.json()


def test_login_of_an_unknown_user_is_401():
    assert login("nobody", PASSWORD).status_code == 401


def test_login_of_an_inactive_user_is_401():
    user = make_user("bob", password=PASSWORD)
    user.is_active = False
    user.save()

    assert login("bob", PASSWORD).status_code == 401


def test_login_without_a_password_is_400_naming_the_field():
    response = APIClient().post("/api/v1/auth/token", {"username": "bob"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_the_issued_token_authenticates_requests():
    make_user("bob", password=PASSWORD)
    token = login("bob", PASSWORD).json()["token"]

    response = api_client(token=token).get("/api/v1/packs")

    assert response.status_code == 200


def test_an_expired_token_is_refused(alice):
    token = make_token(alice, expires_in=timedelta(seconds=-1))

    response = api_client(token=token).get("/api/v1/packs")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_revoked_token_is_refused(alice):
    token = make_token(alice, revoked=True)

    assert api_client(token=token).get("/api/v1/packs").status_code == 401


def test_a_made_up_token_is_refused(db):
    assert api_client(token="att_made-up").get("/api/v1/packs").status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(alice):
    token = make_token(alice)
    alice.is_active = False
    alice.save()

    assert api_client(token=token).get("/api/v1/packs").status_code == 401


def test_a_token_in_use_stops_working_as_soon_as_its_user_is_deactivated(alice):
    token = make_token(alice)
    assert api_client(token=token).get("/api/v1/packs").status_code == 200

    alice.is_active = False
    alice.save()

    assert api_client(token=token).get("/api/v1/packs").status_code == 401


def test_signing_in_to_the_admin_keeps_every_cached_login(db):
    """Django records `last_login` on each sign-in; that changes no one's access, so it must
    not make every process drop its credential cache (nor re-check every stream connection)."""
    alice = make_user("alice", password=PASSWORD)
    before = redis_client().get(credentials_version_key())

    assert Client().login(username="alice", password=PASSWORD)

    alice.refresh_from_db()
    assert alice.last_login is not None
    assert redis_client().get(credentials_version_key()) == before


def test_logout_revokes_the_token_it_was_made_with(alice):
    token = make_token(alice)
    other = make_token(alice)
    client = api_client(token=token)

    assert client.post("/api/v1/auth/logout").status_code == 204

    assert client.get("/api/v1/packs").status_code == 401
    assert api_client(token=other).get("/api/v1/packs").status_code == 200


# --- API keys --------------------------------------------------------------------------------


def test_creating_an_api_key_returns_the_key_once(alice_api):
    created = create_api_key(alice_api, "deploy")

    assert created["key"].startswith("atk_")
    assert created["key"].startswith(created["key_prefix"])
    listed = alice_api.get("/api/v1/apikeys").json()["results"]
    assert [k["name"] for k in listed] == ["deploy"]
    assert "key" not in listed[0]
    assert created["key"] not in str(listed)
    assert "key" not in alice_api.get(f"/api/v1/apikeys/{created['id']}").json()


def test_the_raw_api_key_is_not_stored(alice_api):
    created = create_api_key(alice_api)

    stored = ApiKey.objects.get(pk=created["id"])

    assert created["key"] != stored.key_hash
    assert created["key"] not in stored.key_hash


def test_an_api_key_authenticates_requests(alice_api):
    raw = create_api_key(alice_api)["key"]

    response = with_api_key(raw).get("/api/v1/apikeys")

    assert response.status_code == 200
    assert response.json()["results"][0]["last_used_at"] is not None


def test_a_disabled_api_key_is_refused(alice_api):
    created = create_api_key(alice_api)

    patched = alice_api.patch(
        f"/api/v1/apikeys/{created['id']}", {"is_enabled": False}, format="json"
    )

    assert patched.status_code == 200
    response = with_api_key(created["key"]).get("/api/v1/packs")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_an_api_key_in_use_stops_working_as_soon_as_it_is_disabled(alice_api):
    created = create_api_key(alice_api)
    assert with_api_key(created["key"]).get("/api/v1/packs").status_code == 200

    disable = {"is_enabled": False}
    alice_api.patch(f"/api/v1/apikeys/{created['id']}", disable, format="json")

    assert with_api_key(created["key"]).get("/api/v1/packs").status_code == 401


def test_a_deleted_api_key_is_refused(alice_api):
    created = create_api_key(alice_api)
    assert with_api_key(created["key"]).get("/api/v1/packs").status_code == 200

    assert alice_api.delete(f"/api/v1/apikeys/{created['id']}").status_code == 204

    assert with_api_key(created["key"]).get("/api/v1/packs").status_code == 401


def test_a_made_up_api_key_is_refused(db):
    assert with_api_key("atk_made-up").get("/api/v1/packs").status_code == 401


def test_users_see_only_their_own_api_keys(alice_api, staff_api):
    created = create_api_key(staff_api, "staff key")

    assert alice_api.get("/api/v1/apikeys").json()["results"] == []
    assert alice_api.get(f"/api/v1/apikeys/{created['id']}").status_code == 404
    disable = {"is_enabled": False}
    patched = alice_api.patch(f"/api/v1/apikeys/{created['id']}", disable, format="json")
    assert patched.status_code == 404
    assert alice_api.delete(f"/api/v1/apikeys/{created['id']}").status_code == 404
    assert with_api_key(created["key"]).get("/api/v1/packs").status_code == 200


# --- what needs credentials ------------------------------------------------------------------

PROTECTED_ENDPOINTS = [
    ("get", "/api/v1/packs"),
    ("get", "/api/v1/packs/core"),
    ("post", "/api/v1/packs/register"),
    ("post", "/api/v1/packs/upload"),
    ("get", "/api/v1/actions"),
    ("get", "/api/v1/actions/core.echo"),
    ("get", "/api/v1/executions"),
    ("post", "/api/v1/executions"),
    ("get", "/api/v1/executions/1"),
    ("post", "/api/v1/executions/1/cancel"),
    ("post", "/api/v1/executions/1/rerun"),
    ("get", "/api/v1/apikeys"),
    ("post", "/api/v1/apikeys"),
    ("get", "/api/v1/apikeys/1"),
    ("patch", "/api/v1/apikeys/1"),
    ("delete", "/api/v1/apikeys/1"),
    ("post", "/api/v1/auth/logout"),
]


@pytest.mark.parametrize(("method", "url"), PROTECTED_ENDPOINTS)
def test_endpoints_require_credentials(anonymous_api, core_pack, method, url):
    response = getattr(anonymous_api, method)(url, {}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "url"), PROTECTED_ENDPOINTS)
def test_endpoints_refuse_a_bad_token_rather_than_ignoring_it(core_pack, method, url):
    response = getattr(api_client(token="att_bogus"), method)(url, {}, format="json")

    assert response.status_code == 401


def test_health_is_open_without_credentials(anonymous_api):
    response = anonymous_api.get("/api/v1/health")

    assert response.status_code in (200, 503)
    assert response.json()["database"] == {"ok": True}


def test_an_unknown_url_under_the_api_is_a_json_404(alice_api):
    response = alice_api.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_url_is_404_without_credentials_too(anonymous_api):
    assert anonymous_api.get("/api/v1/no/such/thing").status_code == 404


def test_a_non_numeric_execution_id_is_404(alice_api):
    response = alice_api.get("/api/v1/executions/abc")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
