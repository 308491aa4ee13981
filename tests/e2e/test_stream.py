"""Live notifications over `/ws/stream/` with a real WebSocket client against the running
server and real workers (T3.14, T3.16, live output, replay, permissions, refusals)."""

import json
import socket

import pytest
import requests
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response
from websockets.uri import parse_uri

from apps.actions.parameters import SECRET_MASK
from tests.support.events import create_api_key, create_rule, post_webhook, unique, webhook_rule
from tests.support.stream import StreamClient, finished, statuses_of

pytestmark = pytest.mark.e2e

PRINT_SLOWLY = "for i in 1 2 3 4 5; do echo line $i; sleep 0.4; done"


@pytest.fixture
def admin_stream(stack, admin_token):
    with StreamClient(stack.url, token=admin_token) as client:
        yield client


def test_unauthenticated_and_bad_credentials_are_refused(stack):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "atk_nope"}):
        with pytest.raises(InvalidStatus) as refused:
            StreamClient(stack.url, **credentials(headers))
        assert refused.value.response.status_code == 403


def credentials(headers: dict) -> dict:
    if "Authorization" in headers:
        return {"token": headers["Authorization"].removeprefix("Bearer ")}
    if "X-API-Key" in headers:
        return {"api_key": headers["X-API-Key"]}
    return {}


def test_token_in_the_subprotocol_and_api_keys_authenticate(stack, admin_api, admin_token):
    offered = ["attune", f"attune.token.{admin_token}"]
    with StreamClient(stack.url, subprotocols=offered) as client:
        assert client.welcome["user"] == "admin"
        assert client.connection.subprotocol == "attune"  # the token is never echoed
    with StreamClient(stack.url, api_key=create_api_key(admin_api)) as client:
        assert client.welcome["user"] == "admin"


def test_execution_lifecycle_events_arrive_in_order(admin_api, admin_stream):
    """T3.14: created, running, then succeeded / failed / timeout."""
    admin_stream.subscribe(events=["execution.created", "execution.updated"])

    ok = admin_api.run("core.local", cmd="echo ok")["id"]
    broken = admin_api.run("core.local", cmd="exit 3")["id"]
    slow = admin_api.run("core.local", cmd="sleep 30", timeout=1)["id"]
    events = admin_stream.events_until(
        lambda seen: all(finished(i)(seen) for i in (ok, broken, slow))
    )

    assert statuses_of(events, ok) == ["requested", "running", "succeeded"]
    assert statuses_of(events, broken) == ["requested", "running", "failed"]
    assert statuses_of(events, slow) == ["requested", "running", "timeout"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    [succeeded] = [e for e in events if e["entity_id"] == ok and e["type"] == "execution.updated"][
        -1:
    ]
    assert succeeded["entity"] == "execution"
    assert succeeded["payload"]["stdout"] == "ok\n"  # the REST representation
    assert succeeded["payload"] == admin_api.get(f"/api/v1/executions/{ok}").json()


def test_filters_by_action_and_execution_id(admin_api, admin_stream):
    admin_stream.subscribe(events=["execution.*"], action_refs=["core.echo"])
    other = admin_api.run("core.local", cmd="true")["id"]
    echo = admin_api.run("core.echo", message="hi")["id"]

    events = admin_stream.events_until(finished(echo))

    assert {e["entity_id"] for e in events} == {echo}
    assert other not in {e["entity_id"] for e in events}


def test_output_streams_line_by_line_before_the_execution_finishes(admin_api, admin_stream):
    admin_stream.subscribe(events=["execution.output", "execution.updated"])
    execution_id = admin_api.run("core.local", cmd=PRINT_SLOWLY)["id"]

    first = admin_stream.events_until(
        lambda seen: any(e["type"] == "execution.output" for e in seen)
    )
    still_running = admin_api.get(f"/api/v1/executions/{execution_id}").json()
    so_far = admin_api.get(f"/api/v1/executions/{execution_id}/output").json()
    rest = admin_stream.events_until(finished(execution_id))

    assert still_running["status"] == "running"
    assert so_far["complete"] is False and so_far["stdout"].startswith("line 1\n")
    events = [e for e in first + rest if e["entity_id"] == execution_id]
    printed = [e["payload"]["data"] for e in events if e["type"] == "execution.output"]
    assert "".join(printed) == "".join(f"line {i}\n" for i in range(1, 6))
    assert len(printed) >= 3  # chunks as printed, not one blob at the end
    assert events[-1]["payload"]["status"] == "succeeded"


def test_output_endpoint_follows_until_the_end(admin_api):
    execution_id = admin_api.run("core.local", cmd=PRINT_SLOWLY + "; echo oops >&2")["id"]

    response = admin_api.get(f"/api/v1/executions/{execution_id}/output?follow=true", stream=True)
    lines = [json.loads(line) for line in response.iter_lines() if line]

    assert response.headers["Content-Type"] == "application/x-ndjson"
    stdout = "".join(m["data"] for m in lines if m.get("stream") == "stdout")
    stderr = "".join(m["data"] for m in lines if m.get("stream") == "stderr")
    assert stdout == "".join(f"line {i}\n" for i in range(1, 6))
    assert stderr == "oops\n"
    assert lines[-1] == {"end": True, "status": "succeeded"}
    finished_output = admin_api.get(f"/api/v1/executions/{execution_id}/output").json()
    assert finished_output == {
        "execution": execution_id,
        "status": "succeeded",
        "stdout": stdout,
        "stderr": "oops\n",
        "complete": True,
    }


def test_secret_parameters_are_masked_in_events(admin_api, admin_stream):
    admin_stream.subscribe(events=["execution.*"], action_refs=["examples.args"])
    secret = "hunter2-very-secret"
    execution_id = admin_api.run("examples.args", first="w", password=secret)["id"]

    events = admin_stream.events_until(finished(execution_id))

    assert secret not in json.dumps(events)
    assert events[0]["payload"]["parameters"]["password"] == SECRET_MASK


def test_trigger_instance_and_enforcements_with_reasons(admin_api, admin_stream):
    """T3.16: a webhook's instance, one matched and one not-matched enforcement."""
    url = unique("orders")
    matching = webhook_rule(admin_api, url, {"ref": "core.noop"}, name=unique("match"))
    criteria = {"trigger.body.size": {"type": "equals", "pattern": "big"}}
    missing = webhook_rule(admin_api, url, {"ref": "core.noop"}, criteria, name=unique("miss"))
    admin_stream.subscribe(
        events=["trigger_instance.created", "enforcement.created"],
        trigger_types=["core.st2.webhook"],
    )

    instance_id = post_webhook(admin_api, url, {"size": "small"}).json()["trigger_instance_id"]
    events = admin_stream.events_until(
        lambda seen: (
            len([e for e in seen if e["payload"].get("trigger_instance") == instance_id]) == 2
        )
    )

    [created] = [e for e in events if e["type"] == "trigger_instance.created"]
    assert created["entity_id"] == instance_id
    assert created["payload"]["payload"]["body"] == {"size": "small"}
    by_rule = {
        e["payload"]["rule_ref"]: e["payload"]
        for e in events
        if e["type"] == "enforcement.created" and e["payload"]["trigger_instance"] == instance_id
    }
    assert by_rule[matching["ref"]]["status"] == "matched"
    assert by_rule[matching["ref"]]["execution"]
    assert by_rule[missing["ref"]]["status"] == "not_matched"
    assert "big" in by_rule[missing["ref"]]["reason"]
    assert created["id"] < min(e["id"] for e in events if e["type"] == "enforcement.created")


def test_rule_created_enabled_disabled_deleted(admin_api, admin_stream):
    """T3.16: rule events, enable/disable included."""
    name = unique("watched")
    admin_stream.subscribe(events=["rule.*"])
    trigger = {"type": "core.st2.webhook", "parameters": {"url": unique("hook")}}
    rule = create_rule(admin_api, name, trigger, {"ref": "core.noop"})
    ref = rule["ref"]
    admin_api.session.patch(f"{admin_api.base_url}/api/v1/rules/{ref}", json={"enabled": False})
    admin_api.session.patch(f"{admin_api.base_url}/api/v1/rules/{ref}", json={"enabled": True})
    admin_api.session.delete(f"{admin_api.base_url}/api/v1/rules/{ref}")

    events = admin_stream.events_until(lambda seen: any(e["type"] == "rule.deleted" for e in seen))

    mine = [e for e in events if e["payload"]["ref"] == ref]
    assert [e["type"] for e in mine] == [
        "rule.created",
        "rule.updated",
        "rule.updated",
        "rule.deleted",
    ]
    assert [e["payload"].get("enabled") for e in mine[:3]] == [True, False, True]


def test_replay_after_a_disconnect_misses_nothing_and_repeats_nothing(
    stack, admin_api, admin_token
):
    first = StreamClient(stack.url, token=admin_token)
    first.subscribe(events=["execution.*"], action_refs=["core.echo"])
    before = admin_api.run("core.echo", message="before")["id"]
    seen = first.events_until(finished(before))
    first.close()
    missed = [admin_api.run("core.echo", message=f"missed {i}")["id"] for i in range(3)]
    for execution_id in missed:
        admin_api.wait_for(execution_id)

    with StreamClient(stack.url, token=admin_token) as second:
        second.subscribe(since=seen[-1]["id"], events=["execution.*"], action_refs=["core.echo"])
        replayed = second.replayed
        after = admin_api.run("core.echo", message="after")["id"]
        live = second.events_until(finished(after))

    for execution_id in missed:
        assert statuses_of(replayed, execution_id)[0] == "requested"
        assert statuses_of(replayed, execution_id)[-1] == "succeeded"
    assert before not in {e["entity_id"] for e in replayed}
    ids = [e["id"] for e in seen + replayed + live]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert statuses_of(live, after) == ["requested", "running", "succeeded"]


def test_a_user_sees_only_events_of_executions_they_may_see(
    stack, admin_api, alice_api, alice_token
):
    with StreamClient(stack.url, token=alice_token) as alice:
        alice.subscribe(events=["*"])
        admins = admin_api.run("core.echo", message="admin only")["id"]
        admin_api.wait_for(admins)
        hers = alice_api.run("core.echo", message="alice")["id"]
        events = alice.events_until(finished(hers))

    assert admins not in {e["entity_id"] for e in events if e["entity"] == "execution"}
    assert {e["type"] for e in events} >= {"execution.created", "execution.updated"}
    assert all(e["entity"] == "execution" and e["entity_id"] == hers for e in events)
    assert alice_api.get(f"/api/v1/executions/{admins}").status_code == 404
    assert alice_api.get(f"/api/v1/executions/{admins}/output").status_code == 404


def test_bad_messages_get_errors_and_the_connection_stays_open(admin_stream):
    admin_stream.connection.send("not json")
    assert admin_stream.receive()["type"] == "error"
    admin_stream.send({"type": "subscribe", "filter": {"colour": ["red"]}})
    error = admin_stream.receive()
    assert error["type"] == "error" and "colour" in error["message"]
    admin_stream.send({"type": "dance"})
    assert admin_stream.receive()["type"] == "error"
    admin_stream.send({"type": "ping"})
    assert admin_stream.receive() == {"type": "pong"}


def test_idle_connections_get_heartbeats(admin_stream):
    admin_stream.subscribe(action_refs=["nothing.will.run"])
    assert admin_stream.receive(timeout=10, heartbeats=True)["type"] == "heartbeat"


def test_a_consumer_that_stops_reading_is_closed_with_a_clear_code(stack, admin_api, admin_token):
    """A client that stops reading fills its socket, then its queue: the server closes it
    (4008) instead of buffering without end, and other clients carry on."""
    stalled = StalledClient(stack.port, admin_token)
    stalled.send({"type": "subscribe", "filter": {"action_refs": ["core.local"]}})
    with StreamClient(stack.url, token=admin_token) as healthy:
        healthy.subscribe(events=["execution.updated"], action_refs=["core.local"])
        big = "head -c 900000 /dev/zero | tr '\\0' x"
        runs = [admin_api.run("core.local", cmd=big)["id"] for _ in range(12)]
        # 8 x 900 KB fill the stalled client's socket and its queue; it must start reading
        # before the server's keepalive gives up on it (ATTUNE_WS_PING_SECONDS, 120 s in tests),
        # or no close frame reaches it.
        early = healthy.events_until(
            lambda seen: sum(finished(i)(seen) for i in runs) >= 8, timeout=120
        )
        close = stalled.read_until_closed()
        healthy.events_until(lambda seen: all(finished(i)(early + seen) for i in runs), timeout=120)

    assert (close.code, close.reason) == (4008, "slow consumer")
    assert requests.get(f"{stack.url}/api/v1/health", timeout=5).status_code == 200


class StalledClient:
    """A WebSocket client on a raw socket with a tiny receive buffer that reads nothing until
    told to (the `websockets` clients keep reading in the background whatever happens)."""

    def __init__(self, port: int, token: str):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the
        self.sock.connect(("127.0.0.1", port))  # window is agreed on in the handshake
        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/ws/stream/"))
        request = self.protocol.connect()
        request.headers["Authorization"] = f"Bearer {token}"
        self.protocol.send_request(request)
        self.flush()
        while not isinstance(self.protocol.handshake_exc, Exception) and not any(
            isinstance(e, Response) for e in self.receive()
        ):
            pass
        assert self.protocol.handshake_exc is None

    def send(self, message: dict) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self.flush()

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                try:
                    self.sock.sendall(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the server is gone; what it sent is still there to read

    def receive(self) -> list:
        data = self.sock.recv(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self.flush()  # pongs and the closing handshake
        return self.protocol.events_received()

    def read_until_closed(self):
        # Reading again, it takes its window back: through the 4 KB one, what the server's
        # kernel had queued for it (hundreds of KB, the close frame behind them) trickled in
        # over minutes of zero-window probes.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.settimeout(60)
        while self.protocol.close_rcvd is None and self.protocol.state.name != "CLOSED":
            self.receive()
        self.sock.close()
        return self.protocol.close_rcvd
