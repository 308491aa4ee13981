"""Live notification events about executions (see apps.notifications)."""

import json
from functools import lru_cache

from apps.executions.api.serializers import execution_representation
from apps.executions.models import Execution
from apps.notifications.services import event, publish


def routing_of(execution: Execution) -> dict:
    """Who may see an execution's events and what subscriptions match them on."""
    return {
        "audience": [execution.created_by_id],
        "action_ref": execution.action_ref,
        "lineage": lineage(execution),
        "rule_ref": (execution.context or {}).get("rule"),
    }


def lineage(execution: Execution) -> list[int]:
    """The execution's id and its ancestors' (a subscription to a parent covers children)."""
    ids = [execution.pk]
    parent_id = execution.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.append(parent_id)
        parent_id = parent_of(parent_id)
    return ids


@lru_cache(maxsize=4096)
def parent_of(execution_id: int) -> int | None:
    """An execution's parent id, which never changes: cached per process, so the events of a
    workflow's children (three each) do not look up the same workflow's parent again."""
    return Execution.objects.filter(pk=execution_id).values_list("parent_id", flat=True)[0]


# Events are kept for replay, so they carry a bounded share of big outputs and results; the
# REST API has them whole.
EVENT_TEXT_MAX_CHARS = 16 * 1024
EVENT_RESULT_MAX_CHARS = 64 * 1024


def execution_event(execution: Execution, event_type: str) -> tuple:
    """An `execution.*` event: the REST representation (secrets masked) with its routing."""
    payload = bounded(execution_representation(execution))
    return event(event_type, "execution", execution.pk, payload, **routing_of(execution))


def bounded(payload: dict) -> dict:
    """Cut stdout/stderr and drop a large result, saying so (`truncated` lists the fields)."""
    truncated = []
    for field in ("stdout", "stderr"):
        if len(payload[field]) > EVENT_TEXT_MAX_CHARS:
            payload[field] = payload[field][:EVENT_TEXT_MAX_CHARS]
            truncated.append(field)
    if payload["result"] is not None and len(json.dumps(payload["result"], default=str)) > (
        EVENT_RESULT_MAX_CHARS
    ):
        payload["result"] = None
        truncated.append("result")
    if truncated:
        payload["truncated"] = truncated
    return payload


def output_event(execution_id: int, routing: dict, stream: str, data: str) -> tuple:
    """An `execution.output` event for a chunk of stdout or stderr (already masked)."""
    payload = {"stream": stream, "data": data}
    return event("execution.output", "execution", execution_id, payload, **routing)


def announce(execution: Execution, event_type: str) -> None:
    publish(execution_event(execution, event_type))
