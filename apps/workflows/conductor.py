"""The workflow conductor: given a definition, its state and an event, decide what happens next.

Pure and DB-free. The state is one JSON-serializable dict; the caller loads it under a row lock,
calls one event method (`start`, `on_child`, `on_timer`, `pause`, `resume`, `cancel`, ...), and
saves it. Side effects (requesting a child execution, arming a timer, canceling or pausing a
child) go through the `effects` object the caller provides, so unit tests pass a fake.

Semantics follow Orquesta: tasks without inbound transitions start; a finished task evaluates
its transitions in order (`when`, then `publish`, then `do`); without `join` every inbound
transition starts a new task instance, with `join` the task is a barrier; contexts are per branch
and merged at joins (last writer wins); a failed task without a remediating transition fails the
workflow fail-fast: nothing new starts, running tasks finish, then the workflow fails.
"""

import time
from collections import deque
from typing import Protocol

from apps.workflows.expressions import (
    COMPLETED_STATUSES,
    FAILED_STATUSES,
    ExpressionError,
    Scope,
    evaluate,
)
from apps.workflows.spec import inbound_transitions, start_tasks

RUNNING, PAUSING, PAUSED, PENDING = "running", "pausing", "paused", "pending"
CANCELING, CANCELED = "canceling", "canceled"
SUCCEEDED, FAILED = "succeeded", "failed"
WORKFLOW_TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})
# Task instance statuses besides the completed ones.
DELAYED, HELD = "delayed", "pending"
# Item statuses besides the completed ones.
WAITING, ITEM_RUNNING, ITEM_PAUSED = "waiting", "running", "paused"
ITEM_PENDING = "pending"  # its child waits for an answer (an inquiry)
# Items whose child is still active: the workflow waits on them.
ACTIVE_ITEMS = (ITEM_RUNNING, ITEM_PAUSED, ITEM_PENDING)
ENGINE_RETRY_COUNT = 3


class LaunchError(Exception):
    """A child execution could not be requested (unknown action, refused parameters...)."""


class Effects(Protocol):
    def launch(self, task: dict, index: int, action: str, parameters: dict) -> int: ...

    def start_timer(self, task_id: int, seconds: float, token: str) -> None: ...

    def cancel_child(self, execution_id: int) -> None: ...

    def pause_child(self, execution_id: int) -> None: ...

    def resume_child(self, execution_id: int) -> None: ...


class Conductor:
    """Drives one workflow execution's state."""

    def __init__(self, spec: dict, state: dict | None, effects: Effects | None, clock=time.time):
        self.spec = spec
        self.state = state if state is not None else new_state()
        self.effects = effects
        self.datastore = getattr(effects, "datastore", None)
        self.clock = clock
        self.inbound = inbound_transitions(spec)
        self.changed: set[int] = set()  # task ids whose record changed during this event
        self.created: set[int] = set()  # task ids created during this event
        self._ready: deque[int] = deque()

    # ----- events -------------------------------------------------------------------------

    @property
    def status(self) -> str:
        return self.state["status"]

    @property
    def reported_status(self) -> str:
        """The status the workflow shows: while running, one waiting for an answer (an inquiry
        of its own, or a child workflow paused on one) is `pausing` as long as other branches
        are busy, then `paused`. Unlike a pause, its other branches keep running."""
        if self.status != RUNNING:
            return self.status
        tasks = self.active_tasks()
        items = [item for task in tasks for item in task.get("items_state") or []]
        if not any(item["status"] in (ITEM_PENDING, ITEM_PAUSED) for item in items):
            return RUNNING
        busy = any(item["status"] == ITEM_RUNNING for item in items) or any(
            task["status"] in (DELAYED, HELD) for task in tasks
        )
        return PAUSING if busy else PAUSED

    def start(self, inputs: dict) -> None:
        """Build the initial context from `input` and `vars`, then run the start tasks."""
        try:
            ctx = self.initial_context(inputs)
        except ExpressionError as exc:
            self.fail_workflow(f"input or vars: {exc}")
            self.finish_if_done()
            return
        self.state["root_ctx"] = ctx
        for name in start_tasks(self.spec):
            self.schedule(name, dict(ctx))
        self.drain()

    def start_from(self, inputs: dict, tasks: list[dict]) -> None:
        """Re-run: start from the given tasks ({"name", "ctx", "done_items"}) instead."""
        try:
            self.state["root_ctx"] = self.initial_context(inputs)
        except ExpressionError as exc:
            self.fail_workflow(str(exc))
            self.finish_if_done()
            return
        for entry in tasks:
            task = self.schedule(entry["name"], dict(entry["ctx"]))
            if task is not None:
                task["done_items"] = {str(k): v for k, v in entry.get("done_items", {}).items()}
        self.drain()

    def on_child(self, task_id: int, index: int, execution_id: int, status: str, result) -> None:
        """Child `execution_id`, run for item `index` of task `task_id`, reached `status`."""
        task = self.state["tasks"].get(str(task_id))
        if task is None or index >= len(task.get("items_state") or []):
            return
        item = task["items_state"][index]
        if item["execution_id"] != execution_id or item["status"] in COMPLETED_STATUSES:
            return  # a repeated delivery, or a child of an earlier attempt
        if status == PAUSED and item["status"] != ITEM_PAUSED:
            self.touch(task)
            item["status"] = ITEM_PAUSED
        elif status == PENDING and item["status"] != ITEM_PENDING:
            self.touch(task)
            item["status"] = ITEM_PENDING
        elif status == RUNNING and item["status"] != ITEM_RUNNING:
            self.touch(task)
            item["status"] = ITEM_RUNNING
        elif status in COMPLETED_STATUSES:
            self.touch(task)
            item.update(status=status, result=result)
            if self.status == RUNNING:
                self.launch_items(task)
            self.maybe_finish_task(task)
        self.drain()

    def on_timer(self, task_id: int, token: str) -> None:
        """A delay (task `delay` or retry `delay`) armed with `token` elapsed."""
        task = self.state["tasks"].get(str(task_id))
        if task is None or task.get("timer") != token or task["status"] != DELAYED:
            return
        task["timer"] = None
        self.touch(task)
        self.launch(task)
        self.drain()

    def pause(self) -> None:
        """Stop starting anything; paused once no child is running (child workflows pause too)."""
        if self.status != RUNNING:
            return
        self.state["status"] = PAUSING
        for _task, item in self.running_items():
            if item.get("execution_id"):
                self.effects.pause_child(item["execution_id"])
        self.finish_if_done()

    def resume(self) -> None:
        """Continue where the pause stopped: held tasks, remaining items, paused children."""
        if self.status not in (PAUSING, PAUSED):
            return
        self.state["status"] = RUNNING
        for task in self.active_tasks():
            for item in task.get("items_state") or []:
                if item["status"] == ITEM_PAUSED:
                    item["status"] = ITEM_RUNNING
                    self.effects.resume_child(item["execution_id"])
            if task["status"] == HELD:
                self.touch(task)
                self._ready.append(task["id"])
            elif task["status"] == RUNNING:
                self.launch_items(task)
                self.maybe_finish_task(task)
        self.drain()

    def cancel(self) -> None:
        """Cancel running children, start nothing new; canceled once no child is active."""
        if self.status in WORKFLOW_TERMINAL or self.status == CANCELING:
            return
        self.state["status"] = CANCELING
        for task in self.active_tasks():
            if task["status"] in (DELAYED, HELD):
                self.complete(task, CANCELED, None, evaluate_next=False)
                continue
            for item in task.get("items_state") or []:
                if item["status"] == WAITING:
                    item["status"] = CANCELED
                elif item["status"] in ACTIVE_ITEMS:
                    self.effects.cancel_child(item["execution_id"])
            self.maybe_finish_task(task)
        self.finish_if_done()

    # ----- scheduling ---------------------------------------------------------------------

    def initial_context(self, inputs: dict) -> dict:
        ctx: dict = {}
        for entry in self.spec["input"]:
            name = entry["name"]
            if name in inputs:
                ctx[name] = inputs[name]
            else:
                ctx[name] = evaluate(entry["default"], self.bare_scope(ctx))
        for name, value in self.spec["vars"]:
            ctx[name] = evaluate(value, self.bare_scope(ctx))
        return ctx

    def schedule(self, name: str, ctx: dict) -> dict | None:
        """Create a task instance (none once the workflow is failing or canceling)."""
        if self.state.get("failing") or self.status in (CANCELING, CANCELED):
            return None
        task_id = self.state["next_id"]
        self.state["next_id"] += 1
        task = {
            "id": task_id,
            "name": name,
            "status": HELD,
            "ctx": ctx,
            "attempt": 0,
            "items_state": None,
            "result": None,
            "published": {},
            "timer": None,
        }
        self.state["tasks"][str(task_id)] = task
        self.created.add(task_id)
        self.touch(task)
        delay = self.spec["tasks"][name]["delay"]
        if delay is None:
            self._ready.append(task_id)
        else:
            self.arm_delay(task, delay, f"{task_id}:delay")
        return task

    def arm_delay(self, task: dict, delay, token: str) -> None:
        try:
            seconds = float(evaluate(delay, self.scope(task)))
        except (ExpressionError, TypeError, ValueError) as exc:
            self.fail_task(task, f"delay of task {task['name']!r}: {exc}")
            return
        if seconds <= 0:
            self._ready.append(task["id"])
            return
        task.update(status=DELAYED, timer=token, due_at=self.clock() + seconds)
        self.effects.start_timer(task["id"], seconds, token)

    def drain(self) -> None:
        """Launch ready tasks; action-less tasks finish at once and may make more ready."""
        while self._ready:
            task = self.state["tasks"][str(self._ready.popleft())]
            if task["status"] in (HELD, DELAYED):
                self.launch(task)
        self.finish_if_done()

    def launch(self, task: dict) -> None:
        if self.status in (CANCELING, CANCELED):
            self.complete(task, CANCELED, None, evaluate_next=False)
            return
        if self.status != RUNNING:
            task["status"] = HELD  # started on resume
            return
        spec = self.spec["tasks"][task["name"]]
        if spec["action"] is None:
            task["status"] = RUNNING
            self.complete(task, SUCCEEDED, None)
            return
        try:
            items, concurrency = self.task_items(task, spec)
        except (ExpressionError, TypeError, ValueError) as exc:
            self.fail_task(task, f"with items of task {task['name']!r}: {exc}")
            return
        done = task.pop("done_items", None) or {}
        task["items_state"] = [
            {"status": SUCCEEDED, "result": done[str(i)], "execution_id": None}
            if str(i) in done
            else {"status": WAITING, "result": None, "execution_id": None}
            for i in range(len(items))
        ]
        task.update(status=RUNNING, items=items, concurrency=concurrency)
        self.launch_items(task)
        self.maybe_finish_task(task)

    def task_items(self, task: dict, spec: dict) -> tuple[list, int | None]:
        """The items to run (one None item without `with`) and the concurrency limit."""
        with_items = spec["with"]
        if with_items is None:
            return [None], None
        scope = self.scope(task)
        items = evaluate(with_items["items"], scope)
        if not isinstance(items, list | tuple):
            raise ExpressionError(f"items must be a list, got {type(items).__name__}")
        names = with_items["names"]
        if names and len(names) > 1:
            items = [dict(zip(names, row, strict=False)) for row in items]
        elif names:
            items = [{names[0]: value} for value in items]
        concurrency = with_items["concurrency"]
        if concurrency is not None:
            concurrency = int(evaluate(concurrency, scope))
        return list(items), concurrency

    def launch_items(self, task: dict) -> None:
        """Request children for waiting items, up to the concurrency limit."""
        if task["status"] != RUNNING or self.status != RUNNING:
            return
        states = task["items_state"]
        if any(s["status"] in FAILED_STATUSES for s in states):
            return  # a failed item fails the task: start no more of its items
        limit = task.get("concurrency") or len(states)
        active = sum(1 for s in states if s["status"] in ACTIVE_ITEMS)
        spec = self.spec["tasks"][task["name"]]
        for index, state in enumerate(states):
            if active >= limit:
                break
            if state["status"] != WAITING:
                continue
            item = task["items"][index]
            try:
                parameters = evaluate(spec["input"], self.scope(task, item=item))
                state["execution_id"] = self.effects.launch(task, index, spec["action"], parameters)
                state["status"] = ITEM_RUNNING
                active += 1
            except (ExpressionError, LaunchError) as exc:
                state.update(status=FAILED, result={"error": str(exc)})
                return
        self.touch(task)

    def maybe_finish_task(self, task: dict) -> None:
        if task["status"] != RUNNING:
            return
        states = task["items_state"]
        if any(s["status"] in ACTIVE_ITEMS for s in states):
            return
        failed = any(s["status"] in FAILED_STATUSES for s in states)
        canceled = any(s["status"] == CANCELED for s in states)
        if not failed and not canceled and any(s["status"] == WAITING for s in states):
            return  # more items to run (held by a pause)
        results = [s["result"] for s in states]
        result = results if self.spec["tasks"][task["name"]]["with"] else results[0]
        status = FAILED if failed else CANCELED if canceled else SUCCEEDED
        if status == FAILED:
            status = next(s["status"] for s in states if s["status"] in FAILED_STATUSES)
        self.complete(task, status, result)

    # ----- completion ---------------------------------------------------------------------

    def complete(self, task: dict, status: str, result, *, evaluate_next: bool = True) -> None:
        """Record the outcome of a task instance, retry it, or follow its transitions."""
        self.touch(task)
        task.update(status=status, result=result)
        if not evaluate_next or status == CANCELED:
            return
        if self.should_retry(task, self.spec["tasks"][task["name"]]["retry"]):
            return
        self.follow_transitions(task)

    def should_retry(self, task: dict, retry: dict | None, *, forced: bool = False) -> bool:
        if retry is None or self.status != RUNNING:
            return False
        scope = self.scope(task, result=task["result"], status=task["status"])
        try:
            wanted = forced or (
                evaluate(retry["when"], scope)
                if retry["when"] is not None
                else task["status"] in FAILED_STATUSES
            )
            count = int(evaluate(retry["count"], scope))
        except (ExpressionError, TypeError, ValueError) as exc:
            self.add_error(f"retry of task {task['name']!r}: {exc}", task)
            return False
        if not wanted or task["attempt"] >= count:
            return False
        task["attempt"] += 1
        task["items_state"] = None
        task["status"] = HELD
        if retry.get("delay"):
            self.arm_delay(task, retry["delay"], f"{task['id']}:retry{task['attempt']}")
        else:
            self._ready.append(task["id"])
        return True

    def follow_transitions(self, task: dict) -> None:
        name, ctx = task["name"], dict(task["ctx"])
        scope = self.scope(task, result=task["result"], status=task["status"])
        remediated = continued = False
        for index, transition in enumerate(self.spec["tasks"][name]["next"]):
            try:
                if transition["when"] is not None and not evaluate(transition["when"], scope):
                    continue
                for key, value in transition["publish"]:
                    ctx[key] = evaluate(value, Scope(**{**scope.__dict__, "ctx": ctx}))
                    task["published"][key] = ctx[key]
            except ExpressionError as exc:
                self.fail_workflow(f"transition {index} of task {name!r}: {exc}", task)
                return
            for target in transition["do"] or ["continue"]:
                if target == "fail":
                    self.fail_workflow(f"task {name!r} ran the fail command", task)
                elif target == "noop":
                    remediated = True
                elif target == "continue":
                    pass
                elif target == "retry":
                    retry = {"when": None, "count": ENGINE_RETRY_COUNT, "delay": None}
                    if self.should_retry(task, retry, forced=True):
                        return
                else:
                    remediated = continued = True
                    self.arrive(target, name, ctx)
        if task["status"] in FAILED_STATUSES and not remediated:
            self.fail_workflow(self.failure_message(task), task, result=task["result"])
        if not continued:
            self.state["final_ctx"].update(ctx)  # branches that end merge, last one wins

    def arrive(self, target: str, source: str, ctx: dict) -> None:
        join = self.spec["tasks"][target]["join"]
        if join is None:
            self.schedule(target, dict(ctx))
            return
        barrier = self.state["barriers"].setdefault(
            target, {"arrived": [], "ctx": {}, "fired": False}
        )
        if barrier["fired"]:
            return
        barrier["arrived"].append(source)
        barrier["ctx"].update(ctx)  # the branch that arrives last wins
        required = len(self.inbound[target]) if join == "all" else join
        if len(set(barrier["arrived"])) >= required:
            barrier["fired"] = True
            self.schedule(target, dict(barrier["ctx"]))

    def fail_task(self, task: dict, message: str) -> None:
        """Fail a task that could not start; its transitions may still remediate it."""
        task["status"] = RUNNING
        task["items_state"] = task.get("items_state") or []
        self.complete(task, FAILED, {"error": message})

    def fail_workflow(self, message: str, task: dict | None = None, result=None) -> None:
        self.state["failing"] = True
        self.add_error(message, task, result)

    def add_error(self, message: str, task: dict | None = None, result=None) -> None:
        error = {"type": "error", "message": message}
        if task is not None:
            error.update(task_id=task["name"], route=task["id"])
        if result is not None:
            error["result"] = result
        if error not in self.state["errors"]:
            self.state["errors"].append(error)

    def failure_message(self, task: dict) -> str:
        message = f"task {task['name']!r} {task['status']}"
        errors = [r["error"] for r in as_list(task) if isinstance(r, dict) and r.get("error")]
        return f"{message}: {errors[0]}" if errors else message

    # ----- end of the workflow ------------------------------------------------------------

    def finish_if_done(self) -> None:
        status = self.status
        if status in WORKFLOW_TERMINAL:
            return
        if status == PAUSING and not self.running_items():
            self.state["status"] = PAUSED
        elif status == CANCELING and not any(
            t["status"] in (RUNNING, DELAYED) for t in self.active_tasks()
        ):
            self.state["status"] = CANCELED
        elif status == RUNNING and not self.active_tasks() and not self._ready:
            self.finish()

    def finish(self) -> None:
        for name, barrier in self.state["barriers"].items():
            if not barrier["fired"]:
                self.fail_workflow(
                    f"join of task {name!r} was not satisfied: "
                    f"{len(set(barrier['arrived']))} inbound branch(es) arrived"
                )
        ctx = {**self.state["root_ctx"], **self.state["final_ctx"]}
        output = {}
        try:
            for name, value in self.spec["output"]:
                output[name] = evaluate(value, self.bare_scope({**ctx, **output}))
                ctx[name] = output[name]
        except ExpressionError as exc:
            self.fail_workflow(f"output: {exc}")
        self.state["output"] = output
        self.state["status"] = FAILED if self.state.get("failing") else SUCCEEDED

    def compact(self) -> None:
        """Drop the contexts of finished tasks and fired joins (the task records keep them), so
        the state grows with the number of tasks, not with the size of their contexts."""
        for task in self.state["tasks"].values():
            if task["status"] not in (RUNNING, DELAYED, HELD):
                task.pop("ctx", None)
        for barrier in self.state["barriers"].values():
            if barrier["fired"]:
                barrier["ctx"] = {}

    def result(self) -> dict:
        """The workflow execution's result: its output and the errors that failed it."""
        return {"output": self.state.get("output"), "errors": self.state["errors"]}

    # ----- helpers ------------------------------------------------------------------------

    def active_tasks(self) -> list[dict]:
        return [t for t in self.state["tasks"].values() if t["status"] in (RUNNING, DELAYED, HELD)]

    def waiting_on(self) -> dict[int, tuple[int, int]]:
        """Child execution id -> (task id, item index) of every child running or paused."""
        return waiting_on(self.state)

    def overdue_timers(self, grace: float) -> list[tuple[int, str]]:
        """(task id, token) of delays that should have elapsed `grace` seconds ago."""
        now = self.clock()
        return [
            (task["id"], task["timer"])
            for task in self.active_tasks()
            if task["status"] == DELAYED and task.get("due_at", now) + grace < now
        ]

    def running_items(self) -> list[tuple[dict, dict]]:
        return [
            (task, item)
            for task in self.active_tasks()
            for item in task.get("items_state") or []
            if item["status"] == ITEM_RUNNING
        ]

    def scope(self, task: dict, *, item=None, result=None, status=None) -> Scope:
        statuses, results = {}, {}
        for other in self.state["tasks"].values():
            statuses[other["name"]] = other["status"]
            results[other["name"]] = other["result"]
        return Scope(
            ctx=task["ctx"],
            item=item,
            result=result,
            status=status,
            task_statuses=statuses,
            task_results=results,
            datastore=self.datastore,
        )

    def bare_scope(self, ctx: dict) -> Scope:
        """A scope with only a context (input defaults, vars, output)."""
        return Scope(ctx=ctx, datastore=self.datastore)

    def touch(self, task: dict) -> None:
        self.changed.add(task["id"])


def as_list(task: dict) -> list:
    """The task's result as a list of item results."""
    result = task["result"]
    return result if isinstance(result, list) else [result]


def new_state() -> dict:
    return {
        "status": RUNNING,
        "next_id": 1,
        "tasks": {},
        "barriers": {},
        "final_ctx": {},
        "errors": [],
        "failing": False,
        "root_ctx": {},
        "output": None,
    }


def waiting_on(state: dict) -> dict[int, tuple[int, int]]:
    """In a conductor's state: child execution id -> (task id, item index) of every child
    running or paused. A child that left this map never comes back to it."""
    return {
        item["execution_id"]: (task["id"], index)
        for task in state["tasks"].values()
        if task["status"] in (RUNNING, DELAYED, HELD)
        for index, item in enumerate(task.get("items_state") or [])
        if item["status"] in ACTIVE_ITEMS
    }


def arrival_can_wait(spec: dict, state: dict, execution_id: int, status: str, active: set) -> bool:
    """Whether handling child `execution_id` (finished with `status`) can wait for a later pass
    because it would start nothing now: a succeeded plain task whose every transition leads to
    a `join: all` barrier that another still `active` child's task has yet to reach.

    Used for a fan-out's branches: only the last one to finish needs an engine pass, and that
    pass reports every child that has finished. A failure, a retry, with-items (the next item
    may start) and any other target are handled at once.
    """
    waiting = waiting_on(state)
    task_id, _ = waiting[execution_id]
    name = state["tasks"][str(task_id)]["name"]
    task_spec = spec["tasks"][name]
    if status != SUCCEEDED or task_spec["with"] or task_spec["retry"] or not task_spec["next"]:
        return False
    active_tasks = {state["tasks"][str(waiting[child][0])]["name"] for child in active}
    inbound = inbound_transitions(spec)
    for transition in task_spec["next"]:
        for target in transition["do"] or ["continue"]:
            if target in ("continue", "noop"):
                continue
            if spec["tasks"].get(target, {}).get("join") != "all":
                return False
            if not any(other in active_tasks for other in inbound[target] if other != name):
                return False  # this arrival may complete the barrier
    return True
