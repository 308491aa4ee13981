"""A Celery consumer step that records the worker's heartbeat (apps/core/liveness.py) from its
event loop, and removes it when the worker stops."""

import logging

import redis
from celery import bootsteps

from apps.core.liveness import HEARTBEAT_SECONDS, WORKERS

logger = logging.getLogger(__name__)


class Heartbeat(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.timer_entry = None

    def start(self, consumer) -> None:
        beat(consumer.hostname)
        self.timer_entry = consumer.timer.call_repeatedly(
            HEARTBEAT_SECONDS, beat, (consumer.hostname,)
        )

    def stop(self, consumer) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        try:
            WORKERS.forget(consumer.hostname)
        except redis.RedisError:
            logger.exception("cannot remove the worker's heartbeat; it goes stale")


def beat(hostname: str) -> None:
    try:
        WORKERS.beat(hostname)
    except redis.RedisError:
        logger.exception("cannot record the worker's heartbeat")
