"""Inquiry fixtures backed by the test database (no live processes): the Celery messages a
step would send are replaced by calling the services they name."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from apps.packs.services import register_pack

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workflow_packs(db):
    register_pack(REPO_ROOT / "packs" / "core")
    register_pack(REPO_ROOT / "tests" / "fixtures" / "packs" / "workflows")


@pytest.fixture
def people(db):
    users = get_user_model()
    return {
        name: users.objects.create_user(name, password="pw") for name in ("alice", "bob", "eve")
    }
