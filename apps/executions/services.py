"""Request, claim, finish, cancel and recover executions.

Every status change goes through `transition`, one conditional UPDATE that succeeds only from a
status allowed to reach the target; callers act only when it reports that they won.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.actions.models import Action
from apps.actions.parameters import (
    ParameterError,
    compile_validators,
    secret_names,
    validate_parameters,
)
from apps.audit.choices import AuditAction
from apps.audit.services import record_event
from apps.core.cache import ContentCache, one_read_of_versions
from apps.core.exceptions import Conflict, InvalidInput, NotFound
from apps.core.services import enqueue_on_commit, publish_on_commit, send_tasks
from apps.datastore.templates import Datastore, parameters_holding_secrets
from apps.executions.choices import (
    CANCELABLE,
    TERMINAL,
    WAITING_TO_RUN,
    ExecutionStatus,
    sources_of,
)
from apps.executions.events import announce
from apps.executions.models import Execution
from apps.executions.output import end_output
from apps.executions.sealing import open_secrets, seal_secrets
from apps.inquiries.choices import InquiryStatus
from apps.inquiries.models import Inquiry
from apps.policies import enforcement as policy_enforcement
from apps.triggers.choices import TriggerSource
from apps.triggers.services import dispatch_trigger, has_listeners

logger = logging.getLogger(__name__)

RUN_TASK = "attune.run_execution"
# Executions of these runner types are driven by an engine on the control queue instead of
# being run by an actions worker (a workflow must not hold a worker slot while it waits).
ENGINE_TASKS = {"orquesta": "attune.start_workflow", "inquirer": "attune.start_inquiry"}
WORKFLOW_RUNNER, INQUIRER_RUNNER = "orquesta", "inquirer"
ADVANCE_WORKFLOW_TASK = "attune.advance_workflow"
ACTION_TRIGGER = "core.st2.generic.actiontrigger"
S = ExecutionStatus


class InvalidParameters(InvalidInput):
    code = "invalid_parameters"


def cancel_channel() -> str:
    """The Redis channel on which workers hear which executions to cancel."""
    return f"{settings.ATTUNE_REDIS_PREFIX}attune:cancel"


def transition(execution_id: int, target: str, *, only_from=None, **fields) -> bool:
    """Move an execution to `target` if its current status allows it; True if this call did."""
    return transitioned(execution_id, target, only_from=only_from, **fields) is not None


def transitioned(execution_id: int, target: str, *, only_from=None, **fields) -> Execution | None:
    """`transition`, returning the execution as it now is when this call moved it."""
    sources = sources_of(target)
    if only_from is not None:
        sources = sources & frozenset(only_from)
    if target in TERMINAL:
        fields.setdefault("finished_at", timezone.now())
    execution = Execution.objects.update_returning(execution_id, sources, status=target, **fields)
    if execution is None:
        return None
    logger.info("execution_id=%s -> %s", execution_id, target)
    announce(execution, "execution.updated")
    if target in TERMINAL:
        transaction.on_commit(partial(end_output, execution_id, target))
        policy_enforcement.execution_finished(execution)
        notify_parent_workflow(execution)
    return execution


# Set by an actions worker around a child's finish when it hands the event to the parent
# workflow itself right after the commit (workers/executor.py `advance_parent`). A worker dying
# in between is like a lost message: the re-dispatch sweep (`resync_workflows`) wakes the workflow.
PARENT_NOTIFIED_BY_WORKER: ContextVar[bool] = ContextVar("parent_notified_by_worker", default=False)


def notify_parent_workflow(execution: Execution) -> None:
    """After commit, wake the workflow this execution is a task of, if it is one."""
    if execution.parent_id is not None and not PARENT_NOTIFIED_BY_WORKER.get():
        event = {"type": "child", "execution_id": execution.pk}
        enqueue_on_commit(ADVANCE_WORKFLOW_TASK, execution.parent_id, event)


# Set by an actions worker while it advances the workflow of a child it just finished: the
# first child the pass requests for an actions worker is handed back to run in that worker's
# thread once the pass commits, instead of a message and another worker's pick-up between one
# step and the next. A worker dying before it claims the child is a lost message: the
# re-dispatch sweep sends it again.
RUN_HERE: ContextVar[list | None] = ContextVar("run_here", default=None)
# Set inside `dispatched_together`: (task, execution id) of the start messages to send at once.
TOGETHER: ContextVar[list | None] = ContextVar("together", default=None)


def dispatch_on_commit(execution: Execution, snapshot: dict) -> None:
    """Queue the execution's start on commit, or hand it to the worker asking for one."""
    task, run_here, together = start_task(snapshot), RUN_HERE.get(), TOGETHER.get()
    if task == RUN_TASK and run_here is not None and not run_here:
        run_here.append(execution.pk)
    elif together is not None:
        together.append((task, execution.pk))
    else:
        enqueue_on_commit(task, execution.pk)


@contextmanager
def dispatched_together():
    """Within a transaction: send the start messages of the executions requested in the block
    one after the other once it commits, after its notifications.

    A workflow's fan-out: sent one by one between the branches' notifications, the messages
    left over tens of milliseconds once the first branches' processes competed for the CPU;
    together, the branches become runnable at once.
    """
    together: list[tuple[str, int]] = []
    token = TOGETHER.set(together)
    try:
        yield
    finally:
        TOGETHER.reset(token)
    if together:
        transaction.on_commit(partial(send_tasks, together))


def start_task(snapshot: dict) -> str:
    """The Celery task that starts an execution of this action."""
    return ENGINE_TASKS.get(snapshot.get("runner_type"), RUN_TASK)


@one_read_of_versions()  # the action and its policies: one read of the versions
def request_execution(
    action_ref: str,
    parameters: dict,
    *,
    user=None,
    parent=None,
    context=None,
    rerun_of=None,
    revealed_secrets=(),
) -> Execution:
    """Validate parameters, record the execution as requested, and queue it on commit.

    `revealed_secrets` are datastore secrets the caller decrypted into `parameters` (a rule's
    `decrypt_kv`): like those of the action's own defaults, they may only go into secret
    parameters, which are stored encrypted and reach the action on stdin alone.
    """
    action = find_runnable_action(action_ref)
    datastore = Datastore(user)
    try:
        values = validate_parameters(
            action.specs,
            parameters if parameters is not None else {},
            action.validators,
            {"st2kv": datastore},
        )
    except ParameterError as exc:
        message = f"invalid parameters for {action_ref}: {exc}"
        raise InvalidParameters(message, errors=exc.errors) from exc
    secrets = action.snapshot["secret_parameters"]
    refuse_revealed_secrets(action_ref, values, secrets, [*revealed_secrets, *datastore.revealed])
    # Inside a caller's transaction (the rules engine, a workflow pass) no savepoint of its
    # own: every refusal above comes before the first write, and a database error fails the
    # caller's block as a whole.
    with transaction.atomic(savepoint=False):
        execution = Execution.objects.create(
            action_id=action.id,
            action_ref=action.ref,
            action_snapshot=action.snapshot,
            parameters=seal_secrets(values, secrets),
            supplied_parameters=seal_secrets(parameters or {}, secrets),
            context=context or {},
            parent=parent,
            rerun_of=rerun_of,
            created_by=user,
            dispatched_at=timezone.now(),
        )
        record_event(
            AuditAction.EXECUTE,
            "execution",
            execution.pk,
            actor=user,
            detail={
                "action": action.ref,
                "rule": (context or {}).get("rule"),
                "rerun_of": getattr(rerun_of, "pk", None),
            },
        )
        announce(execution, "execution.created")  # before the worker can announce `running`
        if policy_enforcement.admit(execution):
            dispatch_on_commit(execution, action.snapshot)
    logger.info("execution_id=%s requested action=%s", execution.pk, action.ref)
    return execution


def refuse_revealed_secrets(action_ref: str, values: dict, secrets, revealed: list) -> None:
    leaked = parameters_holding_secrets(values, secrets, revealed)
    if leaked:
        names = ", ".join(leaked)
        raise InvalidParameters(
            f"invalid parameters for {action_ref}: {names} would hold a decrypted datastore "
            "secret but are not secret parameters (mark them `secret: true`)",
            errors=[{"parameter": name, "message": "holds a secret"} for name in leaked],
        )


@dataclass(frozen=True)
class RunnableAction:
    """What requesting an execution needs to know about an action, compiled once per content
    version (pack registrations and action edits bump it), so a request costs no lookup."""

    id: int
    ref: str
    is_enabled: bool
    specs: dict
    validators: dict
    snapshot: dict


_runnable_actions = ContentCache()


def load_runnable_action(action_ref: str) -> RunnableAction | None:
    action = Action.objects.select_related("pack").filter(ref=action_ref).first()
    if action is None:
        return None
    specs = action.parameter_specs()
    return RunnableAction(
        id=action.pk,
        ref=action.ref,
        is_enabled=action.is_enabled,
        specs=specs,
        validators=compile_validators(specs),
        snapshot=snapshot(action, specs),
    )


def runnable_action(action_ref: str) -> RunnableAction | None:
    return _runnable_actions.get(action_ref, load_runnable_action)


def find_runnable_action(action_ref: str) -> RunnableAction:
    action = runnable_action(action_ref)
    if action is None:
        raise NotFound(f"action {action_ref!r} does not exist")
    if not action.is_enabled:
        raise Conflict(f"action {action_ref!r} is disabled")
    return action


def snapshot(action: Action, specs: dict) -> dict:
    """What a worker needs to run the action, frozen at request time."""
    return {
        "pack": action.pack.ref,
        "content_sha256": action.pack.content_id,
        "runner_type": action.runner_type,
        "entry_point": action.entry_point,
        "secret_parameters": sorted(secret_names(specs)),
        "positions": {n: s["position"] for n, s in specs.items() if "position" in s},
    }


def claim_execution(execution_id: int, worker: str) -> Execution | None:
    """Mark a waiting execution running for `worker`; None if it is not ours to run."""
    now = timezone.now()
    return transitioned(
        execution_id,
        S.RUNNING,
        only_from=WAITING_TO_RUN,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
    )


def record_heartbeat(execution_id: int) -> None:
    Execution.objects.filter(pk=execution_id, status__in=[S.RUNNING, S.CANCELING]).update(
        heartbeat_at=timezone.now()
    )


@one_read_of_versions()  # its policies and the action trigger's rules: one read
def finish_execution(execution_id: int, status: str, **fields) -> bool:
    """Record the final status and outcome of a run; False if it was already finished."""
    only_from = [S.RUNNING, S.CANCELING, S.PENDING, S.PAUSING, S.RESUMING]
    with transaction.atomic():
        finished = transition(execution_id, status, only_from=only_from, **fields)
        if finished:
            emit_action_trigger(execution_id)
    return finished


def emit_action_trigger(execution_id: int) -> None:
    """Dispatch `core.st2.generic.actiontrigger` for a finished execution.

    Only when a rule listens on it: otherwise every execution would write an instance no one
    reads, on the hottest path there is.
    """
    if not has_listeners(ACTION_TRIGGER):
        return
    execution = Execution.objects.get(pk=execution_id)
    payload = {
        "execution_id": execution.pk,
        "status": execution.status,
        "start_timestamp": execution.started_at.isoformat() if execution.started_at else None,
        "action_name": execution.action_ref.split(".", 1)[-1],
        "action_ref": execution.action_ref,
        "runner_ref": execution.action_snapshot.get("runner_type", ""),
        "parameters": execution.masked_parameters(),
        "result": execution.result,
    }
    dispatch_trigger(
        ACTION_TRIGGER, payload, source=TriggerSource.ACTION, source_detail=str(execution.pk)
    )


def get_execution(execution_id: int) -> Execution:
    execution = Execution.objects.filter(pk=execution_id).first()
    if execution is None:
        raise NotFound(f"execution {execution_id} does not exist")
    return execution


def cancel_execution(execution_id: int, *, user=None) -> Execution:
    """Cancel an execution: at once if it has not started, else ask its worker to stop it."""
    execution = get_execution(execution_id)
    if execution.is_terminal:
        raise Conflict(f"execution {execution_id} already finished ({execution.status})")
    with transaction.atomic():
        runner_type = execution.action_snapshot.get("runner_type")
        if transition(execution_id, S.CANCELED, only_from=WAITING_TO_RUN, error="canceled"):
            record_event(AuditAction.CANCEL, "execution", execution_id, actor=user)
            logger.info(
                "execution_id=%s canceled before start by user_id=%s",
                execution_id,
                getattr(user, "pk", None),
            )
        elif runner_type == INQUIRER_RUNNER and transition(
            execution_id, S.CANCELED, only_from=[S.PENDING], error="canceled"
        ):
            # Nobody runs a waiting question: it is withdrawn at once.
            record_event(AuditAction.CANCEL, "execution", execution_id, actor=user)
            Inquiry.objects.filter(pk=execution_id, status=InquiryStatus.PENDING).update(
                status=InquiryStatus.CANCELED
            )
        elif transition(execution_id, S.CANCELING, only_from=CANCELABLE - WAITING_TO_RUN):
            record_event(AuditAction.CANCEL, "execution", execution_id, actor=user)
            publish_on_commit(cancel_channel(), str(execution_id))
            if runner_type == WORKFLOW_RUNNER:
                enqueue_on_commit(ADVANCE_WORKFLOW_TASK, execution_id, {"type": "cancel"})
            logger.info(
                "execution_id=%s canceling by user_id=%s", execution_id, getattr(user, "pk", None)
            )
    execution.refresh_from_db()
    if execution.status not in (S.CANCELED, S.CANCELING):
        raise Conflict(f"execution {execution_id} cannot be canceled ({execution.status})")
    return execution


def cancel_executions_requested_by(user) -> list[int]:
    """Cancel every execution `user` requested that can still run (deleting a user): with the
    user gone, a delayed execution or a workflow's next task would run as no one, that is with
    the installation's rights. Returns the ids canceled or being canceled."""
    unfinished = Execution.objects.filter(created_by=user, status__in=CANCELABLE).order_by("pk")
    canceled = []
    for execution_id in unfinished.values_list("pk", flat=True):
        try:
            cancel_execution(execution_id)
        except Conflict:
            continue  # it finished meanwhile (or its workflow's cancel got there first)
        canceled.append(execution_id)
    return canceled


def rerun_execution(execution_id: int, *, user=None, parameters: dict | None = None) -> Execution:
    """Request the same action again with the same parameters, optionally overridden."""
    original = get_execution(execution_id)
    supplied = open_secrets(original.supplied_parameters, original.secret_parameter_names())
    values = {**supplied, **(parameters or {})}
    return request_execution(
        original.action_ref,
        values,
        user=user,
        context=original.context,
        rerun_of=original,
    )


def reap_abandoned_executions() -> list[int]:
    """Mark running executions whose worker stopped sending heartbeats as abandoned."""
    deadline = timezone.now() - timedelta(seconds=settings.ATTUNE_ABANDON_AFTER_SECONDS)
    stale = Execution.objects.filter(
        status__in=[S.RUNNING, S.CANCELING], heartbeat_at__lt=deadline
    ).values_list("pk", "status")
    reaped = []
    for execution_id, status in stale:
        target = S.CANCELED if status == S.CANCELING else S.ABANDONED
        if transition(execution_id, target, only_from=[status], error="worker stopped responding"):
            reaped.append(execution_id)
    if reaped:
        logger.warning("abandoned executions of dead workers: %s", reaped)
    return reaped


def redispatch_requested_executions() -> list[int]:
    """Queue again executions still `requested` long after they were sent (lost message)."""
    now = timezone.now()
    deadline = now - timedelta(seconds=settings.ATTUNE_REDISPATCH_AFTER_SECONDS)
    lost = list(
        Execution.objects.filter(status=S.REQUESTED, dispatched_at__lt=deadline)
        .order_by("pk")
        .values_list("pk", "action_snapshot__runner_type")[:1000]
    )
    for execution_id, runner_type in lost:
        with transaction.atomic():
            updated = Execution.objects.filter(
                pk=execution_id, status=S.REQUESTED, dispatched_at__lt=deadline
            ).update(dispatched_at=now)
            if updated:
                enqueue_on_commit(start_task({"runner_type": runner_type}), execution_id)
    if lost:
        logger.warning("re-dispatched executions left in requested: %s", [pk for pk, _ in lost])
    return [pk for pk, _ in lost]
