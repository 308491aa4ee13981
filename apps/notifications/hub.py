"""Fan events out to this server process's WebSocket connections.

One reader per process follows the event stream (XREAD BLOCK: Redis wakes it when an event is
appended) and offers each event to every connection, which checks its filters and permissions
and queues the pre-encoded text. A thousand clients cost one Redis read per event, not a
thousand. (Channels' Redis channel layer is not used: its group_send writes every event to Redis
once per connection, and it keeps no log to replay from.)
"""

import asyncio
import logging
import time

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from websockets.frames import Frame, Opcode

from apps.core.services import async_redis_client
from apps.notifications.access import current_access
from apps.notifications.services import ACCESS_CHANGED
from apps.notifications.stream import StreamEvent, counter_key, entry_id_after, stream_key

logger = logging.getLogger(__name__)

READ_BATCH = 500
# Below the Redis client's 5 s socket timeout, or an idle blocking read counts as a failure.
BLOCK_MS = 4000
RECONNECT_DELAY_SECONDS = 1.0


def text_frame(text: str) -> bytes:
    """The WebSocket frame of a text message as a server sends it (unmasked, no extension:
    the server runs without per-message compression), built once per event for every client."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Hub:
    def __init__(self):
        self.connections: set = set()
        self.reader: asyncio.Task | None = None
        self.heartbeats: asyncio.Task | None = None
        self.redis = async_redis_client()

    async def join(self, connection) -> None:
        if self.reader is None or self.reader.done():
            start = await self.last_id()
            self.reader = asyncio.create_task(self.follow(start))
            self.heartbeats = asyncio.create_task(self.beat())
        self.connections.add(connection)

    def leave(self, connection) -> None:
        self.connections.discard(connection)

    async def last_id(self) -> int:
        value = await self.redis.get(counter_key())
        return int(value or 0)

    async def follow(self, after: int) -> None:
        cursor = entry_id_after(after) if after else "0-0"
        while True:
            try:
                reply = await self.redis.xread(
                    {stream_key(): cursor}, count=READ_BATCH, block=BLOCK_MS
                )
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                logger.warning("event stream unreachable; retrying")
                await asyncio.sleep(RECONNECT_DELAY_SECONDS)
                continue
            for _key, entries in reply:
                for entry_id, fields in entries:
                    cursor = entry_id
                    event = StreamEvent.from_entry(entry_id, fields)
                    if event.meta["type"] == ACCESS_CHANGED:
                        await self.recheck_access()
                    elif not event.meta.get("internal"):
                        self.dispatch(event)

    def dispatch(self, event: StreamEvent) -> None:
        """Offer the event to every connection, deciding once per kind of interest: the
        connections of one user with the same subscriptions (a dashboard open in many tabs,
        a fleet of scripts) share one filter and permission check."""
        decided: dict = {}
        message = (event.id, event.text)
        frame = text_frame(event.text)
        for connection in list(self.connections):
            interest = connection.interest
            wanted = decided.get(interest)
            if wanted is None:
                wanted = decided[interest] = connection.wants(event)
            if wanted:
                connection.enqueue(message, frame)

    async def recheck_access(self) -> None:
        """Authenticate every connection again and recompile its grants before any event that
        follows the change is handed on: a revoked credential closes its connection (4003), a
        changed role changes what it receives from the next event on."""
        connections = [c for c in self.connections if not c.closing]
        if not connections:
            return
        try:
            found = await database_sync_to_async(current_access)([c.scope for c in connections])
        except Exception:  # noqa: BLE001 - the database is unreachable: nothing can be checked
            logger.exception("could not check stream connections again; closing them")
            found = [None] * len(connections)
        for connection, grants in zip(connections, found, strict=True):
            connection.apply_access(grants)

    async def beat(self) -> None:
        """Send a heartbeat to connections that have been quiet, so proxies keep them open."""
        interval = settings.ATTUNE_WS_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(interval)
            quiet_since = time.monotonic() - interval
            for connection in list(self.connections):
                if connection.last_sent_at <= quiet_since:
                    connection.offer_heartbeat()

    async def replay(self, after: int):
        """Yield stored events with an id above `after`, oldest first, in pages."""
        cursor = entry_id_after(after)
        while True:
            entries = await self.redis.xrange(stream_key(), min=cursor, count=READ_BATCH)
            for entry_id, fields in entries:
                yield StreamEvent.from_entry(entry_id, fields)
            if len(entries) < READ_BATCH:
                return
            cursor = "(" + entries[-1][0].decode()

    async def oldest_id(self) -> int | None:
        entries = await self.redis.xrange(stream_key(), count=1)
        return int(entries[0][0].split(b"-")[0]) if entries else None


_hub: Hub | None = None


def hub() -> Hub:
    """This process's hub (created on first use, inside the server's event loop)."""
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub
