"""The floor: a bare Celery app whose one task runs `true`, with no database and no Attune code.

Start a worker for it with

    celery -A bench.raw_tasks worker -Q <BENCH_RAW_QUEUE> --concurrency 4

Completion is reported without a result backend: each task pushes `[sent, started, finished]`
(epoch seconds) onto the Redis list `done_key()`, which the benchmark pops with BLPOP.
Configuration comes from the environment: REDIS_URL, ATTUNE_REDIS_PREFIX, BENCH_RAW_QUEUE.
"""

import json
import os
import subprocess
import time

import redis
from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("ATTUNE_REDIS_PREFIX", "")
QUEUE = os.environ.get("BENCH_RAW_QUEUE", "bench-raw")
TASK_NAME = "bench.raw_true"

app = Celery("bench_raw", broker=REDIS_URL)
app.conf.update(
    broker_transport_options={"global_keyprefix": PREFIX},
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    task_acks_late=True,  # as Attune's run_execution
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
)

_client: redis.Redis | None = None


def done_key() -> str:
    """The Redis list every finished task pushes its timestamps onto."""
    return f"{PREFIX}bench:raw:done"


def client() -> redis.Redis:
    """This process's Redis client (created lazily, so after the pool's fork)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(REDIS_URL)
    return _client


@app.task(name=TASK_NAME)
def raw_true(sent_at: float, spawn: bool = True) -> None:
    """Run `true` (unless `spawn` is false: Celery's own floor) and report
    [sent, started, finished]."""
    started = time.time()
    if spawn:
        subprocess.run(["true"], check=False)
    finished = time.time()
    client().lpush(done_key(), json.dumps([sent_at, started, finished]))
