"""Celery application: configured from Django settings (attune/celery_settings.py), tasks
discovered in `workers`."""

import os

from celery import Celery
from celery.concurrency import get_implementation
from celery.concurrency.thread import TaskPool as ThreadPool
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.settings")

app = Celery("attune")
app.config_from_object("attune.celery_settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")
app.steps["consumer"].add("workers.heartbeat:Heartbeat")

# Room in a thread pool worker's database pool beyond one connection per slot: heartbeat
# threads of environment builds and the worker's own bookkeeping.
SPARE_DATABASE_CONNECTIONS = 4


@worker_init.connect
def size_database_pool(sender, **kwargs) -> None:
    """Give a thread pool worker a database connection per slot.

    Each thread keeps its connection between tasks (CELERY_DB_REUSE_MAX), so a pool smaller
    than the slots would leave executions waiting for a connection, then failing to start.
    """
    from django.conf import settings

    pool_options = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if not pool_options or not issubclass(get_implementation(sender.pool_cls), ThreadPool):
        return
    needed = sender.concurrency + SPARE_DATABASE_CONNECTIONS
    pool_options["max_size"] = max(pool_options["max_size"], needed)
