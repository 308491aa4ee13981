"""Which long-running processes are alive: each records a heartbeat in Redis (a sorted set per
kind, score = last beat) at least every HEARTBEAT_SECONDS; the health check lists those heard
from within the kind's stale time. A process that stops cleanly leaves at once (`forget`).

Answering from Redis keeps the health check instant: asking the workers themselves (Celery's
broadcast ping) waited its whole timeout for replies on every call.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from apps.core.services import redis_client

HEARTBEAT_SECONDS = 5


@dataclass(frozen=True)
class Heartbeats:
    kind: str
    stale_seconds: float

    def key(self) -> str:
        return f"{settings.ATTUNE_REDIS_PREFIX}attune:alive:{self.kind}"

    def beat(self, name: str) -> None:
        """Record that process `name` is alive, and forget those long silent."""
        now = time.time()
        pipe = redis_client().pipeline(transaction=False)
        pipe.zadd(self.key(), {name: now})
        pipe.zremrangebyscore(self.key(), "-inf", now - self.stale_seconds)
        pipe.execute()

    def forget(self, name: str) -> None:
        redis_client().zrem(self.key(), name)

    def live(self) -> list[str]:
        names = redis_client().zrangebyscore(self.key(), time.time() - self.stale_seconds, "+inf")
        return sorted(name.decode() for name in names)


# The engine beats between batches: a long batch (hundreds of events on a trigger with
# thousands of rules) must not make it look dead. A killed engine drops out after a minute.
RULES_ENGINES = Heartbeats("rules-engines", stale_seconds=60)
# Celery workers beat from their consumer's event loop (workers/heartbeat.py), which never
# waits on an execution: one whose loop is stuck, or that was killed, drops out after this.
WORKERS = Heartbeats("workers", stale_seconds=20)
