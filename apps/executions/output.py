"""Output of running executions: kept in Redis while they run, so it can be read and followed.

The worker appends each chunk (masked, within the output cap) to a per-execution Redis Stream
and, in the same round trip, announces it as an `execution.output` event. When the execution
reaches a final status an end marker is appended and the stream expires shortly after: from
then on the execution row holds the output.
"""

import codecs
import json
import logging

from django.conf import settings

from apps.core.services import async_redis_client, redis_client
from apps.executions.events import output_event, routing_of
from apps.executions.masking import mask_secret_values
from apps.executions.models import Execution
from apps.notifications.stream import append_events

logger = logging.getLogger(__name__)

KEEP_WHILE_RUNNING_SECONDS = 24 * 3600
KEEP_AFTER_END_SECONDS = 300
FOLLOW_BLOCK_MS = 4000  # below the Redis client's 5 s socket timeout
STREAMS = ("stdout", "stderr")
TRUNCATED = "\n[... output truncated by Attune ...]\n"


def output_key(execution_id: int) -> str:
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:output:{execution_id}"


class OutputRecorder:
    """Worker side: record and announce the chunks one execution prints."""

    def __init__(self, execution: Execution, secrets: list, limit: int):
        self.execution_id = execution.pk
        self.key = output_key(execution.pk)
        self.routing = routing_of(execution)
        self.secrets = secrets
        self.room = dict.fromkeys(STREAMS, limit)
        self.decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in STREAMS}
        self.failed = False

    def write(self, stream: str, chunk: bytes) -> None:
        text = self.text_of(stream, chunk)
        if not text or self.failed:
            return
        pipe = redis_client().pipeline(transaction=False)
        pipe.xadd(self.key, {"s": stream, "d": text})
        pipe.expire(self.key, KEEP_WHILE_RUNNING_SECONDS)
        append_events([output_event(self.execution_id, self.routing, stream, text)], client=pipe)
        try:
            pipe.execute()
        except Exception:  # noqa: BLE001 - live output is a courtesy; the run goes on
            logger.exception("execution_id=%s live output stopped", self.execution_id)
            self.failed = True

    def text_of(self, stream: str, chunk: bytes) -> str:
        """Decode what fits under the cap (multi-byte characters split across chunks kept
        whole), with a marker when the cap is reached, and mask secrets."""
        room = self.room[stream]
        if room <= 0:
            return ""
        kept = chunk[:room]
        self.room[stream] = room - len(kept)
        text = self.decoders[stream].decode(kept).replace("\x00", "\ufffd")
        if len(kept) < len(chunk):
            text += TRUNCATED
        return mask_secret_values(text, self.secrets)


def end_output(execution_id: int, status: str) -> None:
    """Mark the live output finished (after the final status committed)."""
    key = output_key(execution_id)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.xadd(key, {"end": status})
        pipe.expire(key, KEEP_AFTER_END_SECONDS)
        pipe.execute()
    except Exception:  # noqa: BLE001 - the status is committed; followers fall back to the row
        logger.exception("execution_id=%s could not mark output finished", execution_id)


def output_so_far(execution: Execution) -> dict:
    """What the execution printed: from the row once finished, else from the live stream."""
    if execution.is_terminal:
        return {"stdout": execution.stdout, "stderr": execution.stderr, "complete": True}
    printed = dict.fromkeys(STREAMS, "")
    for _entry_id, fields in redis_client().xrange(output_key(execution.pk)):
        if b"s" in fields:
            printed[fields[b"s"].decode()] += fields[b"d"].decode()
    return {**printed, "complete": False}


async def follow_output(execution_id: int, load_execution):
    """Yield NDJSON lines: every chunk printed so far, then new ones as they come, then the
    final status. `load_execution` (async) reads the row when the stream has nothing to say:
    at the start, and if no end marker arrives within a few seconds (Redis lost it)."""
    redis = async_redis_client()
    key = output_key(execution_id)
    cursor = "0-0"
    while True:
        execution = await load_execution(execution_id)
        if execution.is_terminal and not await redis.exists(key):
            for stream in STREAMS:
                if getattr(execution, stream):
                    yield line({"stream": stream, "data": getattr(execution, stream)})
            yield line({"end": True, "status": execution.status})
            return
        while reply := await redis.xread({key: cursor}, block=FOLLOW_BLOCK_MS):
            for entry_id, fields in reply[0][1]:
                cursor = entry_id
                if b"end" in fields:
                    yield line({"end": True, "status": fields[b"end"].decode()})
                    return
                yield line({"stream": fields[b"s"].decode(), "data": fields[b"d"].decode()})


def line(message: dict) -> str:
    return json.dumps(message) + "\n"
