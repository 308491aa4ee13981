"""Shared fixtures. (Environment set-up that must precede Django lives in tests/bootstrap.py.)"""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_keepdb):
    """Create the test database for every session, also when only end-to-end tests run.

    pytest-django creates it only for tests marked `django_db`; end-to-end tests use the
    database through the live processes instead.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0, interactive=False, keepdb=django_db_keepdb, aliases={"default"}
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=0)


@pytest.fixture(autouse=True)
def fresh_content_caches():
    """Tests that roll back their transaction never announce content changes (that happens on
    commit), so start each test with empty content caches."""
    from apps.core.cache import increment_version

    increment_version()


@pytest.fixture
def workflow_packs(db):
    """The core pack and the fixture pack of workflows, registered in the test database."""
    from apps.packs.services import register_pack

    register_pack(REPO_ROOT / "packs" / "core")
    register_pack(REPO_ROOT / "tests" / "fixtures" / "packs" / "workflows")
