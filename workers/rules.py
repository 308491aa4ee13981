"""The rules engine process: takes committed trigger instances off a Redis list in batches.

Webhooks, sensors, timers and finished executions push the ids of the trigger instances they
committed (`apps.triggers.services.queue_for_rules`); this loop blocks on that list, takes
what has accumulated (up to BATCH_SIZE ids) and enforces their rules in one transaction
(`apps.rules.engine.process_trigger_instances`). A quiet platform handles each instance as it
arrives; a busy one pays the transaction, the cache checks and the inserts once per batch
instead of once per instance, with no Celery task in between.

The database stays the truth: an instance is `pending` until the transaction that processed it
commits, so ids lost with a crashed engine (or a Redis that refused them) are queued again by
the redispatcher (`redispatch_pending_instances`). An instance that breaks the engine is
retried alone and, if it fails again, recorded as failed with the error.
"""

import logging
import os
import signal
import socket
import time

import redis
from django.db import close_old_connections

from apps.core.liveness import HEARTBEAT_SECONDS, RULES_ENGINES
from apps.core.services import redis_client
from apps.rules import engine
from apps.triggers.services import rules_queue_key

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# How long one blocking read waits before the loop looks at its stop flag again.
WAIT_SECONDS = 2
REDIS_RETRY_SECONDS = 1.0


class RulesEngine:
    def __init__(self):
        self.stopping = False
        self.name = f"rules@{socket.gethostname()}:{os.getpid()}"
        self.next_beat = 0.0

    def run(self) -> None:
        """Process batches until SIGTERM or SIGINT; the batch in hand is finished first."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("rules engine ready, reading %s", rules_queue_key())
        while not self.stopping:
            self.beat_when_due()
            instance_ids = self.next_batch()
            if instance_ids:
                process_batch(instance_ids)
        try:
            RULES_ENGINES.forget(self.name)
        except redis.RedisError:
            logger.exception("cannot remove the rules engine's heartbeat; it goes stale")
        logger.info("rules engine stopped")

    def stop(self, signum, frame) -> None:
        self.stopping = True

    def beat_when_due(self) -> None:
        """Tell the health check this engine is alive (the loop turns at least every
        WAIT_SECONDS, well within HEARTBEAT_SECONDS)."""
        if time.monotonic() < self.next_beat:
            return
        try:
            RULES_ENGINES.beat(self.name)
        except redis.RedisError:
            logger.exception("cannot record the rules engine's heartbeat")
        self.next_beat = time.monotonic() + HEARTBEAT_SECONDS

    def next_batch(self) -> list[int]:
        """Wait for ids, then take whatever is queued up to BATCH_SIZE, in one call (BLMPOP,
        Redis 7)."""
        try:
            popped = redis_client().blmpop(
                WAIT_SECONDS, 1, rules_queue_key(), direction="LEFT", count=BATCH_SIZE
            )
        except redis.RedisError:
            logger.exception("cannot read the rules queue; retrying")
            time.sleep(REDIS_RETRY_SECONDS)
            return []
        if popped is None:
            return []
        return [int(value) for value in popped[1]]


def process_batch(instance_ids: list[int]) -> None:
    close_old_connections()  # a connection the database dropped is replaced, not reused
    try:
        later = engine.process_trigger_instances(instance_ids)
    except Exception:  # noqa: BLE001 - one bad instance must not hold up the others
        logger.exception(
            "batch of %s trigger instances failed; retrying each alone", len(instance_ids)
        )
        for instance_id in instance_ids:
            process_alone(instance_id)
        return
    if later:
        requeue_first(later)


def requeue_first(instance_ids: list[int]) -> None:
    """Put ids a transaction left for later back at the head of the queue, in order."""
    try:
        redis_client().lpush(rules_queue_key(), *reversed(instance_ids))
    except redis.RedisError:  # they stay pending: the redispatcher queues them again
        logger.exception("could not re-queue trigger instances %s", instance_ids)


def process_alone(instance_id: int) -> None:
    close_old_connections()
    try:
        engine.process_trigger_instances([instance_id])
    except Exception as exc:  # noqa: BLE001
        logger.exception("trigger_instance_id=%s failed in the rules engine", instance_id)
        try:
            engine.fail_trigger_instance(instance_id, f"rules engine error: {exc}")
        except Exception:  # noqa: BLE001 - database gone: it stays pending and comes back
            logger.exception("could not record the failure of trigger instance %s", instance_id)
