"""Per-process caches of compiled content (rules, trigger types), dropped when content changes.

Content changes bump one counter in Redis after commit; a cache checks that counter once per
lookup (one GET) and clears itself when it moved, so every process sees a change at once without
reloading anything on the hot path while nothing changes.
"""

import logging
import threading

import redis
from django.conf import settings
from django.db import transaction

from apps.core.services import redis_client

logger = logging.getLogger(__name__)


def version_key() -> str:
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:content-version"


def bump_content_version() -> None:
    """Tell every process's caches that packs, rules or trigger types changed (after commit)."""
    transaction.on_commit(increment_version)


def increment_version() -> None:
    try:
        redis_client().incr(version_key())
    except redis.RedisError:
        logger.exception("could not announce a content change; caches may be stale")


class ContentCache:
    """A dict of loaded values valid for one content version."""

    def __init__(self):
        self._lock = threading.Lock()
        self._version = None
        self._entries = {}

    def get(self, key, load):
        """Return the cached value for `key`, calling `load(key)` on a miss."""
        return self.get_many([key], load)[key]

    def get_many(self, keys, load) -> dict:
        """Return {key: value} for every key in `keys`, checking the content version once."""
        version = redis_client().get(version_key())
        with self._lock:
            if version != self._version:
                self._entries = {}
                self._version = version
            found = {key: self._entries[key] for key in keys if key in self._entries}
        for key in keys:
            if key in found:
                continue
            found[key] = load(key)
            with self._lock:
                if version == self._version:
                    self._entries[key] = found[key]
        return found
