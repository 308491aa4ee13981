"""Events about children the workflow no longer waits on are dropped before the row lock."""

from apps.executions.services import finish_execution, request_execution, transition
from apps.workflows import services


def finish(child, stdout: str) -> None:
    transition(child.pk, "running", only_from=["requested"])
    finish_execution(child.pk, "succeeded", result={"stdout": stdout})


def child_event(child) -> dict:
    return {"type": "child", "execution_id": child.pk}


def test_second_event_about_a_child_is_one_read(sequence_workflow, django_assert_num_queries):
    (child,) = sequence_workflow.children.all()
    finish(child, "A:ada\n")
    services.advance_workflow(sequence_workflow.pk, child_event(child))

    with django_assert_num_queries(1):  # no lock, no write
        services.advance_workflow(sequence_workflow.pk, child_event(child))

    assert sequence_workflow.children.count() == 2  # the next step was requested once


def test_children_handled_together_leave_the_later_events_nothing(
    workflow_packs, django_assert_num_queries
):
    execution = request_execution("workflows.parallel_join", {})
    services.start_workflow(execution.pk)
    quick, medium, slow = execution.children.order_by("pk")
    finish(quick, "quick\n")
    finish(medium, "medium\n")
    services.advance_workflow(execution.pk, child_event(quick))  # handles medium too

    with django_assert_num_queries(1):
        services.advance_workflow(execution.pk, child_event(medium))

    finish(slow, "slow\n")
    services.advance_workflow(execution.pk, child_event(slow))
    barrier = execution.children.exclude(pk__in=[quick.pk, medium.pk, slow.pk]).get()
    assert barrier.action_ref == "core.noop"
