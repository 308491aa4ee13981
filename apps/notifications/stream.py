"""The event log behind live notifications: one Redis Stream, ids from one counter.

Each event gets the next integer id (INCR) and is appended under the stream id `<id>-0` in the
same Lua call, so ids are gap-free in order of appending and a client can ask for everything
after the last id it saw. The stream keeps the newest `ATTUNE_STREAM_RETENTION` events.

An entry has two fields: `body`, the JSON the client receives without its id, and `meta`, what
the server needs to route it (filters and who may see it) and never sends.
"""

import json
from dataclasses import dataclass

from django.conf import settings

from apps.core.services import redis_client

APPEND_SCRIPT = """
local ids = {}
for i = 1, #ARGV - 1, 2 do
    local id = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[#ARGV]), id .. '-0',
               'body', ARGV[i], 'meta', ARGV[i + 1])
    ids[#ids + 1] = id
end
return ids
"""

_append = None


def counter_key() -> str:
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:events:last"


def stream_key() -> str:
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:events"


@dataclass(frozen=True)
class StreamEvent:
    """An event as the server routes it: its id, the text to send, and its routing data."""

    id: int
    text: str
    meta: dict

    @classmethod
    def from_entry(cls, entry_id, fields: dict) -> "StreamEvent":
        event_id = int(entry_id.split(b"-")[0] if isinstance(entry_id, bytes) else entry_id)
        body = fields[b"body"].decode()
        # The body is a JSON object; the id goes first without re-encoding the rest.
        text = f'{{"id": {event_id}, {body[1:]}' if body != "{}" else f'{{"id": {event_id}}}'
        return cls(event_id, text, json.loads(fields[b"meta"]))


def append_events(events: list[tuple[dict, dict]], client=None):
    """Append (body, meta) pairs in order; with a pipeline as `client`, queue the call on it."""
    global _append
    if _append is None:
        _append = redis_client().register_script(APPEND_SCRIPT)
    args = []
    for body, meta in events:
        args += [json.dumps(body, default=str), json.dumps(meta)]
    args.append(settings.ATTUNE_STREAM_RETENTION)
    return _append(keys=[counter_key(), stream_key()], args=args, client=client)


def entry_id_after(event_id: int) -> str:
    """The stream id to read from so that `event_id` itself is excluded."""
    return f"{event_id}-1"
