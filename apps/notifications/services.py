"""Record events for live notifications; they are appended to the stream after commit."""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.db import transaction
from django.utils import timezone

from apps.notifications.stream import append_events

logger = logging.getLogger(__name__)


def event(event_type: str, entity: str, entity_id, payload, *, audience=(), **routing) -> tuple:
    """Build one event: the body clients receive and the routing data the server keeps.

    `audience` lists the user ids (besides staff) who may see it; `routing` holds what filters
    match on (action_ref, lineage, rule_ref, trigger_type).
    """
    body = {
        "type": event_type,
        "entity": entity,
        "entity_id": entity_id,
        "payload": payload,
        "at": timezone.now().isoformat(),
    }
    meta = {"type": event_type, "audience": sorted({a for a in audience if a is not None})}
    meta.update({key: value for key, value in routing.items() if value is not None})
    return body, meta


# Set inside `published_together`: the events of the block, appended in one call on commit.
TOGETHER: ContextVar[list | None] = ContextVar("published_together", default=None)


def publish(*events: tuple) -> None:
    """Append `events` (from `event`) in one round trip once the transaction commits."""
    together = TOGETHER.get()
    if together is not None:
        together.extend(events)
    elif events:
        transaction.on_commit(partial(append_safely, list(events)))


@contextmanager
def published_together():
    """Inside a transaction: append every event published in this block in one round trip
    once it commits, before whatever else the block leaves for after the commit (the start
    messages of the executions it requests).

    For blocks that roll back no savepoint and go on: the events of a rolled-back savepoint
    would still be appended. A block that raises leaves with its transaction's on-commit work.
    """
    events: list = []
    transaction.on_commit(partial(append_safely, events))  # filled in by the block
    token = TOGETHER.set(events)
    try:
        yield
    finally:
        TOGETHER.reset(token)


def append_safely(events: list) -> None:
    """A notification that cannot be delivered must not fail the work it reports."""
    if not events:
        return
    try:
        append_events(events)
    except Exception:  # noqa: BLE001 - Redis down: the work is committed, only the news is lost
        logger.exception("could not append %s notification events", len(events))


ACCESS_CHANGED = "access.changed"


def announce_access_changed() -> None:
    """Tell every web process, once committed, that who may see what may have changed (a role,
    grant, assignment, group membership, user, token or API key): before it hands on the events
    that follow, it authenticates its stream connections again and recompiles their grants.
    An internal event: no client ever receives it."""
    publish(event(ACCESS_CHANGED, "access", None, {}, internal=True))
