"""Deliver cancel requests to the process running an execution, without polling.

`cancel_execution` publishes the execution id on a Redis channel after commit. Each worker
process keeps one subscriber thread; an execution being run registers a wake-up pipe, and the
subscriber writes to that pipe, which the supervisor's selector is already watching.
"""

import logging
import os
import threading
from contextlib import contextmanager

from apps.core.services import redis_client
from apps.executions.services import cancel_channel

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pipes: dict[int, int] = {}  # execution id -> write end of its wake-up pipe
_listener: threading.Thread | None = None


@contextmanager
def watch_for_cancel(execution_id: int):
    """Yield a file descriptor that becomes readable when `execution_id` is canceled.

    Register before claiming the execution, so a cancel sent right after the claim is not lost.
    """
    ensure_listener()
    read_fd, write_fd = os.pipe()
    with _lock:
        _pipes[execution_id] = write_fd
    try:
        yield read_fd
    finally:
        with _lock:
            _pipes.pop(execution_id, None)
        os.close(read_fd)
        os.close(write_fd)


def ensure_listener() -> None:
    """Start this process's subscriber thread once, returning only when it is subscribed."""
    global _listener
    with _lock:
        if _listener is not None and _listener.is_alive():
            return
        pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(cancel_channel())
        pubsub.get_message(timeout=5)  # the subscribe confirmation
        _listener = threading.Thread(target=listen, args=(pubsub,), daemon=True, name="cancel")
        _listener.start()


def listen(pubsub) -> None:
    try:
        for message in pubsub.listen():
            if message["type"] == "message":
                wake(int(message["data"]))
    except Exception:  # noqa: BLE001 - the next execution starts a new listener
        logger.exception("cancel listener stopped")


def wake(execution_id: int) -> None:
    with _lock:
        write_fd = _pipes.get(execution_id)
        if write_fd is not None:
            os.write(write_fd, b"x")
            logger.info("execution_id=%s cancel delivered", execution_id)
