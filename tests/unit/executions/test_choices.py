"""Execution statuses: groups and the transitions allowed between them."""

import pytest

from apps.executions.choices import (
    ACTIVE,
    ALLOWED_TRANSITIONS,
    CANCELABLE,
    TERMINAL,
    WAITING_TO_RUN,
    ExecutionStatus,
    sources_of,
)

S = ExecutionStatus


def test_sources_of_lists_every_status_that_may_reach_the_target():
    assert sources_of(S.CANCELED) == {
        S.REQUESTED,
        S.DELAYED,
        S.SCHEDULED,
        S.RUNNING,
        S.PENDING,
        S.PAUSING,
        S.PAUSED,
        S.RESUMING,
        S.CANCELING,
    }


def test_only_waiting_or_active_executions_may_start_running():
    assert sources_of(S.RUNNING) == {S.REQUESTED, S.SCHEDULED, S.PENDING, S.PAUSING, S.RESUMING}


def test_nothing_leads_back_to_requested_but_a_delay():
    assert sources_of(S.REQUESTED) == {S.DELAYED}


def test_sources_of_an_unknown_status_is_empty():
    assert sources_of("exploded") == frozenset()


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_a_finished_execution_never_changes_status_again(status):
    assert not ALLOWED_TRANSITIONS.get(status)
    for targets in [sources_of(s) for s in S]:
        assert status not in targets


def reachable_from(status: str) -> set:
    seen, todo = set(), [status]
    while todo:
        for target in ALLOWED_TRANSITIONS.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("status", sorted(set(S) - TERMINAL))
def test_every_unfinished_status_can_still_end(status):
    assert reachable_from(status) & TERMINAL


def test_transitions_only_name_known_statuses():
    for source, targets in ALLOWED_TRANSITIONS.items():
        assert source in S.values
        assert targets <= set(S.values)


def test_canceling_an_execution_can_only_end_it():
    assert ALLOWED_TRANSITIONS[S.CANCELING] <= TERMINAL


def test_every_cancelable_status_may_be_canceled_or_asked_to_stop():
    for status in CANCELABLE:
        assert ALLOWED_TRANSITIONS[status] & {S.CANCELED, S.CANCELING}


def test_status_groups_do_not_overlap_where_they_must_not():
    assert not TERMINAL & WAITING_TO_RUN
    assert not TERMINAL & ACTIVE
    assert not TERMINAL & CANCELABLE
    assert not WAITING_TO_RUN & ACTIVE
