"""Execution statuses, their named groups and the transitions allowed between them."""

from django.db import models


class ExecutionStatus(models.TextChoices):
    REQUESTED = "requested"
    DELAYED = "delayed"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PENDING = "pending"
    PAUSING = "pausing"
    PAUSED = "paused"
    RESUMING = "resuming"
    CANCELING = "canceling"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ABANDONED = "abandoned"


S = ExecutionStatus

TERMINAL = frozenset({S.SUCCEEDED, S.FAILED, S.TIMEOUT, S.CANCELED, S.ABANDONED})
WAITING_TO_RUN = frozenset({S.REQUESTED, S.DELAYED, S.SCHEDULED})
CANCELABLE = frozenset({*WAITING_TO_RUN, S.RUNNING, S.PENDING, S.PAUSING, S.PAUSED, S.RESUMING})
ACTIVE = frozenset({S.RUNNING, S.PENDING, S.PAUSING, S.PAUSED, S.RESUMING, S.CANCELING})

# Every status change goes through `services.transition`, which only follows these edges.
ALLOWED_TRANSITIONS = {
    S.REQUESTED: {S.DELAYED, S.SCHEDULED, S.RUNNING, S.CANCELED, S.FAILED},
    S.DELAYED: {S.REQUESTED, S.SCHEDULED, S.CANCELED},
    S.SCHEDULED: {S.RUNNING, S.CANCELED, S.FAILED},
    S.RUNNING: {S.PENDING, S.PAUSING, S.CANCELING, *TERMINAL},
    S.PENDING: {S.RUNNING, S.PAUSING, S.CANCELING, *TERMINAL},
    S.PAUSING: {S.PAUSED, S.RUNNING, S.CANCELING, *TERMINAL},
    S.PAUSED: {S.RESUMING, S.CANCELING, S.CANCELED},
    S.RESUMING: {S.RUNNING, S.CANCELING, *TERMINAL},
    S.CANCELING: {S.CANCELED, S.SUCCEEDED, S.FAILED, S.TIMEOUT, S.ABANDONED},
}


def sources_of(target: str) -> frozenset:
    """Statuses from which `target` may be reached."""
    return frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if target in targets)
