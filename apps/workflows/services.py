"""Start, advance, pause, resume and re-run Orquesta workflow executions.

A workflow is an Execution whose tasks are child executions. Nothing waits in a worker: the
control queue runs `start_workflow` once, then `advance_workflow` each time something happens
(a child reached a terminal status or paused, a delay elapsed, a cancel was asked). Each event
locks the WorkflowExecution row, hands the event to the pure conductor, performs what it asks
and saves its state in the same transaction; messages to Celery leave after commit.
"""

import logging
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.exceptions import AttuneError, Conflict, InvalidInput, NotFound
from apps.core.services import enqueue_on_commit
from apps.datastore.templates import Datastore
from apps.executions.choices import TERMINAL, WAITING_TO_RUN, ExecutionStatus
from apps.executions.models import Execution
from apps.executions.services import (
    ADVANCE_WORKFLOW_TASK,
    cancel_execution,
    dispatched_together,
    finish_execution,
    request_execution,
    transition,
)
from apps.packs.archive import ArchiveInvalid, read_archive_file
from apps.packs.models import PackContent
from apps.workflows.conductor import Conductor, LaunchError, arrival_can_wait, waiting_on
from apps.workflows.models import TaskExecution, WorkflowExecution
from apps.workflows.spec import WorkflowInvalid, parse_workflow

logger = logging.getLogger(__name__)
S = ExecutionStatus
# Children that will not wake their workflow soon: finished ones, and those waiting for people
# (a pending inquiry, a workflow paused on one), which may take hours.
NOT_WAKING_SOON = frozenset({*TERMINAL, S.PENDING, S.PAUSED})


class DefinitionError(Exception):
    """The workflow definition of an execution cannot be loaded."""


@lru_cache(maxsize=256)
def load_definition(content_sha256: str, entry_point: str) -> dict:
    """The parsed definition in a pack's stored content (immutable per hash, so cached)."""
    archive = PackContent.objects.filter(sha256=content_sha256).values_list("archive", flat=True)
    if not archive:
        raise DefinitionError(f"pack content {content_sha256[:12]} is not stored")
    try:
        text = read_archive_file(bytes(archive[0]), f"actions/{entry_point}")
        return parse_workflow(text.decode("utf-8"))
    except (ArchiveInvalid, UnicodeDecodeError, WorkflowInvalid) as exc:
        raise DefinitionError(f"workflow actions/{entry_point}: {exc}") from exc


class DatabaseEffects:
    """Carries out the conductor's requests for one workflow execution."""

    def __init__(self, execution: Execution):
        self.execution = execution
        # `st2kv()` reads the requester's keys; what it decrypts may only reach secret
        # parameters of the tasks' actions (request_execution refuses it elsewhere).
        self.datastore = Datastore(execution.created_by)

    def launch(self, task: dict, index: int, action: str, parameters: dict) -> int:
        context = {key: v for key, v in self.execution.context.items() if key != "rerun"}
        context["workflow"] = {
            "execution_id": self.execution.pk,
            "task": task["name"],
            "task_id": task["id"],
            "item": index,
        }
        try:
            child = request_execution(
                action,
                parameters,
                user=self.execution.created_by,
                parent=self.execution,
                context=context,
                revealed_secrets=self.datastore.revealed,
            )
        except AttuneError as exc:
            raise LaunchError(exc.detail) from exc
        return child.pk

    def start_timer(self, task_id: int, seconds: float, token: str) -> None:
        event = {"type": "timer", "task_id": task_id, "token": token}
        enqueue_on_commit(ADVANCE_WORKFLOW_TASK, self.execution.pk, event, countdown=seconds)

    def cancel_child(self, execution_id: int) -> None:
        try:
            cancel_execution(execution_id)
        except Conflict:
            pass  # it finished meanwhile; its own event will arrive

    def pause_child(self, execution_id: int) -> None:
        """Pause a child workflow (an action child just runs to its end)."""
        if WorkflowExecution.objects.filter(pk=execution_id).exists():
            try:
                pause_workflow(execution_id)
            except Conflict:
                pass  # it is finishing or already pausing; its own event will arrive

    def resume_child(self, execution_id: int) -> None:
        if WorkflowExecution.objects.filter(pk=execution_id).exists():
            try:
                resume_workflow(execution_id)
            except Conflict:
                pass  # it was not paused (it finished, or was resumed directly)


def start_workflow(execution_id: int) -> None:
    """Claim a requested workflow execution and start its first tasks (safe to run twice)."""
    with transaction.atomic():
        now = timezone.now()
        if not transition(execution_id, S.RUNNING, only_from=WAITING_TO_RUN, started_at=now):
            logger.info("execution_id=%s not claimable, workflow not started", execution_id)
            return
        execution = Execution.objects.select_related("created_by").get(pk=execution_id)
        try:
            spec, rerun = definition_for(execution)
        except DefinitionError as exc:
            error = str(exc)
            finish_execution(execution_id, S.FAILED, error=error, result={"errors": [error]})
            return
        workflow = WorkflowExecution.objects.create(
            execution=execution, spec=spec, status=S.RUNNING
        )
        conductor = Conductor(spec, None, DatabaseEffects(execution))
        with dispatched_together():
            if rerun:
                conductor.start_from(execution.parameters, rerun)
            else:
                conductor.start(execution.parameters)
            save(workflow, conductor)
    logger.info("execution_id=%s workflow started", execution_id)


def definition_for(execution: Execution) -> tuple[dict, list | None]:
    """The definition to run and, for a re-run, the tasks to start from."""
    rerun = execution.context.get("rerun")
    if rerun:
        original = WorkflowExecution.objects.get(pk=rerun["of"])
        return original.spec, rerun_tasks(original, rerun["tasks"], rerun["reset"])
    snapshot = execution.action_snapshot
    return load_definition(snapshot["content_sha256"], snapshot["entry_point"]), None


def advance_workflow(execution_id: int, event: dict, *, only_if_last: bool = False) -> bool:
    """Hand one event to the workflow's conductor; an engine error fails the workflow rather
    than leaving it waiting forever.

    With `only_if_last` (an actions worker advancing the workflow of the child it just
    finished) nothing is done and False is returned while other children the workflow waits on
    are still active: the caller then queues the event, and the events worker handles such
    events in batches instead of one pass per branch waiting in line on the row lock. The last
    branch to finish advances the workflow itself: queueing would only add a hop before a join.
    """
    try:
        return apply_event(execution_id, event, only_if_last)
    except Exception as exc:  # noqa: BLE001 - an engine bug must not strand the workflow
        logger.exception("execution_id=%s workflow engine error on %s", execution_id, event)
        abort_workflow(execution_id, f"workflow engine error: {type(exc).__name__}: {exc}")
        return True


def apply_event(execution_id: int, event: dict, only_if_last: bool = False) -> bool:
    """Hand one event to the workflow's conductor under a row lock and act on the outcome;
    False, without doing anything, when `only_if_last` and other children are still active."""
    if event["type"] == "child":
        verdict = triage_child_event(execution_id, event["execution_id"], only_if_last)
        if verdict is not None:
            return verdict
    with transaction.atomic():
        workflow = (
            WorkflowExecution.objects.select_for_update(of=("self",))
            .select_related("execution__created_by")
            .filter(pk=execution_id)
            .first()
        )
        if workflow is None or workflow.status in TERMINAL:
            return True
        conductor = Conductor(workflow.spec, workflow.state, DatabaseEffects(workflow.execution))
        with dispatched_together():
            handle_event(conductor, event)
            if conductor.changed or conductor.reported_status != workflow.status:
                save(workflow, conductor)
    return True


def triage_child_event(execution_id: int, child_id: int, only_if_last: bool) -> bool | None:
    """Decide without the row lock what a finished child's event needs: a pass now (None);
    nothing, because a pass already handled it or a sibling still running will (True); or,
    with `only_if_last`, a pass by the events worker (False).

    A child, once handled, never waits again, so a child the committed state does not wait on
    is final: the later events of children an earlier pass handled together cost one read and
    never queue on the row lock. With `only_if_last` (an actions worker, right after the
    child's finish), a child with no sibling about to finish (a sequence's step, a fan-out's
    last branch) costs one indexed read before its pass; a fan-out's other branches, two.
    """
    if not only_if_last:
        row = committed(execution_id, "state")
        return True if row is None or child_id not in waiting_on(row[0]) else None
    statuses = child_and_active_siblings(execution_id, child_id)
    active = set(statuses) - {child_id}
    if not active or child_id not in statuses:
        return None
    row = committed(execution_id, "state", "spec")
    if row is None:
        return True
    state, spec = row
    waiting = waiting_on(state)
    if child_id not in waiting:
        return True
    active &= set(waiting)
    if not active:
        return None
    return arrival_can_wait(spec, state, child_id, statuses[child_id], active)


def child_and_active_siblings(execution_id: int, child_id: int) -> dict[int, str]:
    """{id: status} of the child and of its siblings about to finish (not waiting on people)."""
    children = Execution.objects.filter(parent_id=execution_id)
    rows = children.filter(Q(pk=child_id) | ~Q(status__in=NOT_WAKING_SOON))
    return dict(rows.values_list("pk", "status"))


def committed(execution_id: int, *fields: str) -> tuple | None:
    """`fields` of a workflow still running, read without the lock (None: gone or finished)."""
    row = WorkflowExecution.objects.filter(pk=execution_id).values_list("status", *fields).first()
    return None if row is None or row[0] in TERMINAL else row[1:]


def abort_workflow(execution_id: int, error: str) -> None:
    """Fail a workflow the engine cannot advance, and cancel the children it waits on."""
    with transaction.atomic():
        workflow = locked_workflow(execution_id)
        if workflow.status in TERMINAL:
            return
        waiting = Conductor(workflow.spec, workflow.state, effects=None).waiting_on()
        workflow.state["errors"].append({"type": "error", "message": error})
        workflow.state["status"] = workflow.status = S.FAILED
        workflow.save(update_fields=["state", "status", "updated_at"])
        for child_id in waiting:
            DatabaseEffects(workflow.execution).cancel_child(child_id)
        result = {"output": None, "errors": workflow.mask(workflow.state["errors"])}
        transition(execution_id, S.RESUMING, only_from=[S.PAUSED])  # paused cannot fail
        finish_execution(execution_id, S.FAILED, result=result, error=error)


def handle_event(conductor: Conductor, event: dict) -> None:
    kind = event["type"]
    if kind == "child":
        report_children(conductor, event["execution_id"])
    elif kind == "timer":
        conductor.on_timer(event["task_id"], event["token"])
    elif kind == "cancel":
        conductor.cancel()
    else:
        logger.warning("unknown workflow event %r", event)


def report_children(conductor: Conductor, execution_id: int) -> None:
    """Tell the conductor about every child it waits on that has moved on, not only the one
    that sent the event: children finishing together are handled by the first event, and the
    events that follow find nothing to do and write nothing."""
    waiting = conductor.waiting_on()
    if execution_id not in waiting:
        return  # already handled
    moved = (
        Execution.objects.filter(pk__in=list(waiting))
        .filter(status__in=[*TERMINAL, S.PAUSED, S.PENDING, S.RUNNING])
        .order_by("pk")
        .values_list("pk", "status", "result")
    )
    for child_id, status, result in moved:
        task_id, index = waiting[child_id]
        conductor.on_child(task_id, index, child_id, status, result)


def save(workflow: WorkflowExecution, conductor: Conductor) -> None:
    """Store the conductor's state, the changed task records, and mirror the status."""
    previous, status = workflow.status, conductor.reported_status
    save_tasks(workflow, conductor)
    conductor.compact()
    workflow.state = conductor.state
    workflow.status = status
    workflow.save(update_fields=["state", "status", "updated_at"])
    if status != previous or status in TERMINAL:
        mirror_status(workflow, conductor)


TASK_RECORD_FIELDS = ["status", "executions", "published", "items", "result", "attempt"]


def save_tasks(workflow: WorkflowExecution, conductor: Conductor) -> None:
    """Write the task records the event changed: one INSERT for all new ones, one UPDATE for
    the others (a join's pass changes every branch)."""
    created, updated = [], {}
    for task_id in sorted(conductor.changed):
        task = conductor.state["tasks"][str(task_id)]
        spec = workflow.spec["tasks"][task["name"]]
        items_state = task.get("items_state") or []
        fields = {
            "status": task["status"],
            "executions": [s["execution_id"] for s in items_state if s["execution_id"]],
            "published": task["published"],
            "items": task.get("items") if spec["with"] else None,
            "result": task["result"],
            "attempt": task["attempt"],
        }
        if task_id in conductor.created:
            created.append(
                TaskExecution(
                    workflow=workflow,
                    task_id=task_id,
                    name=task["name"],
                    action_ref=spec["action"] or "",
                    context=task["ctx"],
                    **fields,
                )
            )
        else:
            updated[task_id] = fields
    TaskExecution.objects.bulk_create(created)
    update_task_records(workflow, updated)


def update_task_records(workflow: WorkflowExecution, updated: dict[int, dict]) -> None:
    """One statement run for every changed record (psycopg pipelines it): a join's pass changes
    every branch, and Django's `bulk_update` (a CASE per field and row) cost more CPU than the
    rest of the pass."""
    if not updated:
        return
    connection = connections[TaskExecution.objects.db]
    quote = connection.ops.quote_name
    fields = [TaskExecution._meta.get_field(name) for name in [*TASK_RECORD_FIELDS, "updated_at"]]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(TaskExecution._meta.db_table)} SET {assignments} "
        f"WHERE {quote('workflow_id')} = %s AND {quote('task_id')} = %s"
    )
    now = timezone.now()
    rows = [
        [
            field.get_db_prep_save({**values, "updated_at": now}[field.name], connection)
            for field in fields
        ]
        + [workflow.pk, task_id]
        for task_id, values in updated.items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def mirror_status(workflow: WorkflowExecution, conductor: Conductor) -> None:
    """Move the workflow's Execution to the status the conductor reports (a workflow paused on
    an inquiry resumes by itself once it is answered or times out)."""
    execution, status = workflow.execution, conductor.reported_status
    if status not in (S.PAUSING, S.PAUSED) and transition(
        execution.pk, S.RESUMING, only_from=[S.PAUSED]
    ):
        notify_parent(execution)  # a parent waiting on this paused child sees it run again
    if status in TERMINAL:
        result = workflow.mask(conductor.result())
        error = "; ".join(e["message"] for e in result["errors"])
        finish_execution(execution.pk, status, result=result, error=error)
    elif status == S.PAUSING:
        transition(execution.pk, S.PAUSING, only_from=[S.RUNNING, S.RESUMING])
    elif status == S.PAUSED:
        transition(execution.pk, S.PAUSING, only_from=[S.RUNNING, S.RESUMING])
        if transition(execution.pk, S.PAUSED, only_from=[S.PAUSING]):
            notify_parent(execution)
    elif status == S.RUNNING:
        transition(execution.pk, S.RUNNING, only_from=[S.RESUMING, S.PAUSING])


def notify_parent(execution: Execution) -> None:
    """A paused (or resumed) child workflow tells its parent, which may be waiting on it."""
    if execution.parent_id:
        event = {"type": "child", "execution_id": execution.pk}
        enqueue_on_commit(ADVANCE_WORKFLOW_TASK, execution.parent_id, event)


def locked_workflow(execution_id: int) -> WorkflowExecution:
    workflow = (
        WorkflowExecution.objects.select_for_update(of=("self",))
        .select_related("execution__created_by")
        .filter(pk=execution_id)
        .first()
    )
    if workflow is None:
        if Execution.objects.filter(pk=execution_id).exists():
            raise Conflict(f"execution {execution_id} is not a running workflow")
        raise NotFound(f"execution {execution_id} does not exist")
    return workflow


def pause_workflow(execution_id: int, *, user=None) -> WorkflowExecution:
    """Start no new task; paused once the running ones (and child workflows) have stopped."""
    with transaction.atomic():
        workflow = locked_workflow(execution_id)
        if workflow.status != S.RUNNING:
            raise Conflict(f"workflow {execution_id} cannot be paused ({workflow.status})")
        conductor = Conductor(workflow.spec, workflow.state, DatabaseEffects(workflow.execution))
        conductor.pause()
        save(workflow, conductor)
    logger.info("execution_id=%s pause by user_id=%s", execution_id, getattr(user, "pk", None))
    return workflow


def resume_workflow(execution_id: int, *, user=None) -> WorkflowExecution:
    """Continue a paused (or pausing) workflow where it stopped, child workflows included."""
    with transaction.atomic():
        workflow = locked_workflow(execution_id)
        if workflow.status not in (S.PAUSED, S.PAUSING):
            raise Conflict(f"workflow {execution_id} is not paused ({workflow.status})")
        transition(execution_id, S.RESUMING, only_from=[S.PAUSED])
        conductor = Conductor(workflow.spec, workflow.state, DatabaseEffects(workflow.execution))
        with dispatched_together():
            conductor.resume()
            save(workflow, conductor)
        if workflow.execution.parent_id and conductor.reported_status == S.RUNNING:
            notify_parent(workflow.execution)
    logger.info("execution_id=%s resume by user_id=%s", execution_id, getattr(user, "pk", None))
    return workflow


def rerun_workflow(
    execution_id: int, *, tasks: list[str], reset: list[str] | None = None, user=None
) -> Execution:
    """Run a finished workflow again from the given tasks, with the context they had.

    With-items tasks re-run only their failed items unless named in `reset`.
    """
    workflow = WorkflowExecution.objects.select_related("execution").filter(pk=execution_id)
    workflow = workflow.first()
    if workflow is None:
        raise NotFound(f"workflow execution {execution_id} does not exist")
    if workflow.status not in TERMINAL:
        raise Conflict(f"workflow {execution_id} has not finished ({workflow.status})")
    reset = reset or []
    known = set(workflow.tasks.values_list("name", flat=True))
    unknown = [name for name in [*tasks, *reset] if name not in known]
    if not tasks or unknown:
        message = f"tasks to re-run must be tasks this workflow ran; unknown: {unknown}"
        raise InvalidInput(message if tasks else "name at least one task to re-run")
    original = workflow.execution
    context = {**original.context, "rerun": {"of": original.pk, "tasks": tasks, "reset": reset}}
    return request_execution(
        original.action_ref,
        original.supplied_parameters,
        user=user,
        context=context,
        rerun_of=original,
    )


def rerun_tasks(original: WorkflowExecution, names: list[str], reset: list[str]) -> list[dict]:
    """The latest instance of each named task: the context it started with and, unless reset,
    the results of its items that succeeded."""
    latest = {record.name: record for record in original.tasks.filter(name__in=names)}
    found = []
    for name in names:
        record = latest[name]
        done = {}
        if name not in reset and original.spec["tasks"][name]["with"]:
            items_state = original.state["tasks"][str(record.task_id)].get("items_state") or []
            for index, item in enumerate(items_state):
                if item["status"] == "succeeded":
                    done[index] = item["result"]
        found.append({"name": name, "ctx": record.context, "done_items": done})
    return found


def resync_workflows() -> list[int]:
    """Wake workflows that missed an event: a child's (a lost message, a crashed engine
    process) or a delay's (a countdown message held by a worker that died).

    A workflow idle for a while gets the event again; handling one twice is harmless.
    """
    grace = settings.ATTUNE_REDISPATCH_AFTER_SECONDS
    deadline = timezone.now() - timedelta(seconds=grace)
    stale = WorkflowExecution.objects.filter(
        status__in=[S.RUNNING, S.PAUSING, S.CANCELING], updated_at__lt=deadline
    ).only("pk", "spec", "state", "status")[:1000]
    woken = []
    for workflow in stale:
        conductor = Conductor(workflow.spec, workflow.state, effects=None)
        events = [
            {"type": "timer", "task_id": task_id, "token": token}
            for task_id, token in conductor.overdue_timers(grace)
        ]
        waiting = conductor.waiting_on()
        finished = (
            Execution.objects.filter(pk__in=list(waiting), status__in=TERMINAL)
            .values_list("pk", flat=True)
            .first()
        )
        if finished is not None:
            events.append({"type": "child", "execution_id": finished})
        for event in events:
            enqueue_on_commit(ADVANCE_WORKFLOW_TASK, workflow.pk, event)
        if events:
            woken.append(workflow.pk)
    if woken:
        logger.warning("re-sent missed events to workflows %s", woken)
    return woken
