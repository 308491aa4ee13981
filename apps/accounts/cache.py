"""A short-lived per-process cache of credential hash → user, so an authenticated API request
does not query the database for its token or API key.

An entry carries its user's compiled RBAC grants, so a request reads no role rows either.
Revocation still takes effect at once: anything that changes a token, an API key, a user, a
role, a grant, an assignment or a group membership bumps one counter in Redis (see
`signals.py`, `apps/rbac/signals.py` and `revoke_token`); every lookup reads that counter (one
GET, cheaper than the token query) and drops the whole cache when it moved. When Redis cannot
be read nothing is cached. An entry also lives at most `ATTUNE_AUTH_CACHE_SECONDS`
and never past its token's expiry.
"""

import copy
import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import transaction

from apps.core.cache import credentials_version_key, pinned_versions
from apps.core.services import redis_client

logger = logging.getLogger(__name__)

UNKNOWN = object()  # "no usable version": do not cache


def bump_credentials_version() -> None:
    """Tell every process to forget cached credentials, now and again after commit.

    The first bump stops at once the use of what is being changed; a process could still cache
    the old row before the commit, so the second bump clears that too.
    """
    _increment_version()
    transaction.on_commit(_increment_version)


def _increment_version() -> None:
    try:
        redis_client().incr(credentials_version_key())
    except redis.RedisError:
        logger.exception("could not announce a credential change; cached logins live on briefly")


@dataclass
class Entry:
    user: object
    valid_until: float  # time.monotonic()
    extra: dict


class CredentialCache:
    """{(kind, key hash): Entry} valid for one credentials version."""

    def __init__(self):
        self._lock = threading.Lock()
        self._version = UNKNOWN
        self._entries: dict[tuple[str, str], Entry] = {}

    def current_version(self):
        if settings.ATTUNE_AUTH_CACHE_SECONDS == 0:
            return UNKNOWN
        pinned = pinned_versions()
        if pinned is not None:
            return pinned[credentials_version_key()]
        try:
            return redis_client().get(credentials_version_key())
        except redis.RedisError:
            return UNKNOWN

    def get(self, key: tuple[str, str], version) -> Entry | None:
        """The live entry for `key` under `version`, or None."""
        if version is UNKNOWN:
            return None
        with self._lock:
            if version != self._version:
                self._entries = {}
                self._version = version
            entry = self._entries.get(key)
        if entry is None or entry.valid_until <= time.monotonic():
            return None
        return entry

    def put(self, key: tuple[str, str], version, user, seconds_left: float, **extra) -> None:
        """Remember `user` for `key` if `version` is still current."""
        if version is UNKNOWN:
            return
        ttl = min(settings.ATTUNE_AUTH_CACHE_SECONDS, seconds_left)
        with self._lock:
            if version == self._version and ttl > 0:
                self._entries[key] = Entry(user, time.monotonic() + ttl, extra)


def fresh_copy(user):
    """A per-request copy, so attributes one request sets never leak into the next."""
    return copy.copy(user)


credentials = CredentialCache()
