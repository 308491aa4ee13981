"""A workflow asks, pauses, and carries on with the answer (engine and services, in-process)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.exceptions import Conflict, InvalidInput, PermissionDenied
from apps.executions.services import request_execution
from apps.inquiries import services as inquiries
from apps.inquiries.choices import DEFAULT_SCHEMA
from apps.inquiries.models import Inquiry
from apps.triggers.models import TriggerInstance
from apps.workflows import services as workflows
from tests.inquiries.conftest import ask_of, asked, started
from workers import executor


def finish_step(workflow, child_id):
    workflows.advance_workflow(workflow.pk, {"type": "child", "execution_id": child_id})
    workflow.refresh_from_db()


def test_asking_pauses_the_workflow_and_announces_the_inquiry(workflow_packs, people):
    workflow, inquiry = started(people)

    assert workflow.status == "paused"
    assert workflow.workflow.status == "paused"
    assert ask_of(workflow).status == "pending"
    assert (inquiry.status, inquiry.users, inquiry.route, inquiry.ttl) == (
        "pending",
        ["bob"],
        "approvals",
        60,
    )
    assert inquiry.workflow_id == workflow.pk
    assert inquiry.schema["required"] == ["approved"]
    trigger = TriggerInstance.objects.get(trigger_ref="core.st2.generic.inquiry")
    assert trigger.payload == {"id": inquiry.pk, "route": "approvals"}


def test_an_answer_resumes_the_workflow_with_the_response(workflow_packs, people):
    workflow, inquiry = started(people)

    inquiries.respond(inquiry.pk, {"approved": True, "reason": "ok"}, people["bob"])
    finish_step(workflow, inquiry.pk)

    assert workflow.status == "running"
    ask = ask_of(workflow)
    assert ask.status == "succeeded"
    assert ask.result["response"] == {"approved": True, "reason": "ok"}
    deploy = workflow.children.get(action_ref="core.echo")
    assert deploy.parameters["message"] == "deploying, approved by bob"
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.responded_by, inquiry.response["approved"]) == (
        "responded",
        people["bob"],
        True,
    )
    assert inquiry.responded_at is not None


def test_a_denial_fails_the_workflow(workflow_packs, people):
    workflow, inquiry = started(people)

    inquiries.respond(inquiry.pk, {"approved": False}, people["bob"])
    finish_step(workflow, inquiry.pk)

    assert workflow.status == "failed"
    assert workflow.result["output"] == {"decision": "denied"}
    assert not workflow.children.filter(action_ref="core.echo").exists()


def test_an_invalid_answer_is_refused_and_the_inquiry_stays_pending(workflow_packs, people):
    _, inquiry = started(people)

    with pytest.raises(InvalidInput) as refused:
        inquiries.respond(inquiry.pk, {"approved": "yes"}, people["bob"])

    assert refused.value.errors == [
        {"field": "approved", "message": "'yes' is not of type 'boolean'"}
    ]
    inquiry.refresh_from_db()
    assert inquiry.status == "pending"
    assert ask_of(inquiry.workflow).status == "pending"


def test_only_listed_users_answer_and_only_once(workflow_packs, people):
    _, inquiry = started(people)

    with pytest.raises(PermissionDenied, match="only users bob may"):
        inquiries.respond(inquiry.pk, {"approved": True}, people["alice"])
    inquiries.respond(inquiry.pk, {"approved": True}, people["bob"])
    with pytest.raises(Conflict, match="already answered"):
        inquiries.respond(inquiry.pk, {"approved": False}, people["bob"])


def test_an_expired_inquiry_fails_its_task_and_the_workflow_branches_on_it(workflow_packs, people):
    workflow, inquiry = started(people)
    Inquiry.objects.filter(pk=inquiry.pk).update(expires_at=inquiry.created_at)

    assert inquiries.expire_inquiries() == [inquiry.pk]
    finish_step(workflow, inquiry.pk)

    assert ask_of(workflow).status == "timeout"
    assert workflow.status == "failed"
    assert workflow.result["output"] == {"decision": "expired"}
    with pytest.raises(Conflict, match="timed out"):
        inquiries.respond(inquiry.pk, {"approved": True}, people["bob"])


def test_canceling_the_workflow_withdraws_its_question(workflow_packs, people):
    from apps.executions.services import cancel_execution

    workflow, inquiry = started(people)

    cancel_execution(workflow.pk)
    workflows.advance_workflow(workflow.pk, {"type": "cancel"})
    finish_step(workflow, inquiry.pk)

    inquiry.refresh_from_db()
    assert inquiry.status == "canceled"
    assert ask_of(workflow).status == "canceled"
    assert workflow.status == "canceled"


def test_a_branch_finishing_while_another_waits_for_an_answer_is_handled_at_once(
    workflow_packs, people
):
    """A pending question is no sibling whose pass a finishing branch can wait for: the
    worker runs the branch's next step itself, and its last step leaves the workflow paused."""
    workflow = request_execution(
        "workflows.ask_in_parallel", {"approver": "bob"}, user=people["alice"]
    )
    workflows.start_workflow(workflow.pk)
    ask = ask_of(workflow)
    inquiries.start_inquiry(ask.pk)
    finish_step(workflow, ask.pk)
    first = workflow.children.get(context__workflow__task="first_step")

    executor.run_execution(first.pk)  # then second_step, in this thread

    workflow.refresh_from_db()
    assert [c.status for c in workflow.children.order_by("pk")] == [
        "pending",
        "succeeded",
        "succeeded",
    ]
    assert workflow.status == "paused"


def test_a_ttl_of_zero_never_times_out(workflow_packs, people):
    forever = asked(people, DEFAULT_SCHEMA, ttl=0)
    soon = asked(people, DEFAULT_SCHEMA, ttl=0.001)  # 60 ms
    Inquiry.objects.update(created_at=forever.created_at - timedelta(days=3650))
    Inquiry.objects.filter(pk=soon.pk).update(expires_at=timezone.now())

    assert inquiries.expire_inquiries() == [soon.pk]

    forever.refresh_from_db()
    assert (forever.status, forever.expires_at) == ("pending", None)
