"""Authorization adds a fixed number of queries to a list, however many rows it shows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.rbac.models import Grant, Role
from tests.api.factories import api_client, make_execution, make_user
from tests.api.rbac_world import give_role

pytestmark = pytest.mark.django_db


def queries_to_list(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/api/v1/executions", "/api/v1/enforcements", "/api/v1/packs"])
def test_listing_as_a_role_holder_costs_the_same_for_few_and_many_rows(url):
    user = make_user("lister")
    role = Role.objects.create(name="ops_watcher")
    Grant.objects.create(role=role, permission_type="execution_view", pack_ref="ops")
    give_role(user, "ops_watcher")
    client = api_client(user)
    make_execution("ops.deploy", created_by=user)
    few = queries_to_list(client, url)

    for _ in range(5):
        make_execution("ops.deploy")
        make_execution("ops.deploy", created_by=user)

    assert queries_to_list(api_client(user), url) == few


def test_an_execution_request_reads_no_rows_once_action_and_credentials_are_cached():
    from apps.packs.services import register_pack
    from tests.api.conftest import FIXTURE_PACKS

    owner = make_user("owner")
    register_pack(FIXTURE_PACKS / "examples", owner=owner)
    give_role(owner, "viewer")
    client = api_client(owner)
    body = {"action": "examples.args", "parameters": {"first": "a", "second": 2}}
    assert client.post("/api/v1/executions", body, format="json").status_code == 201

    with CaptureQueriesContext(connection) as captured:
        assert client.post("/api/v1/executions", body, format="json").status_code == 201

    reads = [q["sql"] for q in captured if q["sql"].startswith("SELECT")]
    assert reads == []


def test_role_changes_apply_to_the_next_request_of_a_cached_credential():
    from django.contrib.auth.models import Group

    from apps.packs.services import register_pack
    from apps.rbac.models import RoleAssignment
    from tests.api.conftest import FIXTURE_PACKS

    register_pack(FIXTURE_PACKS / "examples", owner=make_user("owner"))
    user = make_user("runner")
    client = api_client(user)  # one token: its cached credential carries the user's grants
    body = {"action": "examples.args", "parameters": {"first": "a", "second": 2}}
    assert client.post("/api/v1/executions", body, format="json").status_code == 404

    role = Role.objects.create(name="examples_runner")
    Grant.objects.create(role=role, permission_type="action_execute", pack_ref="examples")
    Grant.objects.create(role=role, permission_type="action_view", pack_ref="examples")
    group = Group.objects.create(name="runners")
    RoleAssignment.objects.create(role=role, group=group)
    user.groups.add(group)
    assert client.post("/api/v1/executions", body, format="json").status_code == 201

    Grant.objects.filter(role=role, permission_type="action_execute").delete()
    assert client.post("/api/v1/executions", body, format="json").status_code == 403

    user.groups.remove(group)
    assert client.post("/api/v1/executions", body, format="json").status_code == 404
