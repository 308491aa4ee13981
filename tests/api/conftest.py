"""API test fixtures: the personas (staff, alice) and the packs they work with."""

from pathlib import Path

import pytest

from apps.packs.services import register_pack
from tests.api.factories import api_client, make_user

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_PACKS = REPO_ROOT / "tests" / "fixtures" / "packs"


@pytest.fixture
def staff(db):
    return make_user("staff", is_staff=True)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def sender(db):
    """A superuser sending webhooks (and owning the rules that listen on them)."""
    user = make_user("sender")
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def staff_api(staff):
    return api_client(staff)


@pytest.fixture
def alice_api(alice):
    return api_client(alice)


@pytest.fixture
def anonymous_api():
    return api_client()


@pytest.fixture
def core_pack(db):
    return register_pack(REPO_ROOT / "packs" / "core")


@pytest.fixture
def examples_pack(db):
    return register_pack(FIXTURE_PACKS / "examples")
