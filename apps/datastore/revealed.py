"""Secrets an action process decrypted, remembered until its execution's outcome is recorded.

The worker then masks them in the result, stdout and stderr, as it masks secret parameters:
an action that prints or returns what it decrypted does not put it in the execution record.
They wait in Redis encrypted, bound to their execution, for at most a week.
"""

import redis
from django.conf import settings

from apps.core.crypto import decrypt, encrypt
from apps.core.exceptions import AttuneError
from apps.core.services import redis_client
from apps.datastore.templates import string_leaves

KEEP_SECONDS = 7 * 24 * 3600


class RevealUnavailable(AttuneError):
    code = "unavailable"
    status_code = 503


def revealed_key(execution_id: int) -> str:
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:revealed:{execution_id}"


def context_of(execution_id: int) -> str:
    return f"revealed:{execution_id}"


def remember_revealed(execution_id: int, value) -> None:
    """Note `value` (every string in it) as revealed to the execution; refuse if we cannot."""
    leaves = [encrypt(leaf, context_of(execution_id)) for leaf in string_leaves(value)]
    if not leaves:
        return
    try:
        pipeline = redis_client().pipeline()
        pipeline.rpush(revealed_key(execution_id), *leaves)
        pipeline.expire(revealed_key(execution_id), KEEP_SECONDS)
        pipeline.execute()
    except redis.RedisError as exc:
        # Unmasked output would follow a reveal we cannot remember: refuse it instead.
        raise RevealUnavailable("cannot decrypt right now; try again shortly") from exc


def take_revealed(execution_id: int) -> list[str]:
    """The strings revealed to the execution (once: the record is made from them)."""
    pipeline = redis_client().pipeline()
    pipeline.lrange(revealed_key(execution_id), 0, -1)
    pipeline.delete(revealed_key(execution_id))
    sealed, _ = pipeline.execute()
    return [decrypt(item.decode(), context_of(execution_id)) for item in sealed]
