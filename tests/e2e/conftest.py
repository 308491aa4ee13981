"""End-to-end fixtures: the live stack, the packs it runs, and API clients per persona."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import login
from apps.packs.services import register_pack
from tests.support.api import Api
from tests.support.stack import REPO_ROOT, Stack

FIXTURE_PACKS = Path(__file__).resolve().parents[1] / "fixtures" / "packs"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def stack(django_db_setup, django_db_blocker):
    """Start web, worker and beat once for the whole session, with the packs registered."""
    with django_db_blocker.unblock():
        register_pack(REPO_ROOT / "packs" / "core")
        register_pack(FIXTURE_PACKS / "examples")
        User = get_user_model()
        User.objects.create_superuser("admin", "", PASSWORD)
        User.objects.create_user("alice", "", PASSWORD)
    live = Stack()
    try:
        live.start_all()
        yield live
    finally:
        live.stop_all()


def token_for(username: str, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        raw, _ = login(username, PASSWORD)
    return raw


@pytest.fixture(scope="session")
def admin_token(stack, django_db_blocker) -> str:
    return token_for("admin", django_db_blocker)


@pytest.fixture(scope="session")
def alice_token(stack, django_db_blocker) -> str:
    return token_for("alice", django_db_blocker)


@pytest.fixture(scope="session")
def admin_api(stack, admin_token) -> Api:
    return Api(stack.url, token=admin_token)


@pytest.fixture(scope="session")
def alice_api(stack, alice_token) -> Api:
    return Api(stack.url, token=alice_token)


@pytest.fixture
def live_db(django_db_blocker):
    """Read the database as the live processes see it (committed rows, no test transaction)."""
    with django_db_blocker.unblock():
        yield
