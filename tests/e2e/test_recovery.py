"""Work survives: dead workers, lost messages and graceful worker shutdown (T3.12, T3.30)."""

import pytest

from tests.support.waiting import request_execution_without_dispatch, wait_for_file

pytestmark = pytest.mark.e2e


@pytest.fixture
def only_worker(stack):
    """Make the test's own worker the only one running actions; housekeeping (the reaper,
    the re-dispatcher) keeps running on the `events` worker, as in production."""
    stack.stop("worker")
    yield stack
    stack.start_worker("worker")


def test_killed_worker_leaves_its_execution_abandoned_not_running(only_worker, alice_api, tmp_path):
    only_worker.start_worker("doomed", queues="actions")
    ready = tmp_path / "ready"
    execution = alice_api.run("core.local", cmd=f"touch {ready}; sleep 30")
    wait_for_file(ready)

    only_worker.kill("doomed")

    abandoned = alice_api.wait_for(execution["id"], timeout=60)
    assert abandoned["status"] == "abandoned"
    assert abandoned["error"] == "worker stopped responding"
    assert abandoned["finished_at"]


def test_sigterm_lets_the_worker_finish_its_running_execution_and_exit_cleanly(
    only_worker, alice_api, tmp_path
):
    only_worker.start_worker("graceful", queues="actions")
    ready = tmp_path / "ready"
    execution = alice_api.run("core.local", cmd=f"touch {ready}; sleep 2; echo finished")
    wait_for_file(ready)

    exit_code = only_worker.stop("graceful")

    assert exit_code == 0
    finished = alice_api.wait_for(execution["id"], timeout=5)
    assert finished["status"] == "succeeded"
    assert finished["stdout"] == "finished\n"


def test_execution_whose_queue_message_was_lost_is_dispatched_again(stack, admin_api, live_db):
    execution = request_execution_without_dispatch("core.echo", {"message": "found again"})

    recovered = admin_api.wait_for(execution.pk, timeout=60)

    assert recovered["status"] == "succeeded"
    assert recovered["stdout"] == "found again\n"
