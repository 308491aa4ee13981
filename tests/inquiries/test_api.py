"""The inquiries API: who sees and answers what, and the errors that say why not."""

import pytest

from apps.executions.services import request_execution
from apps.inquiries import services as inquiries
from apps.rbac.models import Role, RoleAssignment
from apps.workflows import services as workflows
from tests.api.factories import api_client


def ask(owner, **parameters):
    """An approval workflow of `owner`, paused on its inquiry; returns (workflow id, inquiry id)."""
    workflow = request_execution(
        "workflows.approval", {"approver": "bob", **parameters}, user=owner
    )
    workflows.start_workflow(workflow.pk)
    asking = workflow.children.get(action_ref="core.ask")
    inquiries.start_inquiry(asking.pk)
    return workflow.pk, asking.pk


@pytest.fixture
def clients(people):
    return {name: api_client(user) for name, user in people.items()}


@pytest.fixture
def pending(workflow_packs, people):
    return ask(people["alice"])


def test_the_asked_user_sees_the_question_they_may_answer(clients, pending):
    workflow_id, inquiry_id = pending

    listed = clients["bob"].get("/api/v1/inquiries?can_answer=true").json()

    assert [i["id"] for i in listed] == [inquiry_id]
    (inquiry,) = listed
    assert inquiry["workflow"] == workflow_id
    assert (inquiry["status"], inquiry["users"], inquiry["can_answer"]) == (
        "pending",
        ["bob"],
        True,
    )
    assert inquiry["schema"]["properties"]["approved"] == {"type": "boolean"}
    assert inquiry["expires_at"] is not None and inquiry["response"] is None
    detail = clients["bob"].get(f"/api/v1/inquiries/{inquiry_id}").json()
    assert detail == inquiry


def test_the_workflow_owner_sees_it_but_may_not_answer(clients, pending):
    _, inquiry_id = pending

    assert clients["alice"].get("/api/v1/inquiries?can_answer=true").json() == []
    (seen,) = clients["alice"].get("/api/v1/inquiries?status=pending").json()
    assert (seen["id"], seen["can_answer"]) == (inquiry_id, False)

    answer = clients["alice"].put(
        f"/api/v1/inquiries/{inquiry_id}", {"response": {"approved": True}}, format="json"
    )
    assert answer.status_code == 403
    assert "only users bob may" in answer.json()["detail"]


def test_others_neither_see_nor_answer_it(clients, pending):
    _, inquiry_id = pending

    assert clients["eve"].get("/api/v1/inquiries").json() == []
    assert clients["eve"].get(f"/api/v1/inquiries/{inquiry_id}").status_code == 404
    answer = clients["eve"].put(
        f"/api/v1/inquiries/{inquiry_id}", {"response": {"approved": True}}, format="json"
    )
    assert answer.status_code == 404
    assert api_client().get("/api/v1/inquiries").status_code == 401


def test_an_answer_is_checked_against_the_schema_then_taken_once(clients, pending):
    _, inquiry_id = pending
    url = f"/api/v1/inquiries/{inquiry_id}"

    wrong = clients["bob"].put(url, {"response": {"reason": 5}}, format="json")
    assert wrong.status_code == 400
    fields = {e["field"]: e["message"] for e in wrong.json()["errors"]}
    assert fields == {
        "(root)": "'approved' is a required property",
        "reason": "5 is not of type 'string'",
    }
    assert clients["bob"].get(url).json()["status"] == "pending"

    answered = clients["bob"].put(url, {"response": {"approved": True}}, format="json")
    assert answered.status_code == 200
    body = answered.json()
    assert (body["status"], body["response"], body["responded_by"]) == (
        "responded",
        {"approved": True},
        "bob",
    )
    again = clients["bob"].put(url, {"response": {"approved": False}}, format="json")
    assert again.status_code == 409
    assert "already answered" in again.json()["detail"]


def test_a_missing_response_is_refused(clients, pending):
    _, inquiry_id = pending

    refused = clients["bob"].put(f"/api/v1/inquiries/{inquiry_id}", {}, format="json")

    assert refused.status_code == 400
    assert "response" in str(refused.json())


def test_holders_of_a_listed_role_may_answer(clients, people, workflow_packs):
    approvers = Role.objects.create(name="approvers")
    RoleAssignment.objects.create(role=approvers, user=people["eve"])
    asking = request_execution("core.ask", {"roles": ["approvers"]}, user=people["alice"])
    inquiries.start_inquiry(asking.pk)  # a question on its own, outside any workflow

    answer = clients["eve"].put(
        f"/api/v1/inquiries/{asking.pk}", {"response": {"continue": False}}, format="json"
    )

    assert answer.status_code == 200
    asking.refresh_from_db()
    assert (asking.status, asking.result["response"]) == ("succeeded", {"continue": False})
    assert clients["bob"].get(f"/api/v1/inquiries/{asking.pk}").status_code == 404


def test_filters_by_workflow_and_refuses_unknown_filters(clients, people, workflow_packs):
    first_workflow, first = ask(people["alice"])
    _, second = ask(people["alice"])

    by_workflow = clients["bob"].get(f"/api/v1/inquiries?workflow={first_workflow}").json()
    assert [i["id"] for i in by_workflow] == [first]
    both = clients["bob"].get("/api/v1/inquiries").json()
    assert [i["id"] for i in both] == [second, first]  # newest first
    assert clients["bob"].get("/api/v1/inquiries?status=asked").status_code == 400
    assert clients["bob"].get("/api/v1/inquiries?workflow=x").status_code == 400


def hold(user, role_name: str) -> None:
    RoleAssignment.objects.create(role=Role.objects.get(name=role_name), user=user)


def test_a_question_for_nobody_in_particular(clients, people, workflow_packs):
    """Listing nobody: the asker (who sees the execution) and holders of `inquiry_respond`
    (operators) may answer; `inquiry_view` (viewers) only shows it."""
    hold(people["bob"], "viewer")
    hold(people["eve"], "operator")
    first = request_execution("core.ask", {}, user=people["alice"])
    second = request_execution("core.ask", {}, user=people["alice"])
    for asking in (first, second):
        inquiries.start_inquiry(asking.pk)
    yes = {"response": {"continue": True}}

    (seen,) = [i for i in clients["bob"].get("/api/v1/inquiries").json() if i["id"] == first.pk]
    assert seen["can_answer"] is False
    assert (
        clients["bob"].put(f"/api/v1/inquiries/{first.pk}", yes, format="json").status_code == 403
    )
    assert (
        clients["eve"].put(f"/api/v1/inquiries/{first.pk}", yes, format="json").status_code == 200
    )
    assert (
        clients["alice"].put(f"/api/v1/inquiries/{second.pk}", yes, format="json").status_code
        == 200
    )
