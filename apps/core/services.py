"""Cross-cutting side effects: enqueue Celery tasks only after the transaction commits."""

import logging
from functools import partial

import redis
import redis.asyncio
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

_redis_client = None
_async_redis_client = None


def enqueue_on_commit(task_name: str, *args, **options) -> None:
    """Send `task_name(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(send_task, task_name, args, options))


def send_task(task_name: str, args: tuple, options: dict) -> None:
    """Send one task. If the broker refuses, say so and go on: what the task would act on is
    committed, and the re-dispatch sweeps send a lost message again (as after a crash), so the
    request that committed it still answers with what it did."""
    from attune.celery import app

    try:
        app.send_task(task_name, args=args, **options)
    except Exception:  # noqa: BLE001 - see the docstring
        logger.exception("could not send %s%r; left to the re-dispatch sweeps", task_name, args)


def send_tasks(messages: list[tuple[str, int]]) -> None:
    """Send `task_name(argument)` for each pair, through one producer (see `send_task` for a
    broker that refuses)."""
    from attune.celery import app

    try:
        with app.producer_or_acquire() as producer:
            for task_name, argument in messages:
                app.send_task(task_name, args=(argument,), producer=producer)
    except Exception:  # noqa: BLE001 - see send_task
        logger.exception("could not send %s; left to the re-dispatch sweeps", messages)


def redis_client() -> redis.Redis:
    """Return the process-wide Redis client (connection pooled)."""
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL)
    return _redis_client


def async_redis_client() -> redis.asyncio.Redis:
    """Return the process-wide asyncio Redis client (for the web server's event loop)."""
    global _async_redis_client
    if _async_redis_client is None:
        _async_redis_client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    return _async_redis_client


def publish_on_commit(channel: str, message: str) -> None:
    """Publish `message` on a Redis channel once the current transaction commits."""
    transaction.on_commit(lambda: redis_client().publish(channel, message))
