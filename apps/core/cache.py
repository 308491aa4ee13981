"""Per-process caches of compiled content (rules, trigger types), dropped when content changes.

Content changes bump one counter in Redis after commit; a cache checks that counter once per
lookup (one GET) and clears itself when it moved, so every process sees a change at once without
reloading anything on the hot path while nothing changes. Inside `one_read_of_versions()` every
lookup uses the counter read once at its start: one unit of work (a batch of trigger instances,
an execution, a webhook) sees one consistent state of the content and pays one read, not one
per lookup. The same read brings the credentials counter (apps/accounts/cache.py).
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


def credentials_version_key() -> str:
    """The counter of credential and access changes (see apps/accounts/cache.py)."""
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:credentials-version"


# {key: value} of both counters while inside one_read_of_versions(), else None.
_pinned_versions: ContextVar[dict | None] = ContextVar("pinned_versions", default=None)


@contextmanager
def one_read_of_versions():
    """Read the content and credentials versions once, in one round trip, for every lookup
    inside this block (inside an enclosing one, keep what it read)."""
    if _pinned_versions.get() is not None:
        yield
        return
    keys = [version_key(), credentials_version_key()]
    token = _pinned_versions.set(dict(zip(keys, redis_client().mget(keys), strict=True)))
    try:
        yield
    finally:
        _pinned_versions.reset(token)


def pinned_versions() -> dict | None:
    """{key: value} read by the enclosing `one_read_of_versions()`, or None outside one."""
    return _pinned_versions.get()


def current_version():
    pinned = _pinned_versions.get()
    return pinned[version_key()] if pinned is not None else redis_client().get(version_key())


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
