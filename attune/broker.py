"""Celery's broker transport: kombu's Redis transport, with one Redis client per channel.

kombu builds a new Redis client object (a dict of several hundred response callbacks) for
every command it sends outside its event loop: each publish, and a worker's bookkeeping of
each delivery and each ack. One client per channel sends the same commands over the same
connection pool. Selected with CELERY_BROKER_TRANSPORT (attune/settings.py).
"""

from contextlib import contextmanager
from functools import cached_property

from kombu.transport import redis


class Channel(redis.Channel):
    @cached_property
    def shared_client(self):
        return self._create_client()

    @contextmanager
    def conn_or_acquire(self, client=None):
        yield client or self.shared_client


class Transport(redis.Transport):
    Channel = Channel
