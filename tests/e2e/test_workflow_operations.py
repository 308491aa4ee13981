"""Workflow operations end to end: a 100-task sequence, refusal of invalid definitions, cancel,
pause/resume (also of nested workflows and remaining items) and re-run from chosen tasks."""

import time
from pathlib import Path

import pytest

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.e2e

ACTIVE_CHILD = ("requested", "scheduled", "running", "pausing", "paused", "resuming")


@pytest.fixture(scope="module", autouse=True)
def workflows_pack(stack, django_db_blocker):
    with django_db_blocker.unblock():
        register_pack(FIXTURE_PACKS / "workflows")


def children_of(api, execution_id: int) -> list[dict]:
    response = api.get("/api/v1/executions", params={"parent": execution_id})
    return sorted(response.json()["results"], key=lambda e: e["id"])


def workflow(api, execution_id: int) -> dict:
    response = api.get(f"/api/v1/workflows/{execution_id}")
    assert response.status_code == 200, response.text
    return response.json()


def write_sequence_pack(root: Path, length: int) -> Path:
    lines = ["version: 1.0", "input: [start]", "tasks:"]
    for i in range(length):
        lines += [
            f"  step{i}:",
            "    action: core.noop",
            "    next:",
            f"      - publish: count=<% ctx().get(count, 0) + 1 %> last=step{i}",
        ]
        if i < length - 1:
            lines.append(f"        do: step{i + 1}")
    lines += ["output:", "  - count: <% ctx(count) %>", "  - last: <% ctx(last) %>"]
    (root / "actions" / "workflows").mkdir(parents=True)
    (root / "pack.yaml").write_text("ref: long_sequence\nname: long_sequence\nversion: 1.0.0\n")
    (root / "actions" / "hundred.yaml").write_text(
        "name: hundred\nrunner_type: orquesta\nentry_point: workflows/hundred.yaml\n"
        "parameters:\n  start:\n    type: integer\n    default: 0\n"
    )
    (root / "actions" / "workflows" / "hundred.yaml").write_text("\n".join(lines) + "\n")
    return root


def test_a_hundred_task_sequence_completes(alice_api, django_db_blocker, tmp_path):
    """T3.25."""
    with django_db_blocker.unblock():
        register_pack(write_sequence_pack(tmp_path / "long_sequence", 100))

    execution = alice_api.wait_for(alice_api.run("long_sequence.hundred")["id"], timeout=180)

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"count": 100, "last": "step99"}
    tasks = alice_api.get(f"/api/v1/executions/{execution['id']}/tasks").json()
    assert [t["name"] for t in tasks] == [f"step{i}" for i in range(100)]
    assert all(t["status"] == "succeeded" for t in tasks)


def test_an_invalid_workflow_refuses_the_pack_with_precise_errors(admin_api):
    response = admin_api.post(
        "/api/v1/packs/register", {"path": str(FIXTURE_PACKS / "bad_workflow")}
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_pack"
    errors = {(e["file"], e["field"]): e["message"] for e in body["errors"]}
    file = "actions/workflows/broken.yaml"
    assert errors[(file, "tasks.second.next.0.do")] == (
        "task 'nowhere' does not exist in this workflow (line 12)"
    )
    assert (file, "tasks.second.join") in errors
    assert (file, "tasks.first.action.message") in errors
    assert admin_api.get("/api/v1/actions/bad_workflow.broken").status_code == 404


def test_cancel_stops_the_running_child_and_starts_nothing_new(alice_api):
    execution = alice_api.run("workflows.slow_steps", seconds=30)
    alice_api.wait_for(execution["id"], statuses={"running"})
    first = wait_for_child(alice_api, execution["id"], statuses={"running"})

    response = alice_api.post(f"/api/v1/executions/{execution['id']}/cancel")
    assert response.status_code == 202, response.text

    canceled = alice_api.wait_for(execution["id"])
    assert canceled["status"] == "canceled"
    children = children_of(alice_api, execution["id"])
    assert [c["id"] for c in children] == [first["id"]]
    assert children[0]["status"] == "canceled"
    assert workflow(alice_api, execution["id"])["status"] == "canceled"


def wait_for_child(api, execution_id: int, statuses, count: int = 1, timeout: float = 30.0):
    """Wait until the workflow has `count` children and the last is in one of `statuses`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = children_of(api, execution_id)
        if len(children) >= count and children[count - 1]["status"] in statuses:
            return children[count - 1]
        time.sleep(0.05)
    raise AssertionError(f"workflow {execution_id} children: {children_of(api, execution_id)}")


def test_pause_waits_for_the_running_task_and_resume_continues(alice_api):
    execution = alice_api.run("workflows.slow_steps", seconds=3)
    wait_for_child(alice_api, execution["id"], statuses={"running"})

    response = alice_api.post(f"/api/v1/workflows/{execution['id']}/pause")
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("pausing", "paused")
    paused = alice_api.wait_for(execution["id"], statuses={"paused"})
    assert paused["status"] == "paused"
    children = children_of(alice_api, execution["id"])
    assert [c["status"] for c in children] == ["succeeded"]  # `two` did not start

    assert alice_api.post(f"/api/v1/workflows/{execution['id']}/pause").status_code == 409
    response = alice_api.post(f"/api/v1/workflows/{execution['id']}/resume")
    assert response.status_code == 202, response.text

    done = alice_api.wait_for(execution["id"])
    assert done["status"] == "succeeded"
    assert [c["action"] for c in children_of(alice_api, execution["id"])] == [
        "core.pause",
        "core.pause",
        "core.noop",
    ]


def test_resume_runs_the_remaining_items(alice_api):
    execution = alice_api.run("workflows.sleep_items", seconds=[3, 1, 1, 1], concurrency=1)
    wait_for_child(alice_api, execution["id"], statuses={"running"})

    assert alice_api.post(f"/api/v1/workflows/{execution['id']}/pause").status_code == 202
    alice_api.wait_for(execution["id"], statuses={"paused"})
    assert len(children_of(alice_api, execution["id"])) == 1

    assert alice_api.post(f"/api/v1/workflows/{execution['id']}/resume").status_code == 202
    done = alice_api.wait_for(execution["id"])
    assert done["status"] == "succeeded"
    children = children_of(alice_api, execution["id"])
    assert len(children) == 4
    assert all(c["status"] == "succeeded" for c in children)


def test_pause_cascades_into_a_child_workflow(alice_api):
    execution = alice_api.run("workflows.nested_slow", seconds=3)
    inner = wait_for_child(alice_api, execution["id"], statuses={"running"})
    wait_for_child(alice_api, inner["id"], statuses={"running"})

    assert alice_api.post(f"/api/v1/workflows/{execution['id']}/pause").status_code == 202

    assert alice_api.wait_for(execution["id"], statuses={"paused"})["status"] == "paused"
    assert alice_api.wait_for(inner["id"], statuses={"paused"})["status"] == "paused"
    assert [c["status"] for c in children_of(alice_api, inner["id"])] == ["succeeded"]

    assert alice_api.post(f"/api/v1/workflows/{execution['id']}/resume").status_code == 202
    done = alice_api.wait_for(execution["id"])
    assert done["status"] == "succeeded", done
    assert alice_api.get(f"/api/v1/executions/{inner['id']}").json()["status"] == "succeeded"
    assert [c["action"] for c in children_of(alice_api, execution["id"])] == [
        "workflows.slow_steps",
        "core.noop",
    ]


def test_pausing_something_that_is_not_a_workflow_is_refused(alice_api):
    done = alice_api.run_and_wait("core.noop")
    response = alice_api.post(f"/api/v1/workflows/{done['id']}/pause")
    assert response.status_code == 404
    assert alice_api.post("/api/v1/workflows/999999/resume").status_code == 404
    response = alice_api.get(f"/api/v1/executions/{done['id']}/tasks")
    assert response.status_code == 404
    assert response.json()["detail"] == f"execution {done['id']} is not a workflow"


def test_rerun_from_a_failed_task_keeps_earlier_results(alice_api, tmp_path):
    counter = str(tmp_path / "count")
    failed = alice_api.wait_for(
        alice_api.run("workflows.retry", counter=counter, succeed_on=3, count=0)["id"]
    )
    assert failed["status"] == "failed"

    response = alice_api.post(f"/api/v1/workflows/{failed['id']}/rerun", {"tasks": ["flaky"]})
    assert response.status_code == 201, response.text
    rerun = alice_api.wait_for(response.json()["id"])
    assert rerun["status"] == "failed"  # attempt 2 of 3
    assert rerun["rerun_of"] == failed["id"]

    response = alice_api.post(f"/api/v1/workflows/{rerun['id']}/rerun", {"tasks": ["flaky"]})
    third = alice_api.wait_for(response.json()["id"])
    assert third["status"] == "succeeded"
    assert third["result"]["output"] == {"said": "attempt 3"}


def test_rerun_of_with_items_runs_only_failed_items_unless_reset(alice_api, tmp_path):
    marker = tmp_path / "fixed"
    items = ["true", f"test -e {marker}", "true"]
    failed = alice_api.wait_for(alice_api.run("workflows.shell_items", commands=items)["id"])
    assert failed["status"] == "failed"
    assert [c["status"] for c in children_of(alice_api, failed["id"])] == [
        "succeeded",
        "failed",
        "succeeded",
    ]
    marker.touch()

    response = alice_api.post(f"/api/v1/workflows/{failed['id']}/rerun", {"tasks": ["each"]})
    rerun = alice_api.wait_for(response.json()["id"])
    assert rerun["status"] == "succeeded", rerun
    assert [c["parameters"]["cmd"] for c in children_of(alice_api, rerun["id"])] == [items[1]]
    assert rerun["result"]["output"]["codes"] == [0, 0, 0]

    response = alice_api.post(
        f"/api/v1/workflows/{failed['id']}/rerun", {"tasks": ["each"], "reset": ["each"]}
    )
    reset = alice_api.wait_for(response.json()["id"])
    assert reset["status"] == "succeeded"
    assert len(children_of(alice_api, reset["id"])) == 3


def test_rerun_refuses_unknown_tasks_and_unfinished_workflows(alice_api):
    running = alice_api.run("workflows.slow_steps", seconds=30)
    alice_api.wait_for(running["id"], statuses={"running"})
    response = alice_api.post(f"/api/v1/workflows/{running['id']}/rerun", {"tasks": ["one"]})
    assert response.status_code == 409
    alice_api.post(f"/api/v1/executions/{running['id']}/cancel")
    alice_api.wait_for(running["id"])

    response = alice_api.post(f"/api/v1/workflows/{running['id']}/rerun", {"tasks": ["ghost"]})
    assert response.status_code == 400
    assert "ghost" in response.json()["detail"]
    response = alice_api.post(f"/api/v1/workflows/{running['id']}/rerun", {"tasks": []})
    assert response.status_code == 400


def test_cancel_cascades_into_a_child_workflow(alice_api):
    execution = alice_api.run("workflows.nested_slow", seconds=30)
    inner = wait_for_child(alice_api, execution["id"], statuses={"running"})
    step = wait_for_child(alice_api, inner["id"], statuses={"running"})

    assert alice_api.post(f"/api/v1/executions/{execution['id']}/cancel").status_code == 202

    assert alice_api.wait_for(execution["id"])["status"] == "canceled"
    assert alice_api.wait_for(inner["id"])["status"] == "canceled"
    assert alice_api.wait_for(step["id"])["status"] == "canceled"
    assert len(children_of(alice_api, execution["id"])) == 1


def test_others_workflows_are_404_and_cannot_be_paused_or_rerun(admin_api, alice_api):
    execution = admin_api.run("workflows.slow_steps", seconds=30)
    admin_api.wait_for(execution["id"], statuses={"running"})
    wait_for_child(admin_api, execution["id"], statuses={"running"})
    workflow_id = execution["id"]

    assert alice_api.get(f"/api/v1/workflows/{workflow_id}").status_code == 404
    assert alice_api.get(f"/api/v1/executions/{workflow_id}/tasks").status_code == 404
    assert alice_api.post(f"/api/v1/workflows/{workflow_id}/pause").status_code == 404
    rerun = {"tasks": ["step1"]}
    assert alice_api.post(f"/api/v1/workflows/{workflow_id}/rerun", rerun).status_code == 404
    assert children_of(alice_api, workflow_id) == []
    assert workflow(admin_api, workflow_id)["status"] == "running"  # untouched

    admin_api.post(f"/api/v1/executions/{workflow_id}/cancel")
    assert admin_api.wait_for(workflow_id)["status"] == "canceled"
