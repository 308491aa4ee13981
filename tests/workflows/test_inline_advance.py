"""The actions worker that finishes a workflow's child advances the workflow itself, and runs
the next step in the same thread."""

import pytest
from celery.worker import state as worker_state

from apps.core.services import send_task, send_tasks
from apps.executions.services import cancel_execution, request_execution
from apps.workflows import services
from workers import executor

RUN = "attune.run_execution"
ADVANCE = "attune.advance_workflow"


def messages(callbacks, task_name: str) -> list[tuple]:
    """(args, options) of the `task_name` messages the captured commits would send, alone
    (`send_task`) or together (`send_tasks`)."""
    found = []
    for callback in callbacks:
        if callback.func is send_task and callback.args[0] == task_name:
            found.append(callback.args[1:])
        elif callback.func is send_tasks:
            found += [((arg,), {}) for name, arg in callback.args[0] if name == task_name]
    return found


def child(workflow, task: str):
    return workflow.children.get(context__workflow__task=task)


@pytest.fixture
def fan_in(workflow_packs):
    execution = request_execution("workflows.fan_in", {})
    services.start_workflow(execution.pk)
    return execution


def test_finishing_worker_runs_the_next_steps_itself(
    sequence_workflow, django_capture_on_commit_callbacks
):
    (first,) = sequence_workflow.children.all()

    with django_capture_on_commit_callbacks() as callbacks:
        executor.run_execution(first.pk)

    sequence_workflow.refresh_from_db()
    assert sequence_workflow.status == "succeeded"
    assert sequence_workflow.result["output"] == {"a": "A:ada", "b": "B:A:ada", "c": "C:B:A:ada"}
    steps = list(sequence_workflow.children.order_by("pk"))
    assert [s.status for s in steps] == ["succeeded"] * 3
    assert len({s.worker for s in steps}) == 1  # all in this thread
    assert messages(callbacks, RUN) == []  # no message and no other worker between steps
    assert messages(callbacks, ADVANCE) == []  # no hop through the control queue


def test_a_stopping_worker_leaves_the_next_step_queued(
    sequence_workflow, django_capture_on_commit_callbacks, monkeypatch
):
    (first,) = sequence_workflow.children.all()
    monkeypatch.setattr(worker_state, "should_stop", 0)  # a warm shutdown (EX_OK) has begun

    with django_capture_on_commit_callbacks() as callbacks:
        executor.run_execution(first.pk)

    second = sequence_workflow.children.exclude(pk=first.pk).get()
    assert (second.status, second.parameters["message"]) == ("requested", "B:A:ada")
    assert messages(callbacks, RUN) == [((second.pk,), {})]


def test_children_finished_elsewhere_wake_the_workflow_at_once(
    sequence_workflow, django_capture_on_commit_callbacks
):
    (first,) = sequence_workflow.children.all()

    with django_capture_on_commit_callbacks() as callbacks:
        cancel_execution(first.pk)  # a requested child is canceled at once, by no worker

    event = {"type": "child", "execution_id": first.pk}
    assert messages(callbacks, ADVANCE) == [((sequence_workflow.pk, event), {})]


def test_branches_reaching_a_join_leave_the_pass_to_the_last_one(
    fan_in, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        executor.run_execution(child(fan_in, "a").pk)
        executor.run_execution(child(fan_in, "b").pk)

    # Their finishes start nothing yet (c has not reached the barrier): no engine pass at all.
    assert messages(callbacks, ADVANCE) == []
    records = {t.name: t.status for t in fan_in.workflow.tasks.all()}
    assert records["a"] == records["b"] == "running"

    executor.run_execution(child(fan_in, "c").pk)

    # The last branch's pass took all three, and its thread ran the barrier task.
    records = {t.name: t.status for t in fan_in.workflow.tasks.all()}
    assert records["a"] == records["b"] == records["c"] == records["barrier"] == "succeeded"
    assert child(fan_in, "barrier").worker == child(fan_in, "c").worker
    fan_in.refresh_from_db()
    assert (fan_in.status, fan_in.result["output"]) == ("succeeded", {"joined": ["a", "b", "c"]})


def test_a_branch_starting_a_step_of_its_own_is_advanced_at_once(
    workflow_packs, django_capture_on_commit_callbacks
):
    execution = request_execution("workflows.two_lines", {})
    services.start_workflow(execution.pk)
    first = child(execution, "first")

    with django_capture_on_commit_callbacks() as callbacks:
        executor.run_execution(first.pk)

    # The other line is still running: the event goes to the control queue (batched there)
    # rather than a pass per finishing branch in line on the row lock.
    event = {"type": "child", "execution_id": first.pk}
    assert messages(callbacks, ADVANCE) == [((execution.pk, event), {})]
    assert execution.workflow.tasks.get(name="first").status == "running"
    services.advance_workflow(execution.pk, event)
    assert execution.workflow.tasks.get(name="first").status == "succeeded"
    assert child(execution, "second").status == "requested"


def test_a_fan_out_sends_its_branches_together_after_their_notifications(
    workflow_packs, django_capture_on_commit_callbacks
):
    execution = request_execution("workflows.fan_in", {})

    with django_capture_on_commit_callbacks() as callbacks:
        services.start_workflow(execution.pk)

    branches = [child(execution, task).pk for task in ("a", "b", "c")]
    assert callbacks[-1].func is send_tasks  # the last thing the commit does
    assert callbacks[-1].args[0] == [(RUN, pk) for pk in branches]
    assert messages(callbacks, RUN) == [((pk,), {}) for pk in branches]
