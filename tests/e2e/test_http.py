"""The HTTP runner end to end: core.http against a local server (T3.18) and chained webhooks
A -> B -> C with transformed data, isolated errors and a hop limit that stops loops (T3.8)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from tests.support.events import (
    create_api_key,
    post_webhook,
    unique,
    wait_for_enforcements,
    webhook_instances,
    webhook_rule,
)
from tests.support.http_server import recording_server
from tests.support.stack import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def server():
    with recording_server() as recording:
        yield recording


# T3.18


def test_get_sends_the_headers_and_records_the_reply(admin_api, server):
    execution = admin_api.run_and_wait(
        "core.http",
        url=f"{server.url}/echo",
        headers={"X-Request-Id": "req-42", "Accept": "application/json"},
        params={"page": "2"},
    )

    assert execution["status"] == "succeeded", execution["error"]
    seen = server.only_request()
    assert (seen.method, seen.query) == ("GET", {"page": "2"})
    assert seen.headers["x-request-id"] == "req-42"
    assert seen.headers["x-attune-hop"] == "1"
    result = execution["result"]
    assert (result["status_code"], result["parsed"]) == (200, True)
    assert result["body"]["headers"]["x-request-id"] == "req-42"
    assert result["headers"]["Content-Type"] == "application/json"


def test_post_sends_an_object_body_as_json(admin_api, server):
    order = {"id": 7, "lines": [{"sku": "a", "qty": 2}], "rush": False, "note": None}

    execution = admin_api.run_and_wait(
        "core.http", url=f"{server.url}/echo", method="POST", body=order
    )

    assert execution["status"] == "succeeded", execution["error"]
    seen = server.only_request()
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == order


def test_a_bearer_token_in_secret_auth_reaches_the_server_but_never_the_api(admin_api, server):
    token = "sk-live-" + unique("token")

    execution = admin_api.run_and_wait(
        "core.http", url=f"{server.url}/echo", auth={"type": "bearer", "token": token}
    )

    assert execution["status"] == "succeeded", execution["error"]
    assert server.only_request().headers["authorization"] == f"Bearer {token}"
    response = admin_api.get(f"/api/v1/executions/{execution['id']}")
    assert token not in response.text
    assert response.json()["parameters"]["auth"] == "********"
    # The server echoed the header back; the result shows it masked.
    assert response.json()["result"]["body"]["headers"]["authorization"] == "Bearer ********"


@pytest.mark.parametrize("code", [404, 503])
def test_client_and_server_errors_fail_with_the_status_code_recorded(admin_api, server, code):
    execution = admin_api.run_and_wait("core.http", url=f"{server.url}/status/{code}")

    assert execution["status"] == "failed"
    assert execution["result"]["status_code"] == code
    assert execution["result"]["body"] == {"detail": f"you asked for {code}"}
    assert f"returned {code}" in execution["error"]


def test_connection_refused_fails_with_a_clear_message(admin_api):
    url = f"http://127.0.0.1:{free_port()}/gone"

    execution = admin_api.run_and_wait("core.http", url=url)

    assert execution["status"] == "failed"
    assert execution["error"].startswith(f"could not connect to {url}")
    assert "Connection refused" in execution["error"]


# T3.8


@pytest.fixture(scope="module")
def api_key(admin_api) -> str:
    return create_api_key(admin_api)


def post_to_webhook(stack, api_key: str, url: str, body) -> dict:
    """core.http parameters that post `body` (templates allowed) to webhook `url`."""
    return {
        "ref": "core.http",
        "parameters": {
            "url": f"{stack.url}/api/v1/webhooks/{url}",
            "method": "POST",
            "headers": {"X-API-Key": api_key},
            "body": body,
        },
    }


def execution_for(api, instance_id: int) -> dict:
    """The finished execution the one rule on the instance's webhook started."""
    [enforcement] = wait_for_enforcements(api, instance_id, 1)
    assert enforcement["status"] == "matched", enforcement
    return api.wait_for(enforcement["execution"])


def next_instance(execution: dict) -> int:
    """The trigger instance that the execution's call to a webhook created."""
    assert execution["status"] == "succeeded", execution["error"]
    assert execution["result"]["status_code"] == 202
    return execution["result"]["body"]["trigger_instance_id"]


def test_chained_webhooks_transform_the_data_from_a_through_b_to_c(admin_api, stack, api_key):
    a, b, c = unique("chain-a"), unique("chain-b"), unique("chain-c")
    webhook_rule(
        admin_api,
        a,
        post_to_webhook(
            stack,
            api_key,
            b,
            {
                "order": "{{ trigger.body.id }}",
                "total": "{{ trigger.body.qty * trigger.body.price }}",
                "path": ["a"],
            },
        ),
    )
    webhook_rule(
        admin_api,
        b,
        post_to_webhook(
            stack,
            api_key,
            c,
            {
                "order": "{{ trigger.body.order }}",
                "total_with_tax": "{{ trigger.body.total * 1.5 }}",
                "path": "{{ trigger.body.path + ['b'] }}",
            },
        ),
    )
    webhook_rule(
        admin_api,
        c,
        {"ref": "examples.record", "parameters": {"data": "{{ trigger.body }}"}},
    )

    response = post_webhook(admin_api, a, {"id": 17, "qty": 3, "price": 4})

    assert response.status_code == 202
    run_a = execution_for(admin_api, response.json()["trigger_instance_id"])
    run_b = execution_for(admin_api, next_instance(run_a))
    instance_c = next_instance(run_b)
    run_c = execution_for(admin_api, instance_c)
    assert run_c["status"] == "succeeded", run_c["error"]
    assert run_c["result"]["result"]["data"] == {
        "order": 17,
        "total_with_tax": 18.0,
        "path": ["a", "b"],
    }
    assert [run["context"]["webhook_hops"] for run in (run_a, run_b, run_c)] == [0, 1, 2]
    payload = admin_api.get(f"/api/v1/triggerinstances/{instance_c}").json()["payload"]
    assert payload["headers"]["x-attune-hop"] == "2"
    assert "x-api-key" not in payload["headers"]


def test_a_failing_action_at_b_leaves_a_untouched(admin_api, stack, api_key):
    a, b = unique("iso-a"), unique("iso-b")
    dead_url = f"http://127.0.0.1:{free_port()}/down"
    webhook_rule(admin_api, a, post_to_webhook(stack, api_key, b, "{{ trigger.body }}"))
    webhook_rule(admin_api, b, {"ref": "core.http", "parameters": {"url": dead_url}})

    response = post_webhook(admin_api, a, {"n": 1})

    instance_a = response.json()["trigger_instance_id"]
    run_a = execution_for(admin_api, instance_a)
    run_b = execution_for(admin_api, next_instance(run_a))
    assert run_b["status"] == "failed"
    assert run_b["error"].startswith(f"could not connect to {dead_url}")
    assert admin_api.get(f"/api/v1/executions/{run_a['id']}").json()["status"] == "succeeded"
    assert admin_api.get(f"/api/v1/triggerinstances/{instance_a}").json()["status"] == "processed"


def test_a_webhook_that_posts_to_itself_is_stopped_by_the_hop_limit(admin_api, stack, api_key):
    limit = settings.ATTUNE_WEBHOOK_MAX_HOPS
    loop = unique("loop")
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    webhook_rule(admin_api, loop, post_to_webhook(stack, api_key, loop, "{{ trigger.body }}"))

    instance_id = post_webhook(admin_api, loop, {"round": "trip"}).json()["trigger_instance_id"]

    runs = [execution_for(admin_api, instance_id)]
    while runs[-1]["status"] == "succeeded" and len(runs) <= limit + 1:
        runs.append(execution_for(admin_api, next_instance(runs[-1])))
    assert len(runs) == limit + 1
    assert [run["status"] for run in runs] == ["succeeded"] * limit + ["failed"]
    last = runs[-1]
    assert last["result"]["status_code"] == 508
    assert last["result"]["body"]["code"] == "hop_limit"
    assert f"over the limit of {limit}" in last["error"], json.dumps(last)
    assert [run["context"]["webhook_hops"] for run in runs] == list(range(limit + 1))
    assert len(webhook_instances(admin_api, loop, since)) == limit + 1
