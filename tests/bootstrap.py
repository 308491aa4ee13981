"""Test session set-up that must happen before Django settings are read (loaded with `-p`).

Tests talk to Redis database 9 (not the platform's 0) under a per-session key prefix, so neither
a running platform nor another test session shares their queues. With no Redis reachable, a
private one is started, as `make run` does.
"""

import atexit
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from apps.core.redis_server import ensure_redis, stop_process

TEST_REDIS_DB = 9


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def prepare_redis() -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    process, url = ensure_redis(url, Path(tempfile.mkdtemp(prefix="attune-test-redis-")))
    if process is not None:
        atexit.register(stop_process, process)
    os.environ["REDIS_URL"] = with_db(url, TEST_REDIS_DB)
    # Test sessions running side by side must not take each other's queued work.
    os.environ["ATTUNE_REDIS_PREFIX"] = f"test-{os.getpid()}:"
    os.environ.pop("CELERY_BROKER_URL", None)


prepare_redis()
os.environ.setdefault("ATTUNE_DATA_DIR", tempfile.mkdtemp(prefix="attune-test-data-"))
os.environ.setdefault("DJANGO_SECRET_KEY", "attune-tests-only-secret-key-not-for-production")
# Short intervals so recovery scenarios happen within seconds; shared with the live processes.
os.environ.update(
    {
        "ATTUNE_HEARTBEAT_SECONDS": "1",
        "ATTUNE_ABANDON_AFTER_SECONDS": "5",
        "ATTUNE_REAPER_INTERVAL_SECONDS": "1",
        "ATTUNE_REDISPATCH_AFTER_SECONDS": "3",
        "ATTUNE_KILL_GRACE_SECONDS": "2",
        # Inquiries with TTLs of a few seconds time out promptly.
        "ATTUNE_INQUIRY_EXPIRY_INTERVAL_SECONDS": "1",
        "ATTUNE_WS_HEARTBEAT_SECONDS": "2",
        "ATTUNE_WS_QUEUE_SIZE": "16",
        # A stalled test client must outlive the server's keepalive while others produce.
        "ATTUNE_WS_PING_SECONDS": "120",
    }
)
