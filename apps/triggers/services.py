"""Trigger types and dispatching trigger instances."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import jsonschema
import redis
from django.conf import settings
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from apps.core.cache import ContentCache, bump_content_version
from apps.core.exceptions import InvalidInput, NotFound
from apps.core.nul import refuse_nul_characters
from apps.core.services import redis_client
from apps.notifications.services import published_together
from apps.triggers.builtins import BUILTIN_TRIGGER_TYPES
from apps.triggers.choices import TriggerInstanceStatus, TriggerSource
from apps.triggers.events import announce_instance
from apps.triggers.models import TriggerInstance, TriggerType, trigger_key
from apps.triggers.secrets import secret_paths

logger = logging.getLogger(__name__)


class InvalidPayload(InvalidInput):
    code = "invalid_payload"


@dataclass(frozen=True)
class LoadedTriggerType:
    id: int
    ref: str
    validator: jsonschema.Draft7Validator | None
    secret_paths: list  # payload fields marked `secret: true` (apps/triggers/secrets.py)


_trigger_types = ContentCache()
_listened = ContentCache()


def load_trigger_type(ref: str) -> LoadedTriggerType | None:
    trigger_type = TriggerType.objects.filter(ref=ref).only("id", "ref", "payload_schema").first()
    if trigger_type is None:
        return None
    schema = trigger_type.payload_schema
    validator = jsonschema.Draft7Validator(schema) if schema else None
    return LoadedTriggerType(trigger_type.pk, trigger_type.ref, validator, secret_paths(schema))


def trigger_type_secret_paths(ref: str) -> list:
    """The secret payload fields of trigger type `ref` (none if it is gone)."""
    loaded = _trigger_types.get(ref, load_trigger_type)
    return loaded.secret_paths if loaded is not None else []


def cached_trigger_type(ref: str) -> LoadedTriggerType:
    loaded = _trigger_types.get(ref, load_trigger_type)
    if loaded is None:
        raise NotFound(f"trigger type {ref!r} does not exist")
    return loaded


def payload_errors(loaded: LoadedTriggerType, payload) -> list[dict]:
    if loaded.validator is None:
        return []
    return [
        {
            "field": "/".join(str(p) for p in error.absolute_path) or "payload",
            "message": error.message,
        }
        for error in loaded.validator.iter_errors(payload)
    ]


def dispatch_trigger(
    trigger_ref: str,
    payload,
    *,
    source: str,
    parameters: dict | None = None,
    source_detail: str = "",
    note: str = "",
    refuse_invalid: bool = True,
    enforce_now: Callable[[TriggerInstance], None] | None = None,
) -> TriggerInstance:
    """Record a trigger instance and queue it for the rules engine once committed.

    An invalid payload is refused (InvalidPayload) for callers that can answer with an error,
    or recorded as a failed instance for those that cannot (sensors). `enforce_now`, if given,
    enforces the instance's rules in this same transaction instead (a webhook whose trigger has
    few rules): the instance is recorded `processed` and never queued.
    """
    loaded = cached_trigger_type(trigger_ref)
    refuse_nul_characters(payload, "payload")
    errors = payload_errors(loaded, payload)
    if errors and refuse_invalid:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise InvalidPayload(f"payload does not match {trigger_ref}: {detail}", errors=errors)
    fields = {
        "trigger_type_id": loaded.id,
        "trigger_ref": trigger_ref,
        "trigger_key": trigger_key(trigger_ref, parameters),
        "payload": payload,
        "source": source,
        "source_detail": source_detail[:300],
        "note": note,
    }
    if enforce_now is not None and not errors:
        try:
            return record_and_enforce(fields, enforce_now)
        except Exception:  # noqa: BLE001 - the sender's event must not be lost to an engine error
            logger.exception(
                "%s: enforcing its rules at once failed; the instance is queued for the engine",
                trigger_ref,
            )
    return record_for_engine(fields, errors)


def record_and_enforce(
    fields: dict, enforce_now: Callable[[TriggerInstance], None]
) -> TriggerInstance:
    """Record the instance `processed` and enforce its rules in one transaction.

    No savepoint around the enforcement: if it breaks, the whole transaction is undone and the
    caller records the instance again for the rules engine, which retries it. Its events (the
    instance's, its enforcements', their executions') go out in one append.
    """
    now = timezone.now()
    with transaction.atomic(), published_together():
        instance = TriggerInstance.objects.create(
            **fields, occurred_at=now, processed_at=now, status=TriggerInstanceStatus.PROCESSED
        )
        announce_instance(instance)
        enforce_now(instance)
        if transaction.get_rollback():  # an error was caught inside: Django would roll back
            raise TransactionManagementError("the enforcement left its transaction unusable")
    return instance


def record_for_engine(fields: dict, errors: list[dict]) -> TriggerInstance:
    """Record the instance `pending` and queue it for the rules engine once committed, or
    `failed` with its payload errors."""
    with transaction.atomic():
        instance = TriggerInstance.objects.create(
            **fields,
            occurred_at=timezone.now(),
            status=TriggerInstanceStatus.FAILED if errors else TriggerInstanceStatus.PENDING,
            error="; ".join(e["message"] for e in errors),
        )
        announce_instance(instance)
        if not errors:
            queue_for_rules_on_commit(instance.pk)
    return instance


def rules_queue_key() -> str:
    """The Redis list of trigger instance ids waiting for the rules engine (workers/rules.py)."""
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:rules:instances"


def queue_for_rules_on_commit(instance_id: int) -> None:
    transaction.on_commit(partial(queue_for_rules, [instance_id]))


def queue_for_rules(instance_ids: list[int]) -> None:
    """Hand committed pending instances to the rules engine.

    If Redis refuses, the instance stays pending in the database and the redispatcher queues
    it again later: the caller's work is committed and must not fail now.
    """
    try:
        redis_client().rpush(rules_queue_key(), *instance_ids)
    except redis.RedisError:
        logger.exception(
            "could not queue trigger instances %s; they will be re-queued", instance_ids
        )


def reemit_trigger_instance(instance_id: int) -> TriggerInstance:
    """Dispatch a copy of an earlier instance (same trigger, same payload)."""
    original = TriggerInstance.objects.filter(pk=instance_id).first()
    if original is None:
        raise NotFound(f"trigger instance {instance_id} does not exist")
    with transaction.atomic():
        instance = TriggerInstance.objects.create(
            trigger_type_id=original.trigger_type_id,
            trigger_ref=original.trigger_ref,
            trigger_key=original.trigger_key,
            payload=original.payload,
            source=TriggerSource.REEMIT,
            source_detail=f"re-emit of {original.pk}",
            occurred_at=timezone.now(),
        )
        announce_instance(instance)
        queue_for_rules_on_commit(instance.pk)
    return instance


def sync_builtin_trigger_types(**kwargs) -> None:
    """Create or update the built-in trigger types (run after every migrate)."""
    for spec in BUILTIN_TRIGGER_TYPES:
        TriggerType.objects.update_or_create(
            ref=spec["ref"],
            defaults={
                "name": spec["ref"].split(".", 1)[1],
                "description": spec["description"],
                "payload_schema": spec["payload_schema"],
                "parameters_schema": spec["parameters_schema"],
                "is_builtin": True,
                "pack": None,
            },
        )
    bump_content_version()


def has_listeners(key: str) -> bool:
    """True if an enabled rule listens on this trigger key (cached per content version)."""
    from apps.rules.models import Rule

    return _listened.get(key, lambda k: Rule.objects.enabled().filter(trigger_key=k).exists())


def redispatch_pending_instances() -> list[int]:
    """Queue again trigger instances still pending long after they were recorded (an id lost
    with a crashed rules engine, or refused by Redis).

    Only while the queue is empty: ids still queued are on their way (an engine that is down
    or behind gets to them), and queueing them again on every sweep would pile up copies."""
    if redis_client().llen(rules_queue_key()):
        return []
    deadline = timezone.now() - timedelta(seconds=settings.ATTUNE_REDISPATCH_AFTER_SECONDS)
    lost = list(
        TriggerInstance.objects.filter(
            status=TriggerInstanceStatus.PENDING, occurred_at__lt=deadline
        ).values_list("pk", flat=True)[:1000]
    )
    if lost:
        queue_for_rules(lost)
        logger.warning("re-dispatched pending trigger instances: %s", lost)
    return lost
