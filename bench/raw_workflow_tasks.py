"""The floor for workflows: a bare Celery app (no database, no Attune code) whose task computes
fibo(10) in a new Python interpreter, as Attune's python-script runner does per step.

A `chain` of 40 and a `chord` of 10 (+ callback) of this task are what Attune's workflows are
compared with. Start a worker for it with

    celery -A bench.raw_workflow_tasks worker -Q <BENCH_RAW_WF_QUEUE> --concurrency 10

Each task pushes `[tag, started, finished]` (epoch seconds) onto the Redis list `done_key()`.
Chords need a result backend: the same Redis, under the run's key prefix.
"""

import json
import os
import subprocess
import sys
import time

import redis
from celery import Celery

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("ATTUNE_REDIS_PREFIX", "")
QUEUE = os.environ.get("BENCH_RAW_WF_QUEUE", "bench-raw-wf")
FIBO = "def f(n): return n if n < 2 else f(n - 1) + f(n - 2)\nprint(f(10))"

app = Celery("bench_raw_wf", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    broker_connection_retry_on_startup=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    result_expires=600,
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
)

_client: redis.Redis | None = None


def done_key() -> str:
    return f"{PREFIX}bench:raw-wf:done"


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(REDIS_URL)
    return _client


@app.task(name="bench.raw_fibo")
def raw_fibo(tag: str) -> str:
    """Compute fibo(10) in a new interpreter and report [tag, started, finished]."""
    started = time.time()
    subprocess.run([sys.executable, "-c", FIBO], check=True, capture_output=True)
    finished = time.time()
    client().lpush(done_key(), json.dumps([tag, started, finished]))
    return tag
