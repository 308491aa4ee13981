"""The http-request runner against a local HTTP server: requests, replies, limits, cancel.

No database or broker is involved; the server runs in a thread of the test process.
"""

import threading

import pytest

from apps.actions.parameters import SECRET_MASK
from apps.actions.runner_types import RUNNER_TYPES
from apps.webhooks.services import HOP_HEADER as WEBHOOK_HOP_HEADER
from tests.support.http_server import recording_server
from tests.support.stack import free_port
from workers.runners.base import Limits, RunRequest, get_runner
from workers.runners.http import HOP_HEADER

LIMITS = Limits(output_max_bytes=1000, result_max_bytes=10_000, kill_grace_seconds=0.5)


@pytest.fixture
def server():
    with recording_server() as recording:
        yield recording


def call(control, context=None, **parameters):
    """Run the runner with `parameters` (defaults as the runner type declares them)."""
    specs = RUNNER_TYPES["http-request"].parameters
    defaults = {name: spec["default"] for name, spec in specs.items() if "default" in spec}
    request = RunRequest(
        execution_id=1,
        action_ref="core.http",
        runner_type="http-request",
        parameters={},
        runner_parameters={**defaults, **parameters},
        secret_parameters=frozenset({"auth", "cookies"}),
        limits=LIMITS,
        context=context or {},
    )
    return get_runner("http-request").run(request, control)


def test_get_sends_headers_and_query_and_parses_a_json_reply(server, control):
    outcome = call(
        control, url=f"{server.url}/echo", headers={"X-Trace": "abc", "X-Count": 3}, params={"q": 1}
    )

    assert outcome.status == "succeeded"
    seen = server.only_request()
    assert (seen.method, seen.query["q"]) == ("GET", "1")
    assert seen.headers["x-trace"] == "abc"
    assert seen.headers["x-count"] == "3"
    assert outcome.result["status_code"] == 200
    assert outcome.result["parsed"] is True
    assert outcome.result["body"]["path"] == "/echo"
    assert outcome.result["headers"]["Content-Type"] == "application/json"
    assert set(outcome.result) == {"status_code", "headers", "body", "parsed"}


def test_object_body_is_sent_as_json_and_string_body_as_it_is(server, control):
    call(control, url=f"{server.url}/echo", method="POST", body={"a": [1, 2], "b": None})
    call(control, url=f"{server.url}/echo", method="put", body="raw text")

    sent_json, sent_text = server.requests
    assert sent_json.headers["content-type"] == "application/json"
    assert sent_json.json() == {"a": [1, 2], "b": None}
    assert (sent_text.method, sent_text.body) == ("PUT", b"raw text")


def test_outgoing_requests_count_one_more_webhook_hop_than_the_execution(server, control):
    call(control, url=f"{server.url}/echo")
    call(control, {"webhook_hops": 4}, url=f"{server.url}/echo", headers={HOP_HEADER: "0"})

    assert [seen.headers["x-attune-hop"] for seen in server.requests] == ["1", "5"]
    assert HOP_HEADER == WEBHOOK_HOP_HEADER


def test_bearer_token_reaches_the_server_and_is_masked_in_the_result(server, control):
    token = "tok-very-secret-123"

    outcome = call(control, url=f"{server.url}/echo", auth={"type": "bearer", "token": token})

    assert server.only_request().headers["authorization"] == f"Bearer {token}"
    assert token not in str(outcome.result)
    assert outcome.result["body"]["headers"]["authorization"] == f"Bearer {SECRET_MASK}"


def test_basic_auth_reaches_the_server_and_the_password_is_masked(server, control):
    auth = {"type": "basic", "username": "ann", "password": "pa55word!"}

    outcome = call(control, url=f"{server.url}/echo", auth=auth, cookies={"session": "c00kie-v"})

    seen = server.only_request()
    assert seen.headers["authorization"] == "Basic YW5uOnBhNTV3b3JkIQ=="
    assert seen.headers["cookie"] == "session=c00kie-v"
    assert "c00kie-v" not in str(outcome.result)


def test_an_unknown_auth_type_fails_without_calling(server, control):
    outcome = call(control, url=f"{server.url}/echo", auth={"type": "digest"})

    assert outcome.status == "failed"
    assert "unknown auth type 'digest'" in outcome.error
    assert server.requests == []


@pytest.mark.parametrize("code, reason", [(404, "Not Found"), (500, "Internal Server Error")])
def test_client_and_server_errors_fail_with_the_status_kept(server, control, code, reason):
    outcome = call(control, url=f"{server.url}/status/{code}")

    assert outcome.status == "failed"
    assert outcome.result["status_code"] == code
    assert outcome.result["body"] == {"detail": f"you asked for {code}"}
    assert outcome.error.endswith(f"returned {code} {reason}: you asked for {code}")


def test_redirect_status_succeeds_when_not_followed(server, control):
    outcome = call(control, url=f"{server.url}/status/302", allow_redirects=False)

    assert (outcome.status, outcome.result["status_code"]) == ("succeeded", 302)


def test_a_text_reply_stays_text(server, control):
    outcome = call(control, url=f"{server.url}/text")

    assert (outcome.result["parsed"], outcome.result["body"]) == (False, "plain words")


def test_a_body_over_the_output_cap_is_cut_with_a_marker(server, control):
    outcome = call(control, url=f"{server.url}/bytes/5000")

    body = outcome.result["body"]
    assert body.startswith("x" * LIMITS.output_max_bytes + "\n[... response body truncated")
    assert body.count("x") == LIMITS.output_max_bytes


def test_connection_refused_fails_with_a_clear_message(control):
    url = f"http://127.0.0.1:{free_port()}/nothing"

    outcome = call(control, url=url)

    assert outcome.status == "failed"
    assert outcome.error.startswith(f"could not connect to {url}")
    assert "Connection refused" in outcome.error


def test_a_slow_reply_times_out(server, control):
    outcome = call(control, url=f"{server.url}/slow/3", timeout=0.3)

    assert outcome.status == "timeout"
    assert "got no reply within 0.3 s" in outcome.error


def test_cancel_ends_the_wait_and_heartbeats_go_on_meanwhile(server, control):
    control.heartbeat_seconds = 0.05
    threading.Timer(0.5, control.cancel).start()

    outcome = call(control, url=f"{server.url}/slow/5")

    assert outcome.status == "canceled"
    assert control.heartbeats >= 1
