"""Executions end to end: REST API -> queue -> real worker -> runner -> recorded outcome."""

import socket

import pytest

from tests.support.waiting import request_execution_without_dispatch, wait_for_file

pytestmark = pytest.mark.e2e


def test_core_local_runs_a_command_and_records_its_output(alice_api):
    execution = alice_api.run_and_wait("core.local", cmd="echo out; echo err >&2")

    assert execution["status"] == "succeeded"
    assert execution["stdout"] == "out\n"
    assert execution["stderr"] == "err\n"
    assert execution["exit_code"] == 0
    assert execution["result"] == {
        "succeeded": True,
        "failed": False,
        "return_code": 0,
        "stdout": "out\n",
        "stderr": "err\n",
    }
    assert execution["worker"]
    assert execution["started_at"] and execution["finished_at"]
    assert execution["created_by"] == "alice"


def test_core_echo_prints_the_message_verbatim(alice_api):
    message = 'it\'s "quoted" $HOME; rm -rf /tmp/nothing'
    execution = alice_api.run_and_wait("core.echo", message=message)

    assert execution["status"] == "succeeded"
    assert execution["stdout"] == message + "\n"


def test_nonzero_exit_fails_with_exit_code_and_stderr_and_the_worker_stays_healthy(alice_api):
    failed = alice_api.run_and_wait("core.local", cmd="echo broken >&2; exit 7")

    assert failed["status"] == "failed"
    assert failed["exit_code"] == 7
    assert failed["stderr"] == "broken\n"
    assert failed["result"]["failed"] is True
    since = alice_api.get(
        "/api/v1/executions", params={"requested_after": failed["requested_at"]}
    ).json()["results"]
    assert [e["id"] for e in since] == [failed["id"]]  # not retried
    assert alice_api.run_and_wait("core.local", cmd="true")["status"] == "succeeded"


def test_python_action_returns_its_result_and_keeps_its_prints_as_stdout(alice_api):
    execution = alice_api.run_and_wait("examples.greet", name="Ada", times=2)

    assert execution["status"] == "succeeded"
    assert execution["result"]["result"] == {"greeting": "Hello, Ada!", "times": 2}
    assert execution["result"]["exit_code"] == 0
    assert execution["stdout"] == "printing hello to Ada\nprinting hello to Ada\n"


def test_python_action_returning_false_fails_with_its_value(alice_api):
    execution = alice_api.run_and_wait("examples.refuse", reason="quota exceeded")

    assert execution["status"] == "failed"
    assert execution["result"]["result"] == {"reason": "quota exceeded"}


def test_python_action_raising_fails_with_the_error_and_traceback(alice_api):
    execution = alice_api.run_and_wait("examples.crash")

    assert execution["status"] == "failed"
    assert "ValueError: the widget is broken" in execution["error"]
    assert "Traceback" in execution["stderr"]


def test_shell_script_gets_positional_and_named_args_and_secrets_only_on_stdin(alice_api):
    execution = alice_api.run_and_wait(
        "examples.args", first="one", second=2, tags=["a", "b"], password="hunter2-secret"
    )

    assert execution["status"] == "succeeded"
    assert execution["stdout"].splitlines() == [
        "arg:one",
        "arg:2",
        "arg:--flag=true",
        "arg:--mode=fast",
        "arg:--tags=a,b",
        'stdin:{"password": "********"}',
    ]
    assert execution["parameters"]["password"] == "********"
    assert "hunter2-secret" not in str(execution)


def test_timeout_stops_the_process_and_marks_timeout(alice_api):
    execution = alice_api.run_and_wait("core.local", cmd="echo started; sleep 60", timeout=2)

    assert execution["status"] == "timeout"
    assert execution["stdout"] == "started\n"
    assert "did not finish within 2 s" in execution["error"]
    assert alice_api.run_and_wait("core.local", cmd="true")["status"] == "succeeded"


def test_timeout_kills_a_process_that_ignores_sigterm(alice_api):
    cmd = "trap 'echo got-term' TERM; echo started; while true; do sleep 0.1; done"
    execution = alice_api.run_and_wait("core.local", cmd=cmd, timeout=1)

    assert execution["status"] == "timeout"
    assert execution["stdout"].startswith("started\n")
    assert execution["exit_code"] == -9


def test_cancel_stops_a_running_execution_and_keeps_partial_output(alice_api, tmp_path):
    ready = tmp_path / "ready"
    execution = alice_api.run("core.local", cmd=f"echo partial; touch {ready}; sleep 60")
    wait_for_file(ready)

    response = alice_api.post(f"/api/v1/executions/{execution['id']}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] in {"canceling", "canceled"}  # the worker may be quick
    canceled = alice_api.wait_for(execution["id"])
    assert canceled["status"] == "canceled"
    assert canceled["stdout"] == "partial\n"
    assert canceled["finished_at"]


def test_cancel_before_start_cancels_at_once(admin_api, live_db):
    execution = request_execution_without_dispatch("core.local", {"cmd": "echo never"})

    response = admin_api.post(f"/api/v1/executions/{execution.pk}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] == "canceled"
    assert response.json()["stdout"] == ""


def test_cancel_of_a_finished_execution_is_a_conflict(alice_api):
    execution = alice_api.run_and_wait("core.noop")

    response = alice_api.post(f"/api/v1/executions/{execution['id']}/cancel")

    assert response.status_code == 409
    assert "already finished" in response.json()["detail"]


def test_rerun_requests_the_same_action_with_the_same_parameters(alice_api):
    first = alice_api.run_and_wait("core.echo", message="again")

    response = alice_api.post(f"/api/v1/executions/{first['id']}/rerun")

    assert response.status_code == 201
    second = alice_api.wait_for(response.json()["id"])
    assert second["rerun_of"] == first["id"]
    assert second["status"] == "succeeded"
    assert second["stdout"] == "again\n"


def test_bad_parameters_are_refused_before_anything_is_queued(alice_api):
    before = alice_api.get("/api/v1/executions", params={"action": "examples.args"}).json()

    cases = {
        "missing required": ("examples.greet", {}, "name"),
        "wrong type": ("examples.greet", {"name": "ada", "times": "2"}, "times"),
        "unknown": ("examples.greet", {"name": "ada", "colour": "red"}, "colour"),
        "outside enum": ("examples.args", {"mode": "medium"}, "mode"),
        "immutable": ("core.echo", {"message": "x", "cmd": "rm -rf /"}, "cmd"),
    }
    for label, (action, parameters, named) in cases.items():
        response = alice_api.post(
            "/api/v1/executions", {"action": action, "parameters": parameters}
        )
        assert response.status_code == 400, label
        assert named in response.json()["detail"], label
        assert [e["parameter"] for e in response.json()["errors"]] == [named], label

    after = alice_api.get("/api/v1/executions", params={"action": "examples.args"}).json()
    assert after["results"] == before["results"]


def test_defaults_are_applied_and_shown(alice_api):
    execution = alice_api.run_and_wait("examples.greet", name="Bo")

    assert execution["parameters"] == {"name": "Bo", "times": 1, "timeout": 600}
    assert execution["stdout"] == "printing hello to Bo\n"


def test_health_reports_database_broker_and_workers(stack):
    import requests

    report = requests.get(f"{stack.url}/api/v1/health", timeout=10).json()

    assert report["status"] == "ok"
    assert report["database"]["ok"] and report["broker"]["ok"]
    assert any(name.startswith("worker@") for name in report["workers"]["workers"])
    assert any(name.startswith("rules@") for name in report["rules_engines"]["engines"])


def test_a_worker_joins_the_health_report_when_it_starts_and_leaves_when_it_stops(stack):
    import requests

    def workers() -> list[str]:
        return requests.get(f"{stack.url}/api/v1/health", timeout=10).json()["workers"]["workers"]

    name = f"spare@{socket.gethostname()}"
    stack.start_worker("spare", concurrency=1)
    try:
        assert name in workers()
    finally:
        assert stack.stop("spare") == 0
    assert name not in workers()
    assert any(name.startswith("worker@") for name in workers())
