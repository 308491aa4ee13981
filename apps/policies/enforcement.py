"""Enforce policies on executions: admit, delay or cancel at request; release, start the next in
line and retry when an execution finishes.

Concurrency is counted in the database, not in Redis: each policy (and, for
`action.concurrency.attr`, each combination of attribute values) has a `ConcurrencySlot` row that
every admission and release locks with SELECT ... FOR UPDATE, and `SlotClaim` rows record who
holds a place and who waits in line. The count and the execution's status change commit together,
so a crash can never leave a counter out of step, and any number of web processes and workers
can race without over-admitting. Locks are always taken in policy-id order, so admissions and
releases touching several policies cannot deadlock each other.

Actions without policies pay one cached lookup (`policies_for`) at request and one at the end.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.core.cache import ContentCache
from apps.core.exceptions import AttuneError
from apps.core.services import enqueue_on_commit
from apps.executions import services as executions
from apps.executions.choices import TERMINAL, ExecutionStatus
from apps.executions.models import Execution
from apps.policies.choices import CONCURRENCY_TYPES, PolicyType, RetryOn, ThresholdAction
from apps.policies.models import ConcurrencySlot, Policy, SlotClaim

logger = logging.getLogger(__name__)

S = ExecutionStatus
RETRY_STATUSES = {
    RetryOn.FAILURE: S.FAILED,
    RetryOn.TIMEOUT: S.TIMEOUT,
    RetryOn.ABANDONED: S.ABANDONED,
}


@dataclass(frozen=True)
class ActivePolicy:
    """An enabled policy as enforcement needs it."""

    id: int
    ref: str
    policy_type: str
    parameters: dict


@dataclass(frozen=True)
class ActionPolicies:
    concurrency: tuple[ActivePolicy, ...] = ()
    retry: ActivePolicy | None = None
    # Also true while they are disabled: places their executions hold are released as they end.
    has_concurrency_policies: bool = False


_policies = ContentCache()


def load_action_policies(action_ref: str) -> ActionPolicies:
    """The enabled policies of an action, concurrency ones in lock (id) order."""
    rows = list(Policy.objects.filter(resource_ref=action_ref).order_by("id"))
    active = [ActivePolicy(p.id, p.ref, p.policy_type, p.parameters) for p in rows if p.is_enabled]
    retry = [p for p in active if p.policy_type == PolicyType.RETRY]
    return ActionPolicies(
        concurrency=tuple(p for p in active if p.policy_type in CONCURRENCY_TYPES),
        retry=retry[-1] if retry else None,
        has_concurrency_policies=any(p.policy_type in CONCURRENCY_TYPES for p in rows),
    )


def policies_for(action_ref: str) -> ActionPolicies:
    """The enabled policies of an action, compiled once per content version."""
    return _policies.get(action_ref, load_action_policies)


def admit(execution: Execution) -> bool:
    """Apply the action's policies to a just-requested execution; True if it should be queued
    now. Otherwise it has been delayed or canceled by a concurrency policy, or scheduled for
    later as a retry with backoff. Runs inside the request's transaction."""
    policies = policies_for(execution.action_ref)
    if policies.concurrency and not acquire_slots(execution, policies.concurrency):
        execution.refresh_from_db(fields=["status", "error", "finished_at"])
        return False
    if schedule_retry_attempt(execution):
        execution.refresh_from_db(fields=["status", "dispatched_at"])
        return False
    return True


def slot_key(policy: ActivePolicy, execution: Execution) -> tuple[str, dict]:
    """Which slot of the policy the execution falls in, and the values that make it (secret
    values masked, as everywhere they are shown)."""
    if policy.policy_type != PolicyType.CONCURRENCY_ATTR:
        return "", {}
    values = {name: execution.parameters.get(name) for name in policy.parameters["attributes"]}
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
    masked = execution.masked_parameters()
    return digest, {name: masked.get(name) for name in values}


def locked_slot(policy: ActivePolicy, execution: Execution) -> ConcurrencySlot:
    key, values = slot_key(policy, execution)
    slots = ConcurrencySlot.objects.select_for_update()
    slot = slots.filter(policy_id=policy.id, key=key).first()
    if slot is None:
        new = ConcurrencySlot(policy_id=policy.id, key=key, attribute_values=values)
        ConcurrencySlot.objects.bulk_create([new], ignore_conflicts=True)
        slot = slots.get(policy_id=policy.id, key=key)
    return slot


def occupancy(slot: ConcurrencySlot) -> tuple[int, int]:
    """How many executions hold a place in the slot, and how many wait in line."""
    counts = slot.claims.aggregate(
        holding=Count("id", filter=Q(is_holding=True)),
        waiting=Count("id", filter=Q(is_holding=False)),
    )
    return counts["holding"], counts["waiting"]


def acquire_slots(execution: Execution, policies) -> bool:
    """Take a place in the slot of every policy, in policy order; True if all were taken.

    The execution has no claim in these slots yet: it is new, or it was just granted a place
    in the slot of the policy before them (it only ever waits in one line at a time). At the
    first full slot, or one where others already wait, the policy decides: `cancel` cancels
    the execution, `delay` (the default) leaves it `delayed`, waiting in line there.
    """
    for policy in policies:
        slot = locked_slot(policy, execution)
        holding, waiting = occupancy(slot)
        if holding < policy.parameters["threshold"] and not waiting:
            SlotClaim.objects.create(slot=slot, execution=execution, is_holding=True)
            continue
        if policy.parameters["action"] == ThresholdAction.CANCEL:
            threshold = policy.parameters["threshold"]
            reason = f"canceled by policy {policy.ref}: its threshold of {threshold} is reached"
            executions.transition(execution.pk, S.CANCELED, error=reason)
            logger.info("execution_id=%s canceled by policy=%s", execution.pk, policy.ref)
            return False
        SlotClaim.objects.create(slot=slot, execution=execution, is_holding=False)
        executions.transition(execution.pk, S.DELAYED, only_from=[S.REQUESTED])
        logger.info("execution_id=%s delayed by policy=%s", execution.pk, policy.ref)
        return False
    return True


def execution_finished(execution: Execution) -> None:
    """Free the execution's places (starting whoever waits next) and retry it if a policy says
    so. Called by `transition` whenever an execution reaches a terminal status."""
    policies = policies_for(execution.action_ref)
    retry = policies.retry if policies.retry and retries(policies.retry, execution) else None
    if not policies.has_concurrency_policies and retry is None:
        return
    with transaction.atomic(savepoint=False):
        if policies.has_concurrency_policies:
            release_slots(execution.pk)
        if retry is not None:
            retry_if_due(execution, retry)


def retries(policy: ActivePolicy, execution: Execution) -> bool:
    """The retry policy covers how the execution ended."""
    retry_on = policy.parameters["retry_on"]
    outcomes = retry_on if isinstance(retry_on, list) else [retry_on]
    return execution.status in {RETRY_STATUSES[outcome] for outcome in outcomes}


def release_slots(execution_id: int) -> None:
    slots = list(
        ConcurrencySlot.objects.select_for_update(of=("self",))
        .filter(claims__execution_id=execution_id)
        .select_related("policy")
        .order_by("policy_id")
    )
    if not slots:
        return
    SlotClaim.objects.filter(execution_id=execution_id).delete()
    for slot in slots:
        start_next_in_line(slot)


def start_next_in_line(slot: ConcurrencySlot) -> None:
    """Give the free places of a locked slot to the executions waiting longest, and queue those
    that now hold every place they need; the finishing execution drives this, no polling."""
    threshold = slot.policy.parameters.get("threshold", 0)
    while True:
        holding, waiting = occupancy(slot)
        if holding >= threshold or not waiting:
            return
        claim = slot.claims.filter(is_holding=False).order_by("id").first()
        SlotClaim.objects.filter(pk=claim.pk).update(is_holding=True)
        # Skip an execution whose row another transaction holds (being canceled right now):
        # waiting for it could deadlock with that transaction, which frees the place itself.
        execution = (
            Execution.objects.select_for_update(skip_locked=True)
            .filter(pk=claim.execution_id, status=S.DELAYED)
            .first()
        )
        if execution is not None:
            continue_admission(execution, after_policy_id=slot.policy_id)


def continue_admission(execution: Execution, *, after_policy_id: int) -> None:
    """Take the execution's remaining places (policies after the one just granted) and queue
    it if it holds them all."""
    remaining = [
        p for p in load_action_policies(execution.action_ref).concurrency if p.id > after_policy_id
    ]
    if not acquire_slots(execution, remaining):
        return
    now = timezone.now()
    if executions.transition(execution.pk, S.REQUESTED, only_from=[S.DELAYED], dispatched_at=now):
        enqueue_on_commit(executions.start_task(execution.action_snapshot), execution.pk)
        logger.info("execution_id=%s admitted after waiting", execution.pk)


def retry_if_due(execution: Execution, policy: ActivePolicy) -> None:
    """Request the next attempt of a failed (or timed out) execution, linked to the first in
    `context.retry`, while attempts remain."""
    # A re-run starts a chain of its own, though it copies the context of what it re-runs.
    previous = {} if execution.rerun_of_id else execution.context.get("retry") or {}
    attempt = previous.get("attempt", 1)
    if attempt > policy.parameters["max_retry_count"]:
        return
    delay = policy.parameters["delay"] * policy.parameters["backoff"] ** (attempt - 1)
    retry = {
        "of": previous.get("of", execution.pk),
        "previous": execution.pk,
        "attempt": attempt + 1,
        "policy": policy.ref,
        "delay_seconds": delay,
    }
    try:
        with transaction.atomic():
            attempt_execution = executions.request_execution(
                execution.action_ref,
                execution.supplied_parameters,
                user=execution.created_by,
                parent=execution.parent,
                context={**execution.context, "retry": retry},
            )
    except AttuneError as exc:
        logger.warning("execution_id=%s not retried: %s", execution.pk, exc.detail)
        return
    logger.info(
        "execution_id=%s retried as execution_id=%s (attempt %s)",
        execution.pk,
        attempt_execution.pk,
        attempt + 1,
    )


def schedule_retry_attempt(execution: Execution) -> bool:
    """Hold back a retry attempt for its backoff delay; True if it was scheduled for later."""
    retry = execution.context.get("retry")
    if not retry or execution.rerun_of_id or not retry.get("delay_seconds"):
        return False
    delay = retry["delay_seconds"]
    due = timezone.now() + timedelta(seconds=delay)
    if executions.transition(execution.pk, S.SCHEDULED, only_from=[S.REQUESTED], dispatched_at=due):
        start = executions.start_task(execution.action_snapshot)
        enqueue_on_commit(start, execution.pk, countdown=delay)
    return True


def release_waiters(policy: Policy) -> None:
    """Let everyone waiting in the policy's slots go on (the policy is being disabled or
    deleted): each continues with its remaining policies."""
    slots = policy.slots.select_for_update().order_by("id")
    for slot in slots:
        waiting = list(slot.claims.filter(is_holding=False).order_by("id"))
        SlotClaim.objects.filter(pk__in=[claim.pk for claim in waiting]).delete()
        for claim in waiting:
            execution = Execution.objects.filter(pk=claim.execution_id, status=S.DELAYED).first()
            if execution is not None:
                continue_admission(execution, after_policy_id=policy.pk)


def fill_free_places(policy: Policy) -> None:
    """Start waiters the policy now has room for (its threshold was raised)."""
    for slot in policy.slots.select_for_update().select_related("policy").order_by("id"):
        start_next_in_line(slot)


def recover_policy_executions() -> None:
    """Repair what a lost message or a crash between steps could leave behind: places held by
    finished executions while others wait, and retry attempts whose queue message was lost."""
    waited_on = set(SlotClaim.objects.filter(is_holding=False).values_list("slot_id", flat=True))
    for slot_id in sorted(waited_on):
        with transaction.atomic():
            slot = ConcurrencySlot.objects.select_for_update().select_related("policy")
            slot = slot.filter(pk=slot_id).first()
            if slot is None:
                continue
            stale = slot.claims.filter(execution__status__in=TERMINAL)
            if stale.delete()[0]:
                logger.warning("released places of finished executions in slot_id=%s", slot_id)
            start_next_in_line(slot)
    redispatch_scheduled_retries()


def redispatch_scheduled_retries() -> None:
    now = timezone.now()
    deadline = now - timedelta(seconds=settings.ATTUNE_REDISPATCH_AFTER_SECONDS)
    lost = Execution.objects.filter(
        status=S.SCHEDULED, dispatched_at__lt=deadline, context__has_key="retry"
    ).values_list("pk", "action_snapshot")[:1000]
    for execution_id, snapshot in list(lost):
        with transaction.atomic():
            if Execution.objects.filter(pk=execution_id, status=S.SCHEDULED).update(
                dispatched_at=now
            ):
                enqueue_on_commit(executions.start_task(snapshot), execution_id)
