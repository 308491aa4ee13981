"""The actions worker that finishes a workflow's child advances the workflow itself."""

from apps.executions.services import cancel_execution, request_execution
from apps.workflows import services
from workers import executor


def advance_messages(callbacks) -> list[tuple]:
    """(args, options) of the advance_workflow messages the captured commits would send."""
    sends = [c.args for c in callbacks if c.args and c.args[0] == "attune.advance_workflow"]
    return [(args, options) for _, args, options in sends]


def test_finishing_worker_requests_the_next_step(
    sequence_workflow, django_capture_on_commit_callbacks
):
    (first,) = sequence_workflow.children.all()

    with django_capture_on_commit_callbacks() as callbacks:
        executor.run_execution(first.pk)

    first.refresh_from_db()
    assert (first.status, first.result["stdout"]) == ("succeeded", "A:ada\n")
    second = sequence_workflow.children.exclude(pk=first.pk).get()
    assert second.parameters["cmd"] == "echo B:A:ada"
    assert advance_messages(callbacks) == []  # no hop through the control queue


def test_children_finished_elsewhere_wake_the_workflow_at_once(
    sequence_workflow, django_capture_on_commit_callbacks
):
    (first,) = sequence_workflow.children.all()

    with django_capture_on_commit_callbacks() as callbacks:
        cancel_execution(first.pk)  # a requested child is canceled at once, by no worker

    event = {"type": "child", "execution_id": first.pk}
    assert advance_messages(callbacks) == [((sequence_workflow.pk, event), {})]


def test_fan_out_children_are_left_to_the_events_worker(
    workflow_packs, django_capture_on_commit_callbacks
):
    execution = request_execution("workflows.parallel_join", {})
    services.start_workflow(execution.pk)
    quick = execution.children.get(action_ref="core.echo", parameters__cmd="echo quick")

    with django_capture_on_commit_callbacks() as callbacks:
        executor.run_execution(quick.pk)

    # The workflow waits on its other branches too: rather than one pass per finishing branch
    # in line on the row lock, the event goes to the control queue at once (batched there).
    event = {"type": "child", "execution_id": quick.pk}
    assert advance_messages(callbacks) == [((execution.pk, event), {})]
    assert execution.workflow.tasks.get(name="quick").status == "running"  # not advanced here
    services.advance_workflow(execution.pk, event)
    assert execution.workflow.tasks.get(name="quick").status == "succeeded"
