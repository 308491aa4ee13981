"""Orquesta workflows end to end: API -> control queue engine -> child executions on workers."""

from datetime import datetime

import pytest

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS
from tests.support.events import post_webhook, unique, wait_for_enforcements, webhook_rule

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def workflows_pack(stack, django_db_blocker):
    with django_db_blocker.unblock():
        register_pack(FIXTURE_PACKS / "workflows")


def run_workflow(api, action: str, timeout: float = 60.0, **parameters) -> dict:
    execution = api.run(action, **parameters)
    return api.wait_for(execution["id"], timeout=timeout)


def tasks_of(api, execution_id: int) -> list[dict]:
    response = api.get(f"/api/v1/executions/{execution_id}/tasks")
    assert response.status_code == 200, response.text
    return response.json()


def children_of(api, execution_id: int) -> list[dict]:
    response = api.get("/api/v1/executions", params={"parent": execution_id})
    return sorted(response.json()["results"], key=lambda e: e["id"])


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def max_overlap(children: list[dict]) -> int:
    """The largest number of children running at the same instant."""
    events = []
    for child in children:
        events += [(moment(child["started_at"]), 1), (moment(child["finished_at"]), -1)]
    running = peak = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):
        running += change
        peak = max(peak, running)
    return peak


def test_sequence_passes_each_result_to_the_next_step(alice_api):
    execution = run_workflow(alice_api, "workflows.sequence", name="ada")

    assert execution["status"] == "succeeded", execution
    assert execution["result"] == {
        "output": {"a": "A:ada", "b": "B:A:ada", "c": "C:B:A:ada"},
        "errors": [],
    }
    tasks = tasks_of(alice_api, execution["id"])
    assert [(t["name"], t["status"]) for t in tasks] == [
        ("a", "succeeded"),
        ("b", "succeeded"),
        ("c", "succeeded"),
    ]
    children = children_of(alice_api, execution["id"])
    assert [c["id"] for c in children] == [t["execution"] for t in tasks]
    assert all(c["parent"] == execution["id"] and c["created_by"] == "alice" for c in children)
    assert tasks[1]["published"] == {"b_out": "B:A:ada"}
    assert tasks[1]["context"]["a_out"] == "A:ada"


def test_workflow_record_shows_tasks_output_and_errors(alice_api):
    execution = run_workflow(alice_api, "workflows.actionless", x=3)

    workflow = alice_api.get(f"/api/v1/workflows/{execution['id']}").json()
    assert workflow["status"] == "succeeded"
    assert workflow["output"] == {"x": 36}
    assert workflow["errors"] == []
    assert [t["name"] for t in workflow["tasks"]] == ["double", "square"]
    assert all(t["execution"] is None for t in workflow["tasks"])  # no child for routing tasks
    assert children_of(alice_api, execution["id"]) == []


def test_join_all_waits_for_every_branch(alice_api):
    execution = run_workflow(alice_api, "workflows.parallel_join")

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"seen": ["medium", "quick", "slow"]}
    tasks = {t["name"]: t for t in tasks_of(alice_api, execution["id"])}
    children = {c["id"]: c for c in children_of(alice_api, execution["id"])}
    barrier = children[tasks["barrier"]["execution"]]
    slow = children[tasks["slow"]["execution"]]
    assert moment(barrier["started_at"]) >= moment(slow["finished_at"])
    assert sum(1 for t in tasks_of(alice_api, execution["id"]) if t["name"] == "barrier") == 1


def test_join_count_runs_once_enough_branches_arrived(alice_api):
    execution = run_workflow(alice_api, "workflows.join_count")

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"seen": ["medium", "quick"]}
    tasks = {t["name"]: t for t in tasks_of(alice_api, execution["id"])}
    children = {c["id"]: c for c in children_of(alice_api, execution["id"])}
    barrier = children[tasks["barrier"]["execution"]]
    slow = children[tasks["slow"]["execution"]]
    assert moment(barrier["finished_at"]) < moment(slow["finished_at"])


@pytest.mark.parametrize(
    ("n", "size", "parity"), [(42, "big", "even"), (7, "small", "odd"), (12, "big", "even")]
)
def test_if_else_follows_input_and_results(alice_api, n, size, parity):
    execution = run_workflow(alice_api, "workflows.branching", n=n)

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"size": size, "parity": parity}
    names = [t["name"] for t in tasks_of(alice_api, execution["id"])]
    assert names == ["decide", size, "check_parity"]


def test_with_items_runs_one_child_per_item_and_keeps_their_order(alice_api):
    """T1.5."""
    fruits = ["apple", "banana", "cherry"]
    execution = run_workflow(alice_api, "workflows.with_items", items=fruits)

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"echoed": fruits}
    children = children_of(alice_api, execution["id"])
    assert len(children) == 3
    assert all(c["parent"] == execution["id"] for c in children)
    assert sorted(c["parameters"]["message"] for c in children) == fruits
    (task,) = tasks_of(alice_api, execution["id"])
    assert task["items"] == [{"fruit": f} for f in fruits]
    assert [r["stdout"] for r in task["result"]] == [f + "\n" for f in fruits]


def test_with_items_children_overlap_up_to_the_concurrency(alice_api):
    """T2.10: items run in parallel, never more at once than the concurrency allows."""
    parallel = run_workflow(alice_api, "workflows.sleep_items", seconds=[2, 2, 2], concurrency=3)
    limited = run_workflow(alice_api, "workflows.sleep_items", seconds=[1, 1, 1, 1], concurrency=2)

    assert parallel["status"] == limited["status"] == "succeeded"
    assert max_overlap(children_of(alice_api, parallel["id"])) == 3
    assert max_overlap(children_of(alice_api, limited["id"])) == 2


def test_retry_until_success(alice_api, tmp_path):
    """T2.8: fails twice, succeeds on the third try, after delays; no retry after success."""
    counter = str(tmp_path / "count")
    execution = run_workflow(alice_api, "workflows.retry", counter=counter, succeed_on=3)

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"said": "attempt 3"}
    children = children_of(alice_api, execution["id"])
    assert [c["status"] for c in children] == ["failed", "failed", "succeeded"]
    for before, after in zip(children, children[1:], strict=False):
        gap = moment(after["requested_at"]) - moment(before["finished_at"])
        assert gap.total_seconds() >= 0.9  # retry.delay is 1 s
    (task,) = tasks_of(alice_api, execution["id"])
    assert task["attempt"] == 2


def test_retry_exhausted_fails_with_the_last_attempt(alice_api, tmp_path):
    counter = str(tmp_path / "count")
    execution = run_workflow(alice_api, "workflows.retry", counter=counter, succeed_on=10, count=1)

    assert execution["status"] == "failed"
    assert len(children_of(alice_api, execution["id"])) == 2
    (error,) = execution["result"]["errors"]
    assert error["task_id"] == "flaky"
    assert error["result"]["stdout"] == "attempt 2\n"


def test_delay_holds_the_task_back(alice_api):
    execution = run_workflow(alice_api, "workflows.delay", seconds=1)

    assert execution["status"] == "succeeded"
    first, later = children_of(alice_api, execution["id"])
    gap = moment(later["requested_at"]) - moment(first["finished_at"])
    assert gap.total_seconds() >= 0.9


@pytest.mark.parametrize(
    ("command", "fail", "status", "code"),
    [
        ("continue", True, "failed", 3),
        ("noop", True, "succeeded", 3),
        ("fail", False, "failed", None),
    ],
)
def test_engine_commands(alice_api, command, fail, status, code):
    execution = run_workflow(alice_api, "workflows.commands", command=command, fail=fail)

    assert execution["status"] == status, execution
    assert execution["result"]["output"] == {"code": code}


def test_retry_command_retries_the_task(alice_api, tmp_path):
    counter = str(tmp_path / "count")
    execution = run_workflow(alice_api, "workflows.commands", command="retry", counter=counter)

    assert execution["status"] == "succeeded", execution
    assert [c["status"] for c in children_of(alice_api, execution["id"])] == [
        "failed",
        "failed",
        "succeeded",
    ]


def test_remediation_branch_makes_the_workflow_succeed(alice_api):
    execution = run_workflow(alice_api, "workflows.remediation", cmd="echo oops >&2; exit 1")

    assert execution["status"] == "succeeded", execution
    assert execution["result"] == {"output": {"stderr": "oops", "cleaned": True}, "errors": []}


def test_unhandled_failure_fails_and_still_renders_output(alice_api):
    execution = run_workflow(
        alice_api, "workflows.remediation", cmd="echo oops >&2; exit 1", handle=False
    )

    assert execution["status"] == "failed"
    assert execution["result"]["output"] == {"stderr": "oops", "cleaned": False}
    (error,) = execution["result"]["errors"]
    assert error["task_id"] == "work"
    assert error["message"] == "task 'work' failed"
    assert "task 'work' failed" in execution["error"]


def test_template_error_fails_cleanly_with_the_message(alice_api):
    """T2.4."""
    execution = run_workflow(alice_api, "workflows.template_error", data={"present": 1})

    assert execution["status"] == "failed"
    (error,) = execution["result"]["errors"]
    assert error["task_id"] == "use"
    assert "missing" in error["message"]
    assert children_of(alice_api, execution["id"]) == []


def test_nested_workflows_four_levels_deep_pass_results_up(alice_api):
    """T2.1."""
    execution = run_workflow(alice_api, "workflows.nested", depth=3)

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"path": [0, 1, 2, 3]}
    chain, current = [], execution
    while True:
        children = children_of(alice_api, current["id"])
        if not children:
            break
        (current,) = children
        chain.append(current["action"])
    assert chain == ["workflows.nested"] * 3 + ["core.local"]


def test_nested_failure_propagates_to_every_level(alice_api):
    execution = run_workflow(alice_api, "workflows.nested", depth=2, fail_at_bottom=True)

    assert execution["status"] == "failed"
    (child,) = children_of(alice_api, execution["id"])
    (grandchild,) = children_of(alice_api, child["id"])
    assert child["status"] == grandchild["status"] == "failed"
    assert execution["result"]["errors"][0]["task_id"] == "deeper"


@pytest.mark.parametrize(
    ("break_nested", "healthy", "decision"),
    [(False, True, "scale down a,b,c"), (True, False, "scale up a,b,c")],
)
def test_complex_workflow(alice_api, break_nested, healthy, decision):
    """T3.7: parallel branches and a join, if/else, nested workflow with error handling."""
    servers = [{"name": "a", "cpus": 2}, {"name": "b", "cpus": 4}, {"name": "c", "cpus": 8}]
    execution = run_workflow(
        alice_api, "workflows.complex", servers=servers, break_nested=break_nested
    )

    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {
        "total": 14,
        "healthy": healthy,
        "decision": decision,
    }


def test_unknown_workflow_parameter_is_refused(alice_api):
    response = alice_api.post(
        "/api/v1/executions", {"action": "workflows.sequence", "parameters": {}}
    )
    assert response.status_code == 400
    assert "name" in response.text


def test_secret_parameters_are_masked_in_every_workflow_output(alice_api):
    token = "s3cr3t-token-value"
    execution = run_workflow(alice_api, "workflows.secret_output", token=token)

    assert execution["status"] == "succeeded"
    assert execution["parameters"]["token"] == "********"
    assert execution["result"]["output"] == {"header": "Bearer ********"}
    workflow = alice_api.get(f"/api/v1/workflows/{execution['id']}").text
    tasks = alice_api.get(f"/api/v1/executions/{execution['id']}/tasks").text
    assert token not in workflow and token not in tasks
    assert "Bearer ********" in tasks


def test_fail_fast_lets_running_tasks_finish_and_starts_nothing_new(alice_api):
    """T2.2: a failure without remediation fails the workflow once running tasks finish."""
    execution = run_workflow(alice_api, "workflows.fail_fast")

    assert execution["status"] == "failed"
    by_cmd = {c["parameters"]["cmd"]: c for c in children_of(alice_api, execution["id"])}
    assert set(by_cmd) == {"exit 1", "sleep 3"}  # after_slow never started
    assert by_cmd["sleep 3"]["status"] == "succeeded"  # the running task was let finish
    assert moment(execution["finished_at"]) >= moment(by_cmd["sleep 3"]["finished_at"])
    assert [e["task_id"] for e in execution["result"]["errors"]] == ["breaks"]


def test_webhook_payload_starts_a_workflow_through_a_rule(admin_api):
    """T2.4: the trigger payload (nested path, filter) reaches the workflow and its items."""
    url = unique("fruits")
    parameters = {"items": "{{ trigger.body.order.fruits | map('upper') | list }}"}
    webhook_rule(admin_api, url, {"ref": "workflows.with_items", "parameters": parameters})

    response = post_webhook(admin_api, url, {"order": {"fruits": ["fig", "kiwi"]}})

    [enforcement] = wait_for_enforcements(admin_api, response.json()["trigger_instance_id"], 1)
    execution = admin_api.wait_for(enforcement["execution"])
    assert execution["status"] == "succeeded", execution
    assert execution["result"]["output"] == {"echoed": ["FIG", "KIWI"]}
    children = children_of(admin_api, execution["id"])
    assert all(c["context"]["rule"] == execution["context"]["rule"] for c in children)
    assert [c["context"]["workflow"]["item"] for c in children] == [0, 1]


def test_st2kv_reads_system_user_and_decrypted_keys(admin_api, alice_api):
    """T2.3 in a workflow: st2kv() in YAQL and Jinja for the requester; a decrypted secret goes
    only into a secret parameter and is masked wherever the run is shown."""
    secret = "wf-secret-token-123456"
    admin_api.put("/api/v1/keys/wf_greeting", {"value": "hello"})
    admin_api.put("/api/v1/keys/wf_token", {"value": secret, "secret": True})
    alice_api.put("/api/v1/keys/wf_note?scope=user", {"value": "alice's note"})

    finished = run_workflow(alice_api, "workflows.kv")

    assert finished["status"] == "succeeded", finished
    assert finished["result"]["output"] == {
        "greeting": "hello",
        "note": "alice's note",
        "token_length": len(secret),
    }
    [child] = children_of(alice_api, finished["id"])
    assert child["status"] == "succeeded"
    assert child["parameters"]["first"] == "hello"
    shown = [finished, child, tasks_of(alice_api, finished["id"])]
    assert secret not in str(shown)


def test_a_decrypted_secret_never_reaches_a_parameter_that_is_not_secret(admin_api, alice_api):
    secret = "wf-secret-token-123456"
    admin_api.put("/api/v1/keys/wf_token", {"value": secret, "secret": True})

    finished = run_workflow(alice_api, "workflows.kv_leak")

    assert finished["status"] == "failed"
    assert "message" in str(finished["result"]["errors"])
    assert children_of(alice_api, finished["id"]) == []
    assert secret not in str([finished, tasks_of(alice_api, finished["id"])])
