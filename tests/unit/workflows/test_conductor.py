"""The conductor decides, without a database, what a workflow does next."""

import pytest

from apps.workflows.conductor import Conductor, LaunchError, arrival_can_wait
from apps.workflows.spec import parse_workflow


class FakeEffects:
    """Records what the conductor asks for; children get increasing ids."""

    def __init__(self, refuse: set[str] = frozenset()):
        self.launched: dict[int, dict] = {}
        self.timers: list[tuple] = []
        self.canceled: list[int] = []
        self.paused: list[int] = []
        self.resumed: list[int] = []
        self.refuse = refuse

    def launch(self, task, index, action, parameters):
        if action in self.refuse:
            raise LaunchError(f"action {action!r} does not exist")
        child = 100 + len(self.launched)
        self.launched[child] = {
            "task": task["name"],
            "task_id": task["id"],
            "index": index,
            "action": action,
            "parameters": parameters,
        }
        return child

    def start_timer(self, task_id, seconds, token):
        self.timers.append((task_id, seconds, token))

    def cancel_child(self, execution_id):
        self.canceled.append(execution_id)

    def pause_child(self, execution_id):
        self.paused.append(execution_id)

    def resume_child(self, execution_id):
        self.resumed.append(execution_id)


class Run:
    """A conductor plus helpers to report children finishing."""

    def __init__(self, text: str, inputs: dict | None = None, **effects):
        self.effects = FakeEffects(**effects)
        self.conductor = Conductor(parse_workflow(text), None, self.effects)
        self.conductor.start(inputs or {})
        self.reported: set[int] = set()

    @property
    def status(self):
        return self.conductor.status

    def pending(self, task: str | None = None) -> list[int]:
        return [
            child
            for child, launch in self.effects.launched.items()
            if child not in self.reported and (task is None or launch["task"] == task)
        ]

    def finish(self, child: int, status="succeeded", result=None) -> None:
        launch = self.effects.launched[child]
        self.reported.add(child)
        self.conductor.on_child(launch["task_id"], launch["index"], child, status, result)

    def finish_task(self, task: str, status="succeeded", result=None) -> None:
        (child,) = self.pending(task)
        self.finish(child, status, result)

    def launched_tasks(self) -> list[str]:
        return [launch["task"] for launch in self.effects.launched.values()]

    def result(self):
        return self.conductor.result()


SEQUENCE = """\
version: 1.0
input: [name]
tasks:
  a:
    action: core.echo message=<% ctx(name) %>
    next:
      - when: <% succeeded() %>
        publish: greeting=<% result().stdout %>
        do: b
  b:
    action: core.echo
    input:
      message: "{{ ctx('greeting') }} again"
    next:
      - publish: final=<% result().stdout %>
output:
  - final: <% ctx(final) %>
"""


def test_sequence_passes_each_result_to_the_next_task():
    run = Run(SEQUENCE, {"name": "ada"})
    assert run.launched_tasks() == ["a"]
    assert run.effects.launched[100]["parameters"] == {"message": "ada"}
    run.finish_task("a", result={"stdout": "hi ada"})
    assert run.effects.launched[101]["parameters"] == {"message": "hi ada again"}
    run.finish_task("b", result={"stdout": "hi ada again"})
    assert run.status == "succeeded"
    assert run.result() == {"output": {"final": "hi ada again"}, "errors": []}


def test_missing_input_default_is_evaluated_in_order():
    text = "version: 1.0\ninput:\n  - x: 2\n  - y: <% ctx(x) * 3 %>\ntasks:\n  a: {}\n"
    text += "output:\n  - y: <% ctx(y) %>\n"
    run = Run(text)
    assert run.status == "succeeded"
    assert run.result()["output"] == {"y": 6}


PARALLEL = """\
version: 1.0
vars: [{x: 0}]
tasks:
  setup:
    next: [{do: [p1, p2, p3]}]
  p1:
    action: core.noop
    next: [{publish: x=1 a=1, do: barrier}]
  p2:
    action: core.noop
    next: [{publish: x=2 b=2, do: barrier}]
  p3:
    action: core.noop
    next: [{publish: x=3 c=3, do: barrier}]
  barrier:
    join: JOIN
    action: core.noop
    next: [{publish: seen=<% ctx() %>}]
output:
  - seen: <% ctx(seen) %>
"""


def test_join_all_waits_for_every_branch_and_merges_contexts():
    run = Run(PARALLEL.replace("JOIN", "all"))
    assert run.launched_tasks() == ["p1", "p2", "p3"]
    run.finish_task("p2")
    run.finish_task("p1")
    assert "barrier" not in run.launched_tasks()
    run.finish_task("p3")
    assert run.launched_tasks().count("barrier") == 1
    run.finish_task("barrier")
    assert run.status == "succeeded"
    assert run.result()["output"]["seen"] == {"x": 3, "a": 1, "b": 2, "c": 3}


def test_join_count_starts_after_enough_branches_and_only_once():
    run = Run(PARALLEL.replace("JOIN", "2"))
    run.finish_task("p1")
    run.finish_task("p3")
    assert run.launched_tasks().count("barrier") == 1
    run.finish_task("p2")
    run.finish_task("barrier")
    assert run.launched_tasks().count("barrier") == 1
    assert run.status == "succeeded"


def test_without_join_each_inbound_transition_runs_the_task_again():
    run = Run(PARALLEL.replace("    join: JOIN\n", ""))
    for name in ("p1", "p2", "p3"):
        run.finish_task(name)
    assert run.launched_tasks().count("barrier") == 3


def can_wait(run: Run, task: str, status: str = "succeeded") -> bool:
    """Whether `task`'s child finishing with `status` can be left to a later pass, while every
    other pending child is still running."""
    (child,) = run.pending(task)
    others = set(run.pending()) - {child}
    return arrival_can_wait(run.conductor.spec, run.conductor.state, child, status, others)


def test_an_arrival_at_a_join_others_have_not_reached_can_wait():
    run = Run(PARALLEL.replace("JOIN", "all"))
    assert can_wait(run, "p1")
    assert not can_wait(run, "p1", status="failed")  # fail-fast cannot wait


def test_the_last_arrival_at_a_join_cannot_wait():
    run = Run(PARALLEL.replace("JOIN", "all"))
    run.finish_task("p1")
    run.finish_task("p2")
    assert not can_wait(run, "p3")  # the only child left: its arrival fires the barrier


def test_an_arrival_at_a_join_count_or_a_plain_task_cannot_wait():
    assert not can_wait(Run(PARALLEL.replace("JOIN", "2")), "p1")
    assert not can_wait(Run(PARALLEL.replace("    join: JOIN\n", "")), "p1")


def test_join_all_never_satisfied_fails_the_workflow():
    text = PARALLEL.replace("JOIN", "all").replace(
        "next: [{publish: x=2 b=2, do: barrier}]",
        "next: [{when: <% failed() %>, do: barrier}]",
    )
    run = Run(text)
    for name in ("p1", "p2", "p3"):
        run.finish_task(name)
    assert run.status == "failed"
    assert "join of task 'barrier' was not satisfied" in run.result()["errors"][0]["message"]


BRANCHING = """\
version: 1.0
input: [n]
tasks:
  check:
    next:
      - when: <% ctx(n) > 10 %>
        do: big
      - when: <% ctx(n) <= 10 %>
        do: small
  big:
    action: core.noop
  small:
    action: core.noop
"""


@pytest.mark.parametrize(("n", "branch"), [(50, "big"), (3, "small")])
def test_if_else_branches_on_input(n, branch):
    run = Run(BRANCHING, {"n": n})
    assert run.launched_tasks() == [branch]


FAILURE = """\
version: 1.0
tasks:
  a:
    action: core.fails
    next:
      - when: <% succeeded() %>
        do: b
      - when: <% failed() %>
        publish: err=<% result().error %>
        do: HANDLER
  b:
    action: core.noop
  other:
    action: core.slow
    next: [{do: later}]
  later:
    action: core.noop
  cleanup:
    action: core.noop
output:
  - err: <% ctx(err) %>
"""


def test_failure_without_remediation_fails_fast_and_renders_output():
    run = Run(FAILURE.replace("HANDLER", "continue"))
    assert set(run.launched_tasks()) == {"a", "other", "cleanup"}
    run.finish_task("a", "failed", {"error": "boom"})
    assert run.status == "running"  # 'other' still runs
    run.finish_task("other")
    run.finish_task("cleanup")
    assert "later" not in run.launched_tasks()  # nothing new starts after the failure
    assert run.status == "failed"
    result = run.result()
    assert result["output"] == {"err": "boom"}
    assert result["errors"] == [
        {
            "type": "error",
            "message": "task 'a' failed: boom",
            "task_id": "a",
            "route": 1,
            "result": {"error": "boom"},
        }
    ]


def test_remediation_task_makes_the_workflow_succeed():
    run = Run(FAILURE.replace("HANDLER", "cleanup"))
    assert "cleanup" not in run.launched_tasks()  # it has an inbound transition now
    run.finish_task("a", "failed", {"error": "boom"})
    assert "cleanup" in run.launched_tasks()
    for child in run.pending():
        run.finish(child)
    for child in run.pending():
        run.finish(child)
    assert run.status == "succeeded"
    assert run.result()["errors"] == []


def test_noop_command_ignores_the_failure():
    run = Run(FAILURE.replace("HANDLER", "noop"))
    run.finish_task("a", "failed", {"error": "boom"})
    for _ in range(2):
        for child in run.pending():
            run.finish(child)
    assert run.status == "succeeded"
    assert run.result()["output"] == {"err": "boom"}


def test_fail_command_fails_a_succeeded_task():
    text = "version: 1.0\ntasks:\n  a:\n    action: core.noop\n    next: [{do: [log, fail]}]\n"
    text += "  log:\n    action: core.noop\n"
    run = Run(text)
    run.finish_task("a")
    assert run.launched_tasks() == ["a", "log"]  # tasks before `fail` still run
    run.finish_task("log")
    assert run.status == "failed"
    assert run.result()["errors"][0]["message"] == "task 'a' ran the fail command"


def test_retry_command_retries_three_times():
    text = "version: 1.0\ntasks:\n  a:\n    action: core.flaky\n"
    text += "    next: [{when: <% failed() %>, do: retry}]\n"
    run = Run(text)
    for _ in range(4):
        run.finish_task("a", "failed", {"error": "no"})
    assert run.launched_tasks() == ["a"] * 4
    assert run.status == "failed"


RETRY = """\
version: 1.0
tasks:
  a:
    action: core.flaky
    retry:
      count: 2
      delay: DELAY
    next:
      - when: <% succeeded() %>
        publish: value=<% result() %>
output:
  - value: <% ctx(value) %>
"""


def test_retry_until_success_with_delay():
    run = Run(RETRY.replace("DELAY", "3"))
    run.finish_task("a", "failed")
    assert run.effects.timers == [(1, 3.0, "1:retry1")]
    assert run.pending() == []
    run.conductor.on_timer(1, "1:retry1")
    run.finish_task("a", "succeeded", 42)
    assert run.status == "succeeded"
    assert run.result()["output"] == {"value": 42}
    assert run.conductor.state["tasks"]["1"]["attempt"] == 1


def test_retry_exhausted_fails_with_the_last_attempt():
    run = Run(RETRY.replace("DELAY", "0"))
    for _ in range(3):
        run.finish_task("a", "failed", {"error": "still broken"})
    assert run.status == "failed"
    assert run.launched_tasks() == ["a"] * 3
    assert run.result()["errors"][0]["message"] == "task 'a' failed: still broken"


def test_no_retry_on_success():
    run = Run(RETRY.replace("DELAY", "0"))
    run.finish_task("a", "succeeded", 1)
    assert run.launched_tasks() == ["a"]
    assert run.status == "succeeded"


def test_delay_waits_for_the_timer_and_stale_timers_are_ignored():
    run = Run("version: 1.0\ntasks:\n  a:\n    delay: 5\n    action: core.noop\n")
    assert run.launched_tasks() == []
    assert run.effects.timers == [(1, 5.0, "1:delay")]
    run.conductor.on_timer(1, "wrong")
    assert run.launched_tasks() == []
    run.conductor.on_timer(1, "1:delay")
    run.conductor.on_timer(1, "1:delay")
    assert run.launched_tasks() == ["a"]


WITH_ITEMS = """\
version: 1.0
input: [fruits]
tasks:
  each:
    with:
      items: fruit in <% ctx(fruits) %>
      concurrency: CONCURRENCY
    action: core.echo message=<% item(fruit) %>
    next:
      - publish: all=<% result() %>
output:
  - all: <% ctx(all) %>
"""


def test_with_items_respects_concurrency_and_keeps_item_order():
    run = Run(WITH_ITEMS.replace("CONCURRENCY", "2"), {"fruits": ["apple", "banana", "cherry"]})
    assert [run.effects.launched[c]["parameters"] for c in run.pending()] == [
        {"message": "apple"},
        {"message": "banana"},
    ]
    run.finish(101, result="B")
    assert len(run.pending()) == 2  # cherry started when banana finished
    run.finish(102, result="C")
    run.finish(100, result="A")
    assert run.status == "succeeded"
    assert run.result()["output"] == {"all": ["A", "B", "C"]}


def test_with_items_failed_item_fails_the_task_and_starts_no_more_items():
    run = Run(WITH_ITEMS.replace("CONCURRENCY", "1"), {"fruits": ["a", "b", "c"]})
    run.finish(100, "failed", {"error": "bad a"})
    assert run.pending() == []
    assert run.status == "failed"


def test_with_items_zips_several_lists():
    text = "version: 1.0\ninput: [hosts, cmds]\ntasks:\n  t:\n"
    text += "    with: host, cmd in <% zip(ctx(hosts), ctx(cmds)) %>\n"
    text += "    action: core.remote hosts=<% item(host) %> cmd=<% item(cmd) %>\n"
    run = Run(text, {"hosts": ["h1", "h2"], "cmds": ["ls", "pwd"]})
    assert [run.effects.launched[c]["parameters"] for c in run.pending()] == [
        {"hosts": "h1", "cmd": "ls"},
        {"hosts": "h2", "cmd": "pwd"},
    ]


def test_with_items_over_an_empty_list_succeeds_with_no_children():
    run = Run(WITH_ITEMS.replace("CONCURRENCY", "2"), {"fruits": []})
    assert run.status == "succeeded"
    assert run.result()["output"] == {"all": []}


def test_template_error_fails_the_task_with_its_message():
    text = "version: 1.0\ntasks:\n  a:\n    action: core.echo message=<% ctx(nope) %>\n"
    run = Run(text)
    assert run.launched_tasks() == []
    assert run.status == "failed"
    assert "variable 'nope' is not in the context" in run.result()["errors"][0]["message"]


def test_unknown_action_fails_the_task():
    run = Run("version: 1.0\ntasks:\n  a:\n    action: x.missing\n", refuse={"x.missing"})
    assert run.status == "failed"
    assert "'x.missing' does not exist" in run.result()["errors"][0]["message"]


def test_output_error_fails_the_workflow():
    run = Run("version: 1.0\ntasks:\n  a: {}\noutput:\n  - x: <% ctx(missing) %>\n")
    assert run.status == "failed"
    assert run.result()["errors"][0]["message"].startswith("output:")


def test_hundred_action_less_tasks_finish_in_one_event():
    lines = ["version: 1.0", "tasks:"]
    for i in range(100):
        lines += [f"  t{i}:", "    next:", f"      - publish: n={i}"]
        if i < 99:
            lines.append(f"        do: t{i + 1}")
    lines += ["output:", "  - n: <% ctx(n) %>"]
    run = Run("\n".join(lines) + "\n")
    assert run.status == "succeeded"
    assert run.result()["output"] == {"n": 99}


def test_cancel_cancels_running_children_and_starts_nothing_new():
    run = Run(SEQUENCE, {"name": "x"})
    run.conductor.cancel()
    assert run.effects.canceled == [100]
    assert run.status == "canceling"
    run.finish(100, "succeeded", {"stdout": "late"})
    assert run.launched_tasks() == ["a"]
    assert run.status == "canceled"


def test_pause_holds_new_tasks_and_items_until_resume():
    run = Run(WITH_ITEMS.replace("CONCURRENCY", "1"), {"fruits": ["a", "b"]})
    run.conductor.pause()
    assert run.status == "pausing"
    assert run.effects.paused == [100]
    run.finish(100, result="A")
    assert run.status == "paused"
    assert run.pending() == []
    run.conductor.resume()
    assert run.status == "running"
    run.finish(101, result="B")
    assert run.status == "succeeded"
    assert run.result()["output"] == {"all": ["A", "B"]}


def test_paused_child_workflow_lets_the_parent_pause():
    run = Run(SEQUENCE, {"name": "x"})
    run.conductor.pause()
    run.conductor.on_child(1, 0, 100, "paused", None)
    assert run.status == "paused"
    run.conductor.resume()
    assert run.effects.resumed == [100]
    run.finish(100, result={"stdout": "hi"})
    assert run.launched_tasks() == ["a", "b"]


def test_rerun_from_a_task_keeps_succeeded_items_unless_reset():
    effects = FakeEffects()
    conductor = Conductor(parse_workflow(WITH_ITEMS.replace("CONCURRENCY", "3")), None, effects)
    conductor.start_from(
        {"fruits": ["a", "b", "c"]},
        [{"name": "each", "ctx": {"fruits": ["a", "b", "c"]}, "done_items": {0: "A", 2: "C"}}],
    )
    assert [launch["parameters"] for launch in effects.launched.values()] == [{"message": "b"}]
    conductor.on_child(1, 1, 100, "succeeded", "B")
    assert conductor.result()["output"] == {"all": ["A", "B", "C"]}


def test_overdue_timers_are_reported_once_past_their_due_time():
    now = [1000.0]
    effects = FakeEffects()
    text = "version: 1.0\ntasks:\n  a:\n    delay: 5\n    action: core.noop\n"
    conductor = Conductor(parse_workflow(text), None, effects, clock=lambda: now[0])
    conductor.start({})
    assert conductor.overdue_timers(grace=3) == []
    now[0] += 7
    assert conductor.overdue_timers(grace=3) == []
    now[0] += 2
    assert conductor.overdue_timers(grace=3) == [(1, "1:delay")]
    conductor.on_timer(1, "1:delay")
    assert conductor.overdue_timers(grace=3) == []


def test_compact_keeps_contexts_only_of_tasks_still_running():
    run = Run(SEQUENCE, {"name": "ada"})
    run.finish_task("a", result={"stdout": "hi ada"})
    run.conductor.compact()
    tasks = run.conductor.state["tasks"]
    assert "ctx" not in tasks["1"]
    assert tasks["2"]["ctx"] == {"name": "ada", "greeting": "hi ada"}
    run.finish_task("b", result={"stdout": "done"})
    assert run.result()["output"] == {"final": "done"}
