"""Parsing and checking Orquesta workflow definitions."""

import pytest

from apps.workflows.spec import WorkflowInvalid, parse_workflow, start_tasks

FULL = """\
version: 1.0
description: Calculates (a + b) * (c + d)
input:
  - a
  - b: 2
vars:
  - total: 0
tasks:
  task1:
    action: math.add operand1=<% ctx(a) %> operand2="two words", three=3
    next:
      - when: <% succeeded() %>
        publish: ab=<% result() %> msg="task1 done"
        do: log, task3
  task2:
    action: math.add
    input:
      operand1: <% ctx(b) %>
    retry:
      count: 3
      delay: 1
    next:
      - publish:
          - cd: <% result() %>
        do:
          - task3
  task3:
    join: all
    with:
      items: x, y in <% zip(ctx(ab), ctx(cd)) %>
      concurrency: 2
    action: core.echo message=<% item(x) %>
  log:
    delay: 2
output:
  - result: <% ctx(total) %>
"""


def errors_of(text: str) -> list[dict]:
    with pytest.raises(WorkflowInvalid) as caught:
        parse_workflow(text)
    return caught.value.errors


def test_full_definition_is_normalized():
    spec = parse_workflow(FULL)
    assert spec["input"] == [
        {"name": "a", "has_default": False, "default": None},
        {"name": "b", "has_default": True, "default": 2},
    ]
    task1 = spec["tasks"]["task1"]
    assert task1["action"] == "math.add"
    assert task1["input"] == {
        "operand1": "<% ctx(a) %>",
        "operand2": "two words",
        "three": 3,
    }
    assert task1["next"][0]["publish"] == [["ab", "<% result() %>"], ["msg", "task1 done"]]
    assert task1["next"][0]["do"] == ["log", "task3"]
    assert spec["tasks"]["task2"]["retry"] == {"when": None, "count": 3, "delay": 1}
    assert spec["tasks"]["task3"]["join"] == "all"
    assert spec["tasks"]["task3"]["with"] == {
        "items": "<% zip(ctx(ab), ctx(cd)) %>",
        "names": ["x", "y"],
        "concurrency": 2,
    }
    assert spec["tasks"]["log"]["action"] is None
    assert spec["tasks"]["log"]["delay"] == 2
    assert start_tasks(spec) == ["task1", "task2"]


def test_with_shorthand_takes_the_items_expression():
    spec = parse_workflow(
        "version: 1.0\ntasks:\n  t:\n    with: <% ctx(xs) %>\n    action: core.noop\n"
    )
    assert spec["tasks"]["t"]["with"] == {
        "items": "<% ctx(xs) %>",
        "names": None,
        "concurrency": None,
    }


def test_unknown_task_in_do_names_task_field_and_line():
    errors = errors_of(
        "version: 1.0\ntasks:\n  a:\n    action: core.noop\n    next:\n      - do: missing\n"
    )
    assert errors == [
        {
            "field": "tasks.a.next.0.do",
            "line": 6,
            "message": "task 'missing' does not exist in this workflow",
        }
    ]


def test_every_problem_is_reported_at_once():
    errors = errors_of(
        """\
version: 2.0
tasks:
  fail:
    action: core.noop
  b:
    action: not-a-ref
    join: sometimes
    colour: blue
    retry:
      delay: -1
    with:
      concurrency: 0
  c:
    action: core.local cmd=<% ctx(a %>
"""
    )
    fields = {(e["field"], e["line"]) for e in errors}
    assert ("version", 1) in fields
    assert ("tasks.fail", 3) in fields
    assert ("tasks.b.action", 6) in fields
    assert ("tasks.b.join", 7) in fields
    assert ("tasks.b.colour", 8) in fields
    assert ("tasks.b.retry.count", 9) in fields
    assert ("tasks.b.retry.delay", 10) in fields
    assert ("tasks.b.with.items", 11) in fields
    assert ("tasks.b.with.concurrency", 12) in fields
    assert ("tasks.c.action.cmd", 14) in fields


def test_cycle_without_a_start_task_is_refused():
    errors = errors_of(
        "version: 1.0\ntasks:\n  a:\n    next: [{do: b}]\n  b:\n    next: [{do: a}]\n"
    )
    assert errors[0]["message"] == "no task can start: every task has an inbound transition"


def test_missing_tasks_and_bad_yaml():
    assert errors_of("version: 1.0\n")[0]["field"] == "tasks"
    assert "line" in errors_of("version: 1.0\ntasks: [\n")[0]["message"]
    assert errors_of("- just a list\n")[0]["message"] == "a workflow definition must be a mapping"


def test_inline_input_that_cannot_be_read_is_refused():
    errors = errors_of("version: 1.0\ntasks:\n  a:\n    action: core.local =oops\n")
    assert errors[0]["field"] == "tasks.a.action"
    assert "expected name=value" in errors[0]["message"]
