"""A workflow whose child event was lost is woken by the housekeeping sweep."""

from datetime import timedelta

from django.utils import timezone

from apps.executions.services import finish_execution, request_execution, transition
from apps.workflows import services
from apps.workflows.models import WorkflowExecution


def age(workflow_id: int, seconds: float) -> None:
    then = timezone.now() - timedelta(seconds=seconds)
    WorkflowExecution.objects.filter(pk=workflow_id).update(updated_at=then)


def sent_events(callbacks) -> list[tuple]:
    return [c.args[:2] for c in callbacks if c.args[0] == "attune.advance_workflow"]


def test_lost_child_event_is_sent_again(sequence_workflow, django_capture_on_commit_callbacks):
    (child,) = sequence_workflow.children.all()
    transition(child.pk, "running", only_from=["requested"])
    finish_execution(child.pk, "succeeded", result={"stdout": "A:ada\n"})  # its event is lost
    age(sequence_workflow.pk, 600)

    with django_capture_on_commit_callbacks() as callbacks:
        woken = services.resync_workflows()

    assert woken == [sequence_workflow.pk]
    event = {"type": "child", "execution_id": child.pk}
    assert sent_events(callbacks) == [("attune.advance_workflow", (sequence_workflow.pk, event))]

    services.advance_workflow(sequence_workflow.pk, event)
    names = list(sequence_workflow.workflow.tasks.values_list("name", "status"))
    assert names == [("a", "succeeded"), ("b", "running")]


def test_workflow_waiting_on_a_running_child_is_left_alone(
    sequence_workflow, django_capture_on_commit_callbacks
):
    age(sequence_workflow.pk, 600)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.resync_workflows() == []
    assert sent_events(callbacks) == []


def test_repeated_child_event_changes_nothing(sequence_workflow):
    (child,) = sequence_workflow.children.all()
    transition(child.pk, "running", only_from=["requested"])
    finish_execution(child.pk, "succeeded", result={"stdout": "A:ada\n"})
    event = {"type": "child", "execution_id": child.pk}
    services.advance_workflow(sequence_workflow.pk, event)
    state = WorkflowExecution.objects.get(pk=sequence_workflow.pk).state

    services.advance_workflow(sequence_workflow.pk, event)

    assert WorkflowExecution.objects.get(pk=sequence_workflow.pk).state == state
    assert sequence_workflow.children.count() == 2


def test_engine_error_fails_the_workflow_instead_of_stranding_it(sequence_workflow):
    (child,) = sequence_workflow.children.all()
    workflow = sequence_workflow.workflow
    del workflow.state["tasks"]["1"]["published"]  # a state the engine cannot handle
    workflow.save()
    transition(child.pk, "running", only_from=["requested"])
    finish_execution(child.pk, "succeeded", result={"stdout": "A:ada\n"})

    services.advance_workflow(sequence_workflow.pk, {"type": "child", "execution_id": child.pk})

    sequence_workflow.refresh_from_db()
    assert sequence_workflow.status == "failed"
    assert sequence_workflow.error == "workflow engine error: KeyError: 'published'"
    assert sequence_workflow.result["errors"][-1]["message"] == sequence_workflow.error
    assert WorkflowExecution.objects.get(pk=sequence_workflow.pk).status == "failed"


def test_lost_delay_timer_is_sent_again(workflow_packs, django_capture_on_commit_callbacks):
    execution = request_execution("workflows.delay", {"seconds": 1})
    services.start_workflow(execution.pk)
    (first,) = execution.children.all()
    transition(first.pk, "running", only_from=["requested"])
    finish_execution(first.pk, "succeeded")
    services.advance_workflow(execution.pk, {"type": "child", "execution_id": first.pk})
    workflow = execution.workflow
    workflow.refresh_from_db()
    (later,) = [t for t in workflow.state["tasks"].values() if t["name"] == "later"]
    later["due_at"] -= 600  # its countdown message was lost long ago
    workflow.save()
    age(execution.pk, 600)

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.resync_workflows() == [execution.pk]

    event = {"type": "timer", "task_id": later["id"], "token": later["timer"]}
    assert sent_events(callbacks) == [("attune.advance_workflow", (execution.pk, event))]
    services.advance_workflow(execution.pk, event)
    assert execution.children.count() == 2
