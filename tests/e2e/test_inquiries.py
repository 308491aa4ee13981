"""Inquiries end to end: `core.ask` pauses a workflow until a listed person answers through the
API or the question times out (T2.6, T2.7), the multi-step approval example pack (T3.9), live
notifications (T3.15) and rules on `core.st2.generic.inquiry`."""

from datetime import datetime

import pytest
from django.contrib.auth import get_user_model

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS, PASSWORD, token_for
from tests.support.api import Api
from tests.support.events import create_rule, unique
from tests.support.http_server import recording_server
from tests.support.stack import REPO_ROOT
from tests.support.stream import StreamClient, finished
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

# Approvers by username; the example pack's defaults are manager, director and vp.
PEOPLE = ["manager", "director", "vp", "approver", "outsider"]
SHORT_TTL = 0.05  # minutes: 3 seconds
DEPLOY_TO_PRODUCTION = {"environment": "production", "replicas": 3}


@pytest.fixture(scope="module", autouse=True)
def packs(stack, django_db_blocker):
    with django_db_blocker.unblock():
        register_pack(FIXTURE_PACKS / "workflows")
        register_pack(REPO_ROOT / "packs" / "approvals")


@pytest.fixture(scope="module")
def people(stack, django_db_blocker) -> dict[str, Api]:
    """An API client per person; none of them holds a role."""
    with django_db_blocker.unblock():
        for name in PEOPLE:
            get_user_model().objects.create_user(name, "", PASSWORD)
    return {name: Api(stack.url, token=token_for(name, django_db_blocker)) for name in PEOPLE}


def inquiries_of(api: Api, workflow_id: int, **params) -> list[dict]:
    """The inquiries of a workflow (and the workflows nested in it) `api`'s user may see."""
    response = api.get("/api/v1/inquiries", params={"workflow": workflow_id, **params})
    assert response.status_code == 200, response.text
    return response.json()


def next_question(api: Api, workflow_id: int, after: dict | None = None) -> dict:
    """Wait for the workflow's pending inquiry (a newer one than `after`) and return it."""
    newest_seen = after["id"] if after else 0
    found = eventually(
        lambda: [
            i for i in inquiries_of(api, workflow_id, status="pending") if i["id"] > newest_seen
        ],
        f"a pending inquiry of workflow {workflow_id}",
    )
    assert len(found) == 1, found
    return found[0]


def answer(api: Api, inquiry_id: int, response: dict):
    return api.put(f"/api/v1/inquiries/{inquiry_id}", {"response": response})


def answer_ok(api: Api, inquiry_id: int, response: dict) -> dict:
    reply = answer(api, inquiry_id, response)
    assert reply.status_code == 200, reply.text
    return reply.json()


def can_answer(api: Api, workflow_id: int) -> list[int]:
    return [i["id"] for i in inquiries_of(api, workflow_id, can_answer="true")]


def tasks_of(api: Api, execution_id: int) -> list[tuple[str, str]]:
    response = api.get(f"/api/v1/executions/{execution_id}/tasks")
    assert response.status_code == 200, response.text
    return [(t["name"], t["status"]) for t in response.json()]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def execution(api: Api, execution_id: int) -> dict:
    return api.get(f"/api/v1/executions/{execution_id}").json()


# T2.6, T2.7


def test_a_workflow_waits_for_an_answer_and_carries_on_with_it(alice_api, people):
    """T2.6: paused while the question is pending; a wrong answer is refused and changes
    nothing; the right one resumes the workflow, whose next task uses it."""
    approver = people["approver"]
    workflow_id = alice_api.run("workflows.ask_choice", users=["approver"])["id"]

    paused = alice_api.wait_for(workflow_id, statuses={"paused"})
    inquiry = next_question(alice_api, workflow_id)
    asking = execution(alice_api, inquiry["execution"])
    listed = approver.get("/api/v1/inquiries", params={"can_answer": "true"}).json()
    refused = answer(approver, inquiry["id"], {"environment": "prod", "replicas": 0})
    still = approver.get(f"/api/v1/inquiries/{inquiry['id']}").json()
    answered = answer_ok(approver, inquiry["id"], DEPLOY_TO_PRODUCTION)
    done = alice_api.wait_for(workflow_id)

    assert paused["status"] == "paused"
    assert (asking["status"], asking["parent"]) == ("pending", workflow_id)
    assert (inquiry["users"], inquiry["prompt"]) == (["approver"], "Where should this be deployed?")
    [shown] = [i for i in listed if i["id"] == inquiry["id"]]
    assert shown["can_answer"] is True
    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"environment", "replicas"}
    assert (still["status"], still["response"], still["can_answer"]) == ("pending", None, True)
    assert (answered["status"], answered["responded_by"]) == ("responded", "approver")
    assert answered["response"] == DEPLOY_TO_PRODUCTION
    assert done["status"] == "succeeded", done
    assert done["result"]["output"] == {"deployed": "deploying 3 replicas to production"}
    assert tasks_of(alice_api, workflow_id) == [("ask", "succeeded"), ("deploy", "succeeded")]
    ask = execution(alice_api, inquiry["execution"])
    assert ask["status"] == "succeeded"
    assert ask["result"]["response"] == DEPLOY_TO_PRODUCTION
    assert set(ask["result"]) == {"schema", "response", "route", "users", "roles", "ttl"}


def test_an_unanswered_question_times_out_and_the_workflow_takes_its_timeout_branch(
    alice_api, people
):
    """T2.7."""
    workflow_id = alice_api.run("workflows.ask_choice", users=["approver"], ttl=SHORT_TTL)["id"]
    inquiry = next_question(alice_api, workflow_id)

    done = alice_api.wait_for(workflow_id)
    expired = alice_api.get(f"/api/v1/inquiries/{inquiry['id']}").json()
    late = answer(people["approver"], inquiry["id"], DEPLOY_TO_PRODUCTION)

    assert expired["status"] == "timeout"
    assert execution(alice_api, inquiry["execution"])["status"] == "timeout"
    assert done["status"] == "succeeded", done
    assert tasks_of(alice_api, workflow_id) == [("ask", "timeout"), ("fallback", "succeeded")]
    assert done["result"]["output"] == {
        "deployed": "nobody answered, deploying 1 replica to staging"
    }
    assert late.status_code == 409


# Who may answer


def test_only_listed_people_answer_and_only_once(alice_api, people):
    workflow_id = alice_api.run("workflows.ask_choice", users=["approver"])["id"]
    inquiry = next_question(alice_api, workflow_id)
    path = f"/api/v1/inquiries/{inquiry['id']}"

    unasked = answer(people["manager"], inquiry["id"], DEPLOY_TO_PRODUCTION)
    owner = answer(alice_api, inquiry["id"], DEPLOY_TO_PRODUCTION)
    outsider_sees = people["outsider"].get(path)
    still = alice_api.get(path).json()
    answer_ok(people["approver"], inquiry["id"], DEPLOY_TO_PRODUCTION)
    twice = answer(people["approver"], inquiry["id"], {"environment": "staging", "replicas": 1})

    # The manager is not asked and cannot see alice's workflow: as if it did not exist.
    assert unasked.status_code == 404
    assert outsider_sees.status_code == 404
    # Alice sees her workflow's question but is not asked.
    assert owner.status_code == 403, owner.text
    assert "only users approver may" in owner.json()["detail"]
    assert still["status"] == "pending" and still["can_answer"] is False
    assert twice.status_code == 409
    assert "already answered" in twice.json()["detail"]
    assert alice_api.get(path).json()["response"] == DEPLOY_TO_PRODUCTION
    assert alice_api.wait_for(workflow_id)["status"] == "succeeded"


def test_a_holder_of_a_listed_role_may_answer(admin_api, alice_api, people):
    role = unique("release_managers")
    assert admin_api.post("/api/v1/rbac/roles", {"name": role}).status_code == 201
    assigned = admin_api.post("/api/v1/rbac/assignments", {"role": role, "user": "director"})
    assert assigned.status_code == 201, assigned.text
    workflow_id = alice_api.run("workflows.ask_choice", roles=[role])["id"]
    inquiry = next_question(alice_api, workflow_id)

    not_holder = answer(alice_api, inquiry["id"], DEPLOY_TO_PRODUCTION)
    listed = can_answer(people["director"], workflow_id)
    answered = answer_ok(people["director"], inquiry["id"], DEPLOY_TO_PRODUCTION)

    assert not_holder.status_code == 403
    assert listed == [inquiry["id"]]
    assert (answered["roles"], answered["responded_by"]) == ([role], "director")
    assert alice_api.wait_for(workflow_id)["status"] == "succeeded"


# Parallel branches and nested workflows


def test_other_branches_run_on_while_one_waits_for_an_answer(alice_api, alice_token, stack, people):
    with StreamClient(stack.url, token=alice_token) as stream:
        stream.subscribe(events=["execution.updated"], action_refs=["workflows.ask_in_parallel"])
        workflow_id = alice_api.run("workflows.ask_in_parallel", approver="approver")["id"]
        alice_api.wait_for(workflow_id, statuses={"paused"})
        while_paused = alice_api.get(f"/api/v1/executions/{workflow_id}/tasks").json()
        inquiry = next_question(alice_api, workflow_id)
        answer_ok(people["approver"], inquiry["id"], {"continue": True})
        events = stream.events_until(finished(workflow_id))

    statuses = [e["payload"]["status"] for e in events if e["entity_id"] == workflow_id]
    assert statuses.index("pausing") < statuses.index("paused") < statuses.index("succeeded")
    tasks = {t["name"]: t for t in while_paused}
    assert {name: t["status"] for name, t in tasks.items()} == {
        "start": "succeeded",
        "ask": "running",
        "first_step": "succeeded",
        "second_step": "succeeded",
    }
    # The other branch went on after the question was asked.
    second = execution(alice_api, tasks["second_step"]["execution"])
    assert moment(second["finished_at"]) > moment(inquiry["created_at"])
    done = execution(alice_api, workflow_id)
    assert done["result"]["output"] == {"go_on": True, "steps": ["first", "second"]}


def test_a_question_in_a_child_workflow_pauses_the_parent_too(alice_api, people):
    parent_id = alice_api.run("workflows.nested_approval", approver="approver")["id"]

    alice_api.wait_for(parent_id, statuses={"paused"})
    inquiry = next_question(alice_api, parent_id)
    child = execution(alice_api, inquiry["workflow"])
    answer_ok(people["approver"], inquiry["id"], {"approved": True})
    done = alice_api.wait_for(parent_id)

    assert child["parent"] == parent_id
    assert (child["action"], child["status"]) == ("workflows.approval", "paused")
    assert done["status"] == "succeeded", done
    assert done["result"]["output"] == {
        "decision": "approved",
        "reported": "the child workflow decided approved",
    }
    assert execution(alice_api, child["id"])["status"] == "succeeded"


# T3.9: the example pack's multi-step approval


def approval_steps(api: Api, workflow_id: int) -> list[tuple[list, str | None, str]]:
    """(asked, answered by, status) of each inquiry of the workflow, oldest first."""
    found = sorted(inquiries_of(api, workflow_id), key=lambda i: i["id"])
    return [(i["users"], i["responded_by"], i["status"]) for i in found]


def test_a_big_request_is_approved_by_manager_director_and_vp_in_turn(alice_api, people):
    """T3.9: three people answer in sequence; each question is for its approver only."""
    workflow_id = alice_api.run("approvals.multi_step", request="new build farm")["id"]
    answers = [
        ("manager", {"approved": True, "amount": 25000}),
        ("director", {"approved": True, "reason": "budgeted"}),
        ("vp", {"approved": True}),
    ]
    for name, response in answers:
        inquiry = next_question(alice_api, workflow_id)
        assert inquiry["users"] == [name]
        assert inquiry["prompt"].endswith("new build farm")
        for other, api in people.items():
            expected = [inquiry["id"]] if other == name else []
            assert can_answer(api, workflow_id) == expected, other
        answer_ok(people[name], inquiry["id"], response)
    done = alice_api.wait_for(workflow_id)

    assert done["status"] == "succeeded", done
    assert done["result"]["output"] == {
        "decision": "approved",
        "amount": 25000,
        "approved_by": ["manager", "director", "vp"],
        "denied_by": None,
        "reason": None,
        "escalated_to": None,
    }
    assert approval_steps(alice_api, workflow_id) == [
        (["manager"], "manager", "responded"),
        (["director"], "director", "responded"),
        (["vp"], "vp", "responded"),
    ]


def test_a_small_request_needs_only_the_manager(alice_api, people):
    """T3.9: the next step depends on the first answer."""
    workflow_id = alice_api.run("approvals.multi_step", request="a keyboard")["id"]
    inquiry = next_question(alice_api, workflow_id)

    answer_ok(people["manager"], inquiry["id"], {"approved": True, "amount": 80})
    done = alice_api.wait_for(workflow_id)

    assert done["status"] == "succeeded", done
    assert done["result"]["output"]["approved_by"] == ["manager"]
    assert done["result"]["output"]["decision"] == "approved"
    assert approval_steps(alice_api, workflow_id) == [(["manager"], "manager", "responded")]
    assert [name for name, _ in tasks_of(alice_api, workflow_id)] == [
        "manager_approval",
        "check_amount",
    ]


def test_an_approval_needs_the_amount(alice_api, people):
    workflow_id = alice_api.run("approvals.multi_step", request="a desk")["id"]
    inquiry = next_question(alice_api, workflow_id)

    refused = answer(people["manager"], inquiry["id"], {"approved": True})
    answer_ok(people["manager"], inquiry["id"], {"approved": True, "amount": 300})

    assert refused.status_code == 400
    assert "'amount' is a required property" in refused.json()["detail"]
    assert alice_api.wait_for(workflow_id)["status"] == "succeeded"


def test_a_manager_who_does_not_answer_in_time_is_replaced_by_the_backup(alice_api, people):
    """T3.9: the timeout escalates to the backup approver (by default the director), who is
    then not asked a second time as the director."""
    workflow_id = alice_api.run(
        "approvals.multi_step", request="a conference trip", manager_ttl=SHORT_TTL
    )["id"]
    first = next_question(alice_api, workflow_id)

    backup = next_question(alice_api, workflow_id, after=first)  # the manager's timed out
    manager_sees = can_answer(people["manager"], workflow_id)
    answer_ok(people["director"], backup["id"], {"approved": True, "amount": 4000})
    vp = next_question(alice_api, workflow_id)
    answer_ok(people["vp"], vp["id"], {"approved": True})
    done = alice_api.wait_for(workflow_id)

    assert first["users"] == ["manager"]
    assert backup["users"] == ["director"] and backup["prompt"].startswith("Approval (escalated")
    assert manager_sees == []
    assert done["status"] == "succeeded", done
    output = done["result"]["output"]
    assert output["escalated_to"] == "director"
    assert output["approved_by"] == ["director", "vp"]
    assert approval_steps(alice_api, workflow_id) == [
        (["manager"], None, "timeout"),
        (["director"], "director", "responded"),
        (["vp"], "vp", "responded"),
    ]
    assert [name for name, _ in tasks_of(alice_api, workflow_id)] == [
        "manager_approval",
        "backup_approval",
        "check_amount",
        "vp_approval",
    ]


def test_a_denial_stops_the_remaining_steps_and_fails_the_workflow(alice_api, people):
    """T3.9."""
    workflow_id = alice_api.run("approvals.multi_step", request="a yacht")["id"]
    manager = next_question(alice_api, workflow_id)
    answer_ok(people["manager"], manager["id"], {"approved": True, "amount": 900000})
    director = next_question(alice_api, workflow_id)

    answer_ok(people["director"], director["id"], {"approved": False, "reason": "no"})
    done = alice_api.wait_for(workflow_id)

    assert done["status"] == "failed", done
    assert done["result"]["output"] == {
        "decision": "denied",
        "amount": 900000,
        "approved_by": ["manager"],
        "denied_by": "director",
        "reason": "no",
        "escalated_to": None,
    }
    assert "request_denied" in done["error"]
    assert approval_steps(alice_api, workflow_id) == [
        (["manager"], "manager", "responded"),
        (["director"], "director", "responded"),
    ]
    assert "vp_approval" not in [name for name, _ in tasks_of(alice_api, workflow_id)]


# T3.15: live notifications


def inquiry_events(events: list, inquiry_id: int) -> list[str]:
    return [e["type"] for e in events if e["entity_id"] == inquiry_id and e["entity"] == "inquiry"]


def test_the_stream_announces_questions_answers_and_timeouts_to_those_concerned(
    stack, alice_api, alice_token, people, django_db_blocker
):
    """T3.15: to the workflow's owner and the approver (also by workflow id), not to others."""
    with (
        StreamClient(stack.url, token=alice_token) as owner,
        StreamClient(stack.url, token=token_for("approver", django_db_blocker)) as asked,
        StreamClient(stack.url, token=token_for("outsider", django_db_blocker)) as outsider,
    ):
        owner.subscribe(events=["inquiry.*"])
        outsider.subscribe(events=["inquiry.*"])
        outsider.subscribe(events=["execution.updated"], action_refs=["core.echo"])
        since = asked.welcome["last_id"]
        answered_id = alice_api.run("workflows.ask_choice", users=["approver"])["id"]
        expiring_id = alice_api.run("workflows.ask_choice", users=["approver"], ttl=SHORT_TTL)["id"]
        asked.subscribe(since=since, execution_ids=[answered_id, expiring_id])
        answered = next_question(alice_api, answered_id)
        expiring = next_question(alice_api, expiring_id)
        answer_ok(people["approver"], answered["id"], DEPLOY_TO_PRODUCTION)

        def all_arrived(events):
            return inquiry_events(events, answered["id"])[-1:] == ["inquiry.responded"] and (
                inquiry_events(events, expiring["id"])[-1:] == ["inquiry.timeout"]
            )

        owner_events = owner.events_until(all_arrived)
        asked_events = asked.replayed + asked.events_until(
            lambda seen: all_arrived(asked.replayed + seen)
        )
        # The outsider's own execution comes after every event above in the stream.
        sentinel = people["outsider"].run("core.echo", message="anything for me?")["id"]
        outsider_events = outsider.events_until(finished(sentinel))

    for events in (owner_events, asked_events):
        assert inquiry_events(events, answered["id"]) == ["inquiry.created", "inquiry.responded"]
        assert inquiry_events(events, expiring["id"]) == ["inquiry.created", "inquiry.timeout"]
    [responded] = [e for e in asked_events if e["type"] == "inquiry.responded"]
    shown = alice_api.get(f"/api/v1/inquiries/{answered['id']}").json()
    assert responded["payload"] == {k: v for k, v in shown.items() if k != "can_answer"}
    assert responded["payload"]["response"] == DEPLOY_TO_PRODUCTION
    assert responded["payload"]["responded_by"] == "approver"
    [timed_out] = [e for e in asked_events if e["type"] == "inquiry.timeout"]
    assert (timed_out["payload"]["status"], timed_out["payload"]["workflow"]) == (
        "timeout",
        expiring_id,
    )
    assert {e["entity"] for e in asked_events} == {"inquiry"}
    assert [e for e in outsider_events if e["entity"] == "inquiry"] == []
    assert sentinel in {e["entity_id"] for e in outsider_events}


# The core.st2.generic.inquiry trigger


def test_a_rule_on_new_questions_posts_their_id_and_route(admin_api, alice_api):
    route = unique("chat-ops")
    with recording_server() as chat:
        rule = create_rule(
            admin_api,
            unique("notify"),
            {"type": "core.st2.generic.inquiry"},
            {
                "ref": "core.http",
                "parameters": {
                    "url": f"{chat.url}/echo",
                    "method": "POST",
                    "body": {
                        "text": "please answer inquiry {{ trigger.id }}",
                        "route": "{{ trigger.route }}",
                    },
                },
            },
            criteria={"trigger.route": {"type": "equals", "pattern": route}},
        )
        workflow_id = alice_api.run("workflows.ask_choice", users=["approver"], route=route)["id"]
        inquiry = next_question(alice_api, workflow_id)
        [posted] = eventually(lambda: chat.requests, "the chat webhook to be called")
    admin_api.delete(f"/api/v1/rules/{rule['ref']}")
    admin_api.post(f"/api/v1/executions/{workflow_id}/cancel")

    assert posted.method == "POST"
    assert posted.json() == {"text": f"please answer inquiry {inquiry['id']}", "route": route}
    assert alice_api.wait_for(workflow_id)["status"] == "canceled"
    assert alice_api.get(f"/api/v1/inquiries/{inquiry['id']}").json()["status"] == "canceled"


def test_the_example_packs_rule_posts_approval_questions_to_a_chat_webhook(admin_api, alice_api):
    """approvals.inquiry_notify ships disabled; with the webhook URL stored it posts each
    question of the approval workflow."""
    rule_path = "/api/v1/rules/approvals.inquiry_notify"
    with recording_server() as chat:
        stored = admin_api.put(
            "/api/v1/keys/approvals_chat_webhook_url", {"value": f"{chat.url}/echo"}
        )
        assert stored.status_code in (200, 201), stored.text
        shipped = admin_api.get(rule_path).json()
        admin_api.session.patch(admin_api.base_url + rule_path, json={"enabled": True})
        try:
            workflow_id = alice_api.run("approvals.multi_step", request="a chair")["id"]
            inquiry = next_question(alice_api, workflow_id)
            [posted] = eventually(lambda: chat.requests, "the chat webhook to be called")
        finally:
            admin_api.session.patch(admin_api.base_url + rule_path, json={"enabled": False})
    admin_api.post(f"/api/v1/executions/{workflow_id}/cancel")

    assert shipped["enabled"] is False
    assert posted.method == "POST"
    text = posted.json()["text"]
    assert text.startswith(f"Approval needed: inquiry {inquiry['id']} is waiting for an answer.")
    assert f"PUT /api/v1/inquiries/{inquiry['id']}" in text
    assert alice_api.wait_for(workflow_id)["status"] == "canceled"
