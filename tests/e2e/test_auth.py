"""Credentials against the live web server, which runs several processes that each cache
token and API-key lookups for a few seconds."""

import requests

from tests.e2e.conftest import token_for

ATTEMPTS = 20  # fresh connections, spread over the web processes


def statuses(url: str, headers: dict) -> list[int]:
    return [requests.get(url, headers=headers, timeout=10).status_code for _ in range(ATTEMPTS)]


def test_logout_stops_the_token_at_once_in_every_web_process(stack, django_db_blocker):
    headers = {"Authorization": f"Bearer {token_for('alice', django_db_blocker)}"}
    url = f"{stack.url}/api/v1/packs"
    assert statuses(url, headers) == [200] * ATTEMPTS

    logout = requests.post(f"{stack.url}/api/v1/auth/logout", headers=headers, timeout=10)

    assert logout.status_code == 204
    assert statuses(url, headers) == [401] * ATTEMPTS


def test_a_disabled_api_key_stops_at_once_in_every_web_process(stack, alice_api):
    created = alice_api.post("/api/v1/apikeys", json={"name": "e2e"}).json()
    headers = {"X-API-Key": created["key"]}
    url = f"{stack.url}/api/v1/packs"
    assert statuses(url, headers) == [200] * ATTEMPTS

    disable = alice_api.session.patch(
        f"{stack.url}/api/v1/apikeys/{created['id']}", json={"is_enabled": False}, timeout=10
    )

    assert disable.status_code == 200

    assert statuses(url, headers) == [401] * ATTEMPTS
