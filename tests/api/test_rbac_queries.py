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


def test_authorizing_an_execution_request_reads_no_rows_once_the_action_is_cached():
    from apps.packs.services import register_pack
    from tests.api.conftest import FIXTURE_PACKS

    owner = make_user("owner")
    register_pack(FIXTURE_PACKS / "examples", owner=owner)
    client = api_client(owner)
    body = {"action": "examples.args", "parameters": {"first": "a", "second": 2}}
    assert client.post("/api/v1/executions", body, format="json").status_code == 201

    with CaptureQueriesContext(connection) as captured:
        assert client.post("/api/v1/executions", body, format="json").status_code == 201

    action_reads = [q["sql"] for q in captured if '"actions_action"' in q["sql"]]
    assert action_reads == []
