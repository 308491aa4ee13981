"""Run one execution on this worker: claim it, hand it to its runner, record the outcome."""

import logging
import os
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from celery.worker import state as worker_state
from django.conf import settings
from django.db import connection

from apps.actions.runner_types import RUNNER_TYPES
from apps.core.services import enqueue_on_commit, send_task
from apps.datastore.revealed import take_revealed
from apps.datastore.tokens import execution_token
from apps.executions.masking import mask_secret_values
from apps.executions.models import Execution
from apps.executions.output import OutputRecorder
from apps.executions.sealing import open_secrets
from apps.executions.services import (
    ADVANCE_WORKFLOW_TASK,
    PARENT_NOTIFIED_BY_WORKER,
    RUN_HERE,
    RUN_TASK,
    claim_execution,
    finish_execution,
    record_heartbeat,
)
from apps.runtimes.services import spec_for_kind
from apps.workflows.services import advance_workflow
from workers.cancellation import watch_for_cancel
from workers.environments import (
    EnvironmentUnavailable,
    environment_for,
    environment_path,
    is_built,
)
from workers.pack_cache import pack_directory
from workers.runners.base import Limits, RunRequest, RunResult, get_runner

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ExecutionControl:
    """The runner's line back to the platform while an execution runs."""

    execution_id: int
    cancel_fd: int
    heartbeat_seconds: float
    recorder: OutputRecorder

    def heartbeat(self) -> None:
        record_heartbeat(self.execution_id)

    def output(self, stream: str, chunk: bytes) -> None:
        self.recorder.write(stream, chunk)


def run_execution(execution_id: int) -> None:
    """Run the execution if it is still waiting, then any workflow step handed back to this
    thread by the pass its finish triggered (see RUN_HERE)."""
    next_id = run_one(execution_id)
    while next_id is not None:
        if worker_stopping():  # a warm shutdown waits for this thread: leave the rest queued
            send_task(RUN_TASK, (next_id,), {})
            return
        next_id = run_one(next_id)


def worker_stopping() -> bool:
    """Whether a warm or cold shutdown of this worker has begun (Celery's own test: the flags
    hold an exit code, 0 included)."""
    flags = (worker_state.should_stop, worker_state.should_terminate)
    return any(flag is not None and flag is not False for flag in flags)


def run_one(execution_id: int) -> int | None:
    """Run one execution; a no-op when another worker claimed it. Returns the next workflow
    step to run here, if its finish handed one back."""
    with watch_for_cancel(execution_id) as cancel_fd:
        execution = claim_execution(execution_id, worker_name())
        if execution is None:
            logger.info("execution_id=%s not claimable, skipped", execution_id)
            return None
        recorder = OutputRecorder(
            execution, secret_values(execution), settings.ATTUNE_OUTPUT_MAX_BYTES
        )
        control = ExecutionControl(
            execution_id, cancel_fd, settings.ATTUNE_HEARTBEAT_SECONDS, recorder
        )
        try:
            request = build_request(execution, control)
            result = get_runner(request.runner_type).run(request, control)
        except EnvironmentUnavailable as exc:
            result = RunResult.failure(str(exc))
        except Exception as exc:  # noqa: BLE001 - a runner bug must not strand the execution
            logger.exception("execution_id=%s runner error", execution_id)
            result = RunResult.failure(f"runner error: {type(exc).__name__}: {exc}")
        finished = record_result(execution, result)
    if finished and execution.parent_id is not None:
        return advance_parent(execution)
    return None


def advance_parent(execution: Execution) -> int | None:
    """Hand the finished child's event to its workflow from here (the finish sent none), and
    return the next step the pass handed back to this thread, if any.

    When no other child of the workflow is still active, advance it in this process: under
    load every hand-off between processes waits for a CPU, and the hop to the events worker sat
    between each workflow step (or a join's last branch) and the next task. A fan-out branch
    whose finish starts nothing yet (it only reaches a join others have not) leaves the pass to
    the last branch. Otherwise queue the event: the events worker handles those in batches,
    where ten workers would each run a pass in line on the row lock.
    """
    event = {"type": "child", "execution_id": execution.pk}
    run_here: list[int] = []
    handing_back = RUN_HERE.set(None if worker_stopping() else run_here)
    try:
        handled = advance_workflow(execution.parent_id, event, only_if_last=True)
    except Exception:  # noqa: BLE001 - the events worker tries again
        logger.exception("execution_id=%s could not advance its workflow", execution.pk)
        handled = False
    finally:
        RUN_HERE.reset(handing_back)
    if not handled:
        enqueue_on_commit(ADVANCE_WORKFLOW_TASK, execution.parent_id, event)
    return run_here[0] if run_here else None


def build_request(execution: Execution, control: ExecutionControl) -> RunRequest:
    snapshot = execution.action_snapshot
    runner_type = RUNNER_TYPES[snapshot["runner_type"]]
    runner_names = set(runner_type.parameters)
    runner = get_runner(runner_type.name)
    pack_dir = entry_point = environment = None
    if runner.needs_pack:
        pack_dir = pack_directory(snapshot["content_sha256"])
        entry_point = pack_dir / "actions" / snapshot["entry_point"]
    if runner.environment_kind:
        environment = pack_environment(runner.environment_kind, snapshot["pack"], pack_dir, control)
    values = open_secrets(execution.parameters, execution.secret_parameter_names())
    return RunRequest(
        execution_id=execution.pk,
        action_ref=execution.action_ref,
        runner_type=runner_type.name,
        parameters={k: v for k, v in values.items() if k not in runner_names},
        runner_parameters={k: v for k, v in values.items() if k in runner_names},
        secret_parameters=frozenset(snapshot.get("secret_parameters", [])),
        positions=snapshot.get("positions", {}),
        context=execution.context or {},
        limits=Limits(
            output_max_bytes=settings.ATTUNE_OUTPUT_MAX_BYTES,
            result_max_bytes=settings.ATTUNE_RESULT_MAX_BYTES,
            kill_grace_seconds=settings.ATTUNE_KILL_GRACE_SECONDS,
        ),
        pack_dir=pack_dir,
        entry_point=entry_point,
        datastore_access=datastore_access(execution) if runner.uses_datastore else None,
        environment=environment,
    )


def datastore_access(execution: Execution) -> dict:
    return {"url": settings.ATTUNE_API_URL, "token": execution_token(execution.pk)}


def secret_values(execution: Execution) -> list:
    names = execution.secret_parameter_names()
    values = open_secrets(execution.parameters, names)
    return [values[name] for name in names if name in values]


def pack_environment(kind: str, pack_ref: str, pack_dir, control: ExecutionControl):
    """The pack's environment of `kind` on this machine, built first if needed."""
    spec = spec_for_kind(kind, pack_dir)
    if spec is None:
        return None
    path = environment_path(spec)
    if is_built(path):
        return path
    with heartbeats(control):
        return environment_for(pack_ref, spec)


@contextmanager
def heartbeats(control: ExecutionControl):
    """Keep the execution's heartbeat going while this thread is busy (building the pack's
    environment can take minutes, longer than the reaper waits)."""
    done = threading.Event()

    def beat():
        try:
            while not done.wait(control.heartbeat_seconds):
                control.heartbeat()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, daemon=True, name="heartbeat")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def record_result(execution: Execution, result: RunResult) -> bool:
    """Finish the execution with the runner's result; False if it was finished elsewhere."""
    secrets = secret_values(execution)
    if get_runner(execution.action_snapshot["runner_type"]).uses_datastore:
        secrets += take_revealed(execution.pk)  # what the action decrypted from the datastore
    notifying = PARENT_NOTIFIED_BY_WORKER.set(execution.parent_id is not None)  # advance_parent
    try:
        finished = finish_execution(
            execution.pk,
            result.status,
            result=mask_secret_values(result.result, secrets),
            stdout=mask_secret_values(result.stdout, secrets),
            stderr=mask_secret_values(result.stderr, secrets),
            exit_code=result.exit_code,
            error=mask_secret_values(result.error, secrets),
        )
    finally:
        PARENT_NOTIFIED_BY_WORKER.reset(notifying)
    if not finished:
        logger.warning("execution_id=%s finished elsewhere; result dropped", execution.pk)
    return finished
