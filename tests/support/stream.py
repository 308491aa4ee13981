"""A WebSocket client for `/ws/stream/` in tests: subscribe and wait for matching messages."""

import json
import time

from websockets.sync.client import connect


class StreamClient:
    """One connection to the live stream, authenticated like the API clients."""

    def __init__(self, base_url: str, *, token=None, api_key=None, subprotocols=None, **options):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        url = base_url.replace("http://", "ws://") + "/ws/stream/"
        self.connection = connect(
            url,
            additional_headers=headers,
            subprotocols=subprotocols,
            max_size=None,
            open_timeout=10,
            legacy=True,  # closed by close() or the context manager
            **options,
        )
        self.welcome = self.receive()
        assert self.welcome["type"] == "welcome", self.welcome

    def send(self, message: dict) -> None:
        self.connection.send(json.dumps(message))

    def receive(self, timeout: float = 30.0, *, heartbeats: bool = False) -> dict:
        """The next message; heartbeats are skipped unless asked for."""
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.connection.recv(timeout=deadline - time.monotonic()))
            if heartbeats or message["type"] != "heartbeat":
                return message

    def subscribe(self, since=None, **filter_) -> dict:
        """Subscribe and return the acknowledgement (after any replayed events, which are
        kept in `self.replayed`)."""
        message = {"type": "subscribe", "filter": filter_}
        if since is not None:
            message["since"] = since
        self.send(message)
        self.replayed = []
        while True:
            reply = self.receive()
            if reply["type"] == "subscribed":
                return reply
            self.replayed.append(reply)

    def events_until(self, done, timeout: float = 60.0) -> list:
        """Collect messages (not heartbeats) until `done(events)` is true; return them."""
        deadline = time.monotonic() + timeout
        events = []
        while not done(events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"gave up waiting; got {json.dumps(events, indent=1)}")
            events.append(self.receive(timeout=remaining))
        return events

    def close(self) -> None:
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def statuses_of(events: list, execution_id: int) -> list:
    """The statuses an execution went through, as its created/updated events tell."""
    return [
        e["payload"]["status"]
        for e in events
        if e["type"] in ("execution.created", "execution.updated")
        and e["entity_id"] == execution_id
    ]


def finished(execution_id: int, statuses=("succeeded", "failed", "timeout", "canceled")):
    """A `done` predicate for `events_until`: the execution's final update arrived."""
    return lambda events: any(s in statuses for s in statuses_of(events, execution_id))
