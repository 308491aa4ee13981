"""Per-identity API rate limit, counted in Redis so every web process shares one count.

Fixed one-minute windows: one pipelined INCR + EXPIRE per request (a single round-trip).
An identity is the authenticated user, else the calling process (an action's or sensor's
token), else the client address. Webhooks have their own limits and skip this one.
"""

import logging
import time

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from apps.core.services import redis_client

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class IdentityRateThrottle(BaseThrottle):
    """Allow `ATTUNE_API_RATE_LIMIT_PER_MINUTE` requests a minute per identity (0: no limit)."""

    def allow_request(self, request, view) -> bool:
        limit = settings.ATTUNE_API_RATE_LIMIT_PER_MINUTE
        if limit <= 0:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"{settings.ATTUNE_REDIS_PREFIX}attune:api-rate:{identity(request)}:{window}"
        try:
            pipeline = redis_client().pipeline()
            pipeline.incr(key)
            pipeline.expire(key, 2 * WINDOW_SECONDS)
            count, _ = pipeline.execute()
        except redis.RedisError:
            # The limit protects the API; it must not take the API down with Redis.
            logger.warning("rate limit not checked: Redis unavailable")
            return True
        self.retry_after = int(WINDOW_SECONDS - now % WINDOW_SECONDS) + 1
        return count <= limit

    def wait(self) -> int:
        return self.retry_after


def identity(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    label = getattr(request.auth, "label", "")
    if label:
        return label.replace(" ", ":")
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"
