"""Requesting and listing executions over the API (nothing runs: no worker is started)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.actions.models import Action
from apps.actions.parameters import SECRET_MASK
from apps.executions.choices import ExecutionStatus
from apps.executions.models import Execution
from apps.executions.sealing import open_secrets
from apps.packs.services import register_pack
from tests.api.conftest import FIXTURE_PACKS
from tests.api.factories import make_execution

pytestmark = pytest.mark.django_db

S = ExecutionStatus


def request_execution(client, action: str, parameters=None):
    body = {"action": action}
    if parameters is not None:
        body["parameters"] = parameters
    return client.post("/api/v1/executions", body, format="json")


def ids_in(response) -> list[int]:
    return [e["id"] for e in response.json()["results"]]


@pytest.fixture
def templates_pack(db):
    return register_pack(FIXTURE_PACKS / "templates")


# --- refused requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "parameters", "parameter"),
    [
        ("examples.greet", {}, "name"),
        ("examples.greet", {"name": "ada", "times": "3"}, "times"),
        ("examples.greet", {"name": 5}, "name"),
        ("examples.greet", {"name": "ada", "nmae": "typo"}, "nmae"),
        ("examples.args", {"mode": "medium"}, "mode"),
        ("core.echo", {"message": "hi", "cmd": "rm -rf /"}, "cmd"),
        ("core.pause", {"max_pause": -1}, "max_pause"),
        ("core.local", {"cmd": "true", "timeout": 0}, "timeout"),
    ],
)
def test_invalid_parameters_are_refused_naming_the_parameter(
    alice_api, core_pack, examples_pack, action, parameters, parameter
):
    response = request_execution(alice_api, action, parameters)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameters"
    assert parameter in body["detail"]
    assert [e["parameter"] for e in body["errors"]] == [parameter]
    assert body["errors"][0]["message"]
    assert not Execution.objects.exists()


def test_all_parameter_problems_are_reported_at_once(alice_api, examples_pack):
    response = request_execution(alice_api, "examples.args", {"second": "2", "mode": "medium"})

    assert response.status_code == 400
    assert {e["parameter"] for e in response.json()["errors"]} == {"second", "mode"}


def test_a_refused_secret_is_not_echoed_back(alice_api, examples_pack):
    response = request_execution(alice_api, "examples.args", {"password": ["hunter2-secret"]})

    assert response.status_code == 400
    assert [e["parameter"] for e in response.json()["errors"]] == ["password"]
    assert b"hunter2-secret" not in response.content


def test_an_unknown_action_is_404(alice_api, core_pack):
    response = request_execution(alice_api, "core.nope", {})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Execution.objects.exists()


def test_a_disabled_action_is_409(alice_api, core_pack):
    Action.objects.filter(ref="core.noop").update(is_enabled=False)

    response = request_execution(alice_api, "core.noop", {})

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert not Execution.objects.exists()


def test_a_request_without_an_action_is_refused(alice_api):
    response = alice_api.post("/api/v1/executions", {"parameters": {}}, format="json")

    assert response.status_code == 400
    assert "action" in response.json()["errors"]


def test_parameters_that_are_not_an_object_are_refused(alice_api, core_pack):
    response = request_execution(alice_api, "core.noop", ["a", "b"])

    assert response.status_code == 400
    assert "parameters" in response.json()["errors"]
    assert not Execution.objects.exists()


def test_malformed_json_is_400_not_500(alice_api):
    response = alice_api.post(
        "/api/v1/executions", data='{"action": "core.noop",', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_nul_character_is_refused_naming_the_field_not_a_500(alice_api, core_pack):
    # PostgreSQL cannot store \u0000 in jsonb or text.
    response = alice_api.post(
        "/api/v1/executions",
        data='{"action": "core.local", "parameters": {"cmd": "echo a\\u0000b"}}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "'parameters/cmd' contains a NUL character" in response.json()["detail"]
    assert not Execution.objects.exists()


# --- accepted requests ------------------------------------------------------------------------


def test_a_valid_request_is_recorded_as_requested(alice_api, alice, examples_pack):
    response = request_execution(alice_api, "examples.greet", {"name": "ada"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested"
    assert body["action"] == "examples.greet"
    assert body["runner_type"] == "python-script"
    assert body["created_by"] == "alice"
    execution = Execution.objects.get(pk=body["id"])
    assert execution.status == S.REQUESTED
    assert execution.created_by == alice


def test_defaults_are_applied_to_the_recorded_parameters(alice_api, examples_pack):
    response = request_execution(alice_api, "examples.greet", {"name": "ada"})

    assert response.json()["parameters"] == {"name": "ada", "times": 1, "timeout": 600}


def test_templated_defaults_are_rendered_with_the_callers_values(alice_api, core_pack):
    response = request_execution(alice_api, "core.echo", {"message": "it's $HOME"})

    assert response.status_code == 201
    assert response.json()["parameters"]["cmd"] == "echo 'it'\"'\"'s $HOME'"


def test_a_secret_parameter_is_masked_in_the_response_but_kept_for_the_run(
    alice_api, examples_pack
):
    response = request_execution(alice_api, "examples.args", {"password": "hunter2-secret"})

    assert response.status_code == 201
    assert response.json()["parameters"]["password"] == SECRET_MASK
    assert response.json()["parameters"]["mode"] == "fast"
    assert b"hunter2-secret" not in response.content
    execution = Execution.objects.get(pk=response.json()["id"])
    # Kept for the run, but only encrypted at rest (the worker opens it).
    assert "hunter2-secret" not in repr((execution.parameters, execution.supplied_parameters))
    opened = open_secrets(execution.parameters, execution.secret_parameter_names())
    assert opened["password"] == "hunter2-secret"


def test_a_secret_parameter_is_masked_when_the_execution_is_read_back(alice_api, examples_pack):
    created = request_execution(alice_api, "examples.args", {"password": "hunter2-secret"})

    detail = alice_api.get(f"/api/v1/executions/{created.json()['id']}")
    listing = alice_api.get("/api/v1/executions")

    assert detail.json()["parameters"]["password"] == SECRET_MASK
    assert b"hunter2-secret" not in detail.content
    assert b"hunter2-secret" not in listing.content


def test_leaving_out_parameters_means_none_are_supplied(alice_api, core_pack):
    response = request_execution(alice_api, "core.noop")

    assert response.status_code == 201
    assert response.json()["parameters"] == {}


def test_a_templated_default_follows_the_callers_value(alice_api, templates_pack):
    response = request_execution(alice_api, "templates.greeting", {"name": "ada"})

    assert response.status_code == 201
    assert response.json()["parameters"]["greeting"] == "hello ada"
    assert response.json()["parameters"]["cmd"] == "echo ada"


def test_a_templated_default_can_be_overridden_by_the_caller(alice_api, templates_pack):
    response = request_execution(alice_api, "templates.greeting", {"greeting": "hi {{ name }}"})

    assert response.status_code == 201
    assert response.json()["parameters"]["greeting"] == "hi {{ name }}"


def test_a_rerun_renders_immutable_defaults_from_the_new_values(alice_api, templates_pack):
    first = request_execution(alice_api, "templates.greeting", {"name": "ada"}).json()

    rerun = alice_api.post(
        f"/api/v1/executions/{first['id']}/rerun", {"parameters": {"name": "bob"}}, format="json"
    )

    assert rerun.status_code == 201
    assert rerun.json()["rerun_of"] == first["id"]
    assert rerun.json()["parameters"]["cmd"] == "echo bob"


def test_a_rerun_renders_templated_defaults_from_the_new_values(alice_api, templates_pack):
    first = request_execution(alice_api, "templates.greeting", {"name": "ada"}).json()

    rerun = alice_api.post(
        f"/api/v1/executions/{first['id']}/rerun", {"parameters": {"name": "bob"}}, format="json"
    )

    assert rerun.json()["parameters"]["greeting"] == "hello bob"


def test_a_templated_default_may_use_another_templated_default(alice_api, templates_pack):
    response = request_execution(alice_api, "templates.chained", {"name": "ada"})

    assert response.status_code == 201, response.content
    assert response.json()["parameters"]["cmd"] == "echo 'hello ada'"


# --- listing ----------------------------------------------------------------------------------


def test_executions_can_be_filtered_by_action(alice_api, alice):
    echo = make_execution("core.echo", created_by=alice)
    make_execution("core.noop", created_by=alice)

    response = alice_api.get("/api/v1/executions", {"action": "core.echo"})

    assert ids_in(response) == [echo.pk]


def test_executions_can_be_filtered_by_one_or_more_statuses(alice_api, alice):
    running = make_execution(status=S.RUNNING, created_by=alice)
    failed = make_execution(status=S.FAILED, created_by=alice)
    make_execution(status=S.SUCCEEDED, created_by=alice)

    one = alice_api.get("/api/v1/executions", {"status": "running"})
    two = alice_api.get("/api/v1/executions?status=running&status=failed")

    assert ids_in(one) == [running.pk]
    assert ids_in(two) == [failed.pk, running.pk]


def test_list_filters_do_not_apply_to_one_execution(alice_api, alice):
    running = make_execution(status=S.RUNNING, created_by=alice)

    response = alice_api.get(f"/api/v1/executions/{running.pk}", {"status": "exploded"})

    assert response.status_code == 200
    assert response.json()["status"] == "running"


def test_an_unknown_status_filter_is_refused(alice_api):
    response = alice_api.get("/api/v1/executions", {"status": "exploded"})

    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_executions_can_be_filtered_by_parent(alice_api, alice):
    parent = make_execution("core.local", created_by=alice)
    children = [
        make_execution(parent=parent, created_by=alice),
        make_execution(parent=parent, created_by=alice),
    ]
    make_execution(created_by=alice)

    response = alice_api.get("/api/v1/executions", {"parent": parent.pk})

    assert ids_in(response) == sorted((c.pk for c in children), reverse=True)


def test_executions_can_be_filtered_by_request_time(alice_api, alice):
    old = make_execution(created_by=alice)
    recent = make_execution(created_by=alice)
    now = timezone.now()
    Execution.objects.filter(pk=old.pk).update(requested_at=now - timedelta(days=2))
    Execution.objects.filter(pk=recent.pk).update(requested_at=now - timedelta(hours=1))
    since = (now - timedelta(days=1)).isoformat()

    after = alice_api.get("/api/v1/executions", {"requested_after": since})
    before = alice_api.get("/api/v1/executions", {"requested_before": since})

    assert ids_in(after) == [recent.pk]
    assert ids_in(before) == [old.pk]


def test_paging_through_executions_shows_each_once_newest_first(alice_api, alice):
    created = {make_execution(status=S.SUCCEEDED, created_by=alice).pk for _ in range(120)}

    seen, pages = [], 0
    url = "/api/v1/executions?page_size=50"
    while url:
        response = alice_api.get(url)
        assert response.status_code == 200
        page = ids_in(response)
        assert len(page) <= 50
        seen += page
        pages += 1
        url = response.json()["next"]

    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_paging_is_not_disturbed_by_new_executions(alice_api, alice):
    first_batch = [make_execution(created_by=alice).pk for _ in range(5)]

    first = alice_api.get("/api/v1/executions?page_size=3")
    make_execution(created_by=alice)
    second = alice_api.get(first.json()["next"])

    assert ids_in(first) + ids_in(second) == sorted(first_batch, reverse=True)


def test_paging_can_be_combined_with_filters(alice_api, alice):
    wanted = {make_execution("core.echo", created_by=alice).pk for _ in range(7)}
    for _ in range(7):
        make_execution("core.noop", created_by=alice)

    seen, url = [], "/api/v1/executions?action=core.echo&page_size=3"
    while url:
        response = alice_api.get(url)
        seen += ids_in(response)
        url = response.json()["next"]

    assert seen == sorted(wanted, reverse=True)


def test_others_executions_are_404_and_unlisted_but_staff_see_them(alice_api, staff_api, staff):
    theirs = make_execution("core.echo", created_by=staff)

    assert ids_in(alice_api.get("/api/v1/executions")) == []
    for path in ("", "/output"):
        assert alice_api.get(f"/api/v1/executions/{theirs.pk}{path}").status_code == 404
    assert alice_api.post(f"/api/v1/executions/{theirs.pk}/cancel").status_code == 404
    assert ids_in(staff_api.get("/api/v1/executions")) == [theirs.pk]
