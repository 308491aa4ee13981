"""`/ws/stream/`: live events for one client, filtered to what it asked for and may see.

Protocol (see README, "Live notifications"): the server greets with `welcome`; the client sends
`subscribe` (a filter, optionally `since` an event id to replay what it missed), `unsubscribe`
and `ping`; the server sends events, `subscribed`/`unsubscribed`/`pong`, `heartbeat` when idle,
and `error` messages for bad requests (the connection stays open).
"""

import asyncio
import json
import logging
import time
from collections import deque

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.notifications.authentication import PROTOCOL, authenticate_scope
from apps.notifications.filters import FilterError, parse_filter
from apps.notifications.hub import hub
from apps.rbac.authorization import Grants, can_see_event, grants_of

logger = logging.getLogger(__name__)

SLOW_CONSUMER_CLOSE_CODE = 4008
ACCESS_REVOKED_CLOSE_CODE = 4003
HEARTBEAT_TEXT = json.dumps({"type": "heartbeat"})


def interest_of(grants: Grants, filters: list) -> tuple:
    """What decides which events a connection gets: its grants (by value) and subscriptions.
    Connections with equal interests get the same events, so the hub checks once for all."""
    return (
        grants.user_id,
        grants.is_admin,
        frozen(grants.packs),
        frozen(grants.refs),
        tuple(filters),
    )


def frozen(scopes: dict) -> tuple:
    return tuple(sorted((name, tuple(sorted(values))) for name, values in scopes.items()))


def writable_transport(send):
    """The socket transport under uvicorn's WebSocket protocol when a frame can be written to
    it right now: the connection open, nothing closing, the client's socket not full (uvicorn's
    own send would not wait). A 1,000-client fan-out then costs one write per client, not a
    task wake-up, an ASGI message and a frame built per client. None otherwise (another
    server, or a client that is behind), and the sender task sends the message as usual."""
    protocol = getattr(send, "__self__", None)
    writable = getattr(protocol, "writable", None)
    if not isinstance(writable, asyncio.Event) or not writable.is_set():
        return None
    if protocol.close_sent or protocol.disconnected or protocol.transport.is_closing():
        return None
    return protocol.transport


class StreamConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = await database_sync_to_async(authenticate_scope)(self.scope)
        if user is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.user_id = user.pk
        # Compiled once: each delivery is then checked without a query.
        self.grants = await database_sync_to_async(grants_of)(user)
        self.filters = []
        self.interest = interest_of(self.grants, self.filters)
        self.queue: deque = deque()
        self.queue_limit = settings.ATTUNE_WS_QUEUE_SIZE
        self.wake_up: asyncio.Future | None = None  # set while the sender waits for messages
        self.send_lock = asyncio.Lock()
        self.last_sent_id = 0
        self.last_sent_at = time.monotonic()
        self.closing = False
        offered = self.scope.get("subprotocols", [])
        await self.accept(subprotocol=PROTOCOL if PROTOCOL in offered else None)
        await hub().join(self)
        await self.send_json(
            {
                "type": "welcome",
                "user": user.get_username(),
                "last_id": await hub().last_id(),
                "heartbeat_seconds": settings.ATTUNE_WS_HEARTBEAT_SECONDS,
            }
        )
        self.sender = asyncio.create_task(self.drain())

    async def disconnect(self, code):
        hub().leave(self)
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()

    async def dispatch(self, message):
        """Channels' dispatch, without closing stale database connections in a worker thread
        before every client message: only `connect` touches the database, through
        database_sync_to_async, which does that itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # --- what the client sends ------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data if text_data is not None else bytes_data)
        except (TypeError, ValueError):
            await self.send_error("messages must be JSON objects")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        handler = {
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "ping": self.pong,
        }.get(kind)
        if handler is None:
            await self.send_error("type must be one of subscribe, unsubscribe, ping")
            return
        try:
            await handler(message)
        except FilterError as exc:
            await self.send_error(f"invalid filter: {exc}")

    async def subscribe(self, message: dict):
        subscription = parse_filter(message.get("filter"))
        since = message.get("since")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            raise FilterError("since must be an event id (an integer)")
        async with self.send_lock:  # events arriving meanwhile wait in the queue
            self.filters.append(subscription)
            self.interest = interest_of(self.grants, self.filters)
            replayed = 0 if since is None else await self.replay(since)
            await self.send(text_data=json.dumps({"type": "subscribed", "replayed": replayed}))

    async def unsubscribe(self, message: dict):
        subscription = parse_filter(message.get("filter"))
        if subscription in self.filters:
            self.filters.remove(subscription)
            self.interest = interest_of(self.grants, self.filters)
        await self.send_json({"type": "unsubscribed", "subscriptions": len(self.filters)})

    async def pong(self, message: dict):
        await self.send_json({"type": "pong"})

    async def replay(self, since: int) -> int:
        """Send what was missed after `since`; live events queued meanwhile are not repeated."""
        oldest = await hub().oldest_id()
        if oldest is not None and oldest > since + 1:
            await self.send(
                text_data=json.dumps(
                    {
                        "type": "error",
                        "code": "replay_incomplete",
                        "message": f"events before {oldest} are no longer kept",
                    }
                )
            )
        count = 0
        async for event in hub().replay(since):
            if event.id > self.last_sent_id and self.wants(event):
                await self.send(text_data=event.text)
                self.last_sent_id = event.id
                count += 1
        return count

    # --- what the hub offers --------------------------------------------------------------

    def wants(self, event) -> bool:
        return bool(self.filters) and (
            not event.meta.get("internal")  # e.g. access.changed, met again in a replay
            and can_see_event(self.grants, event.meta)
            and any(subscription.matches(event.meta) for subscription in self.filters)
        )

    def offer_heartbeat(self) -> None:
        self.enqueue((None, HEARTBEAT_TEXT))

    def enqueue(self, message: tuple, frame: bytes | None = None) -> None:
        """Queue (event id or None, text) for the sender task (a deque and one future rather
        than asyncio.Queue, whose bookkeeping showed in a 1,000-client profile) — or, given
        the event's ready-made `frame`, write it at once when nothing waits before it."""
        if self.closing:
            return
        if frame is not None and self.idle():
            transport = writable_transport(self.base_send)
            if transport is not None:
                self.write_now(message[0], frame, transport)
                return
        if len(self.queue) >= self.queue_limit:
            self.drop_slow_consumer()
            return
        self.queue.append(message)
        if self.wake_up is not None and not self.wake_up.done():
            self.wake_up.set_result(None)

    def idle(self) -> bool:
        """Nothing queued, the sender task waiting, no reply or replay being sent."""
        return (
            not self.queue
            and self.wake_up is not None
            and not self.wake_up.done()
            and not self.send_lock.locked()
        )

    def write_now(self, event_id: int, frame: bytes, transport) -> None:
        if event_id <= self.last_sent_id:
            return
        self.last_sent_id = event_id
        transport.write(frame)
        self.last_sent_at = time.monotonic()

    def drop_slow_consumer(self) -> None:
        """A client that cannot keep up is closed rather than buffered without end."""
        logger.warning("closing slow stream consumer user_id=%s", self.user_id)
        self.close_from_server(SLOW_CONSUMER_CLOSE_CODE, "slow consumer")

    def apply_access(self, grants: Grants | None) -> None:
        """Use the grants found after an access change; None: the credentials that opened the
        connection no longer authenticate, so it is closed."""
        if grants is None:
            logger.info("closing stream connection user_id=%s: access revoked", self.user_id)
            self.close_from_server(ACCESS_REVOKED_CLOSE_CODE, "access revoked")
            return
        self.grants = grants
        self.interest = interest_of(grants, self.filters)

    def close_from_server(self, code: int, reason: str) -> None:
        self.closing = True
        hub().leave(self)
        self.sender.cancel()
        asyncio.create_task(self.close(code=code, reason=reason))

    async def drain(self):
        """Send queued messages in order; whatever queued up meanwhile goes out in the same
        turn (a status change right after another costs one wake-up, not two)."""
        while True:
            if not self.queue:
                self.wake_up = asyncio.get_running_loop().create_future()
                await self.wake_up
            batch = list(self.queue)
            self.queue.clear()
            async with self.send_lock:
                for event_id, text in batch:
                    if event_id is not None:
                        if event_id <= self.last_sent_id:
                            continue
                        self.last_sent_id = event_id
                    await self.base_send({"type": "websocket.send", "text": text})
            self.last_sent_at = time.monotonic()

    # --- helpers --------------------------------------------------------------------------

    async def send_json(self, content: dict):
        async with self.send_lock:
            await self.send(text_data=json.dumps(content))
        self.last_sent_at = time.monotonic()

    async def send_error(self, message: str):
        await self.send_json({"type": "error", "message": message})
