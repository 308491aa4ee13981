"""Which rules engine processes are alive: each one records a heartbeat in Redis (a sorted set,
score = last beat) at least every HEARTBEAT_SECONDS; the health check lists those heard from
within STALE_SECONDS."""

import os
import socket
import time

from django.conf import settings

from apps.core.services import redis_client

HEARTBEAT_SECONDS = 5
# The engine beats between batches: a long batch (hundreds of events on a trigger with
# thousands of rules) must not make it look dead. A killed engine drops out after this long;
# one stopped cleanly leaves at once (forget).
STALE_SECONDS = 60


def engines_key() -> str:
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:rules-engines"


def engine_name() -> str:
    return f"rules@{socket.gethostname()}:{os.getpid()}"


def beat(name: str) -> None:
    """Record that engine `name` is alive, and forget engines long silent."""
    now = time.time()
    pipe = redis_client().pipeline(transaction=False)
    pipe.zadd(engines_key(), {name: now})
    pipe.zremrangebyscore(engines_key(), "-inf", now - STALE_SECONDS)
    pipe.execute()


def forget(name: str) -> None:
    """An engine that stops says so at once, rather than going stale."""
    redis_client().zrem(engines_key(), name)


def live_engines() -> list[str]:
    names = redis_client().zrangebyscore(engines_key(), time.time() - STALE_SECONDS, "+inf")
    return sorted(name.decode() for name in names)
