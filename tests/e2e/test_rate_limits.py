"""API rate limits per identity (T3.29): over the limit a caller gets 429 with Retry-After,
other callers carry on, and webhooks keep their own limits.

A second web process with a limit of 5 a minute serves these tests (the session's web server
keeps the generous default); it shares the database and Redis, as web processes do."""

import subprocess
import sys
import time

import pytest
import requests
from django.contrib.auth import get_user_model

from apps.accounts.services import create_api_key
from apps.core.processes import child_popen_kwargs, process_argv
from tests.e2e.conftest import PASSWORD, token_for
from tests.support.api import Api
from tests.support.events import unique, webhook_rule
from tests.support.stack import LOG_DIR, free_port

pytestmark = pytest.mark.e2e

LIMIT = 5


@pytest.fixture(scope="module")
def limited_url(stack):
    port = free_port()
    env = {**stack.environment(), "ATTUNE_API_RATE_LIMIT_PER_MINUTE": str(LIMIT)}
    with open(LOG_DIR / "web-limited.log", "ab") as log:
        process = subprocess.Popen(
            process_argv("web", sys.executable, port=port),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            **child_popen_kwargs(),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def wait_for_server(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the limited web server exited; see web-limited.log"
        try:
            requests.get(url + "/api/v1/nothing", timeout=2)  # any answer: it is up
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the limited web server did not start"
            time.sleep(0.1)


@pytest.fixture
def new_user_api(limited_url, django_db_blocker):
    """An API client for a fresh user on the limited server (a count of its own)."""

    def make() -> Api:
        name = unique("limited")
        with django_db_blocker.unblock():
            get_user_model().objects.create_user(name, "", PASSWORD)
        return Api(limited_url, token=token_for(name, django_db_blocker))

    return make


def wait_for_room_in_this_minute(needed_seconds: float = 10.0) -> None:
    """The limit counts per clock minute: start the burst where it cannot straddle two."""
    while 60 - time.time() % 60 < needed_seconds:
        time.sleep(0.1)


def test_a_user_over_the_limit_gets_429_with_retry_after(new_user_api):
    api = new_user_api()
    wait_for_room_in_this_minute()

    answers = [api.get("/api/v1/keys") for _ in range(LIMIT + 1)]

    assert [a.status_code for a in answers] == [200] * LIMIT + [429]
    refused = answers[-1]
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


def test_the_limit_is_per_identity(new_user_api):
    first, second = new_user_api(), new_user_api()
    wait_for_room_in_this_minute()

    for _ in range(LIMIT):
        first.get("/api/v1/keys")

    assert first.get("/api/v1/keys").status_code == 429
    assert second.get("/api/v1/keys").status_code == 200


def test_webhooks_keep_their_own_limits(new_user_api, alice_api, limited_url, django_db_blocker):
    url = unique("unthrottled")
    webhook_rule(alice_api, url, {"ref": "core.noop"})  # alice's rule: her key may send to it
    with django_db_blocker.unblock():
        raw_key, _ = create_api_key(get_user_model().objects.get(username="alice"), "rl")
    caller = Api(limited_url, api_key=raw_key)
    wait_for_room_in_this_minute()

    statuses = [caller.post(f"/api/v1/webhooks/{url}", json={}).status_code for _ in range(8)]

    assert statuses == [202] * 8
