"""Per-process caches of compiled content (rules, trigger types), dropped when content changes.

Content changes bump one counter in Redis after commit; a cache checks that counter once per
lookup (one GET) and clears itself when it moved, so every process sees a change at once without
reloading anything on the hot path while nothing changes. Inside `one_content_version()` every
lookup uses the counter read once at its start: one unit of work (a batch of trigger instances,
an execution) sees one consistent state of the content and pays one GET, not one per lookup.
"""

import logging
import threading
from contextlib import contextmanager
from contextvars import ContextVar

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


# (version,) while inside one_content_version(), else None.
_pinned_version: ContextVar[tuple | None] = ContextVar("pinned_content_version", default=None)


@contextmanager
def one_content_version():
    """Read the content version once for every cache lookup inside this block (inside an
    enclosing one, keep the version it read)."""
    if _pinned_version.get() is not None:
        yield
        return
    token = _pinned_version.set((redis_client().get(version_key()),))
    try:
        yield
    finally:
        _pinned_version.reset(token)


def current_version():
    pinned = _pinned_version.get()
    return pinned[0] if pinned is not None else redis_client().get(version_key())


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
        version = current_version()
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
