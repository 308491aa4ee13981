"""Policies end to end: concurrency caps (delay, cancel, per attribute, across two workers) and
retries (T2.8), on the live stack through the REST API."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from apps.packs.services import register_pack
from tests.e2e.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def policy_pack(stack, django_db_blocker):
    with django_db_blocker.unblock():
        register_pack(FIXTURE_PACKS / "policytest")


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def finish_all(api, executions) -> list[dict]:
    return [api.wait_for(e["id"]) for e in executions]


def most_at_once(executions) -> int:
    """The largest number of executions that were running at the same moment."""
    edges = sorted(
        [(at(e["started_at"]), 1) for e in executions]
        + [(at(e["finished_at"]), -1) for e in executions]
    )  # at equal times an end (-1) sorts before a start (+1)
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def attempts_of(api, action: str, since: str, count: int, timeout: float = 60.0) -> list[dict]:
    """Wait until `count` executions of `action` exist since `since` and the last finished."""
    deadline = time.monotonic() + timeout
    while True:
        found = api.get(
            "/api/v1/executions", params={"action": action, "requested_after": since}
        ).json()["results"]
        found.sort(key=lambda e: e["id"])
        if len(found) >= count and found[-1]["finished_at"]:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{action}: {[(e['id'], e['status']) for e in found]}")
        time.sleep(0.1)


def test_limit_one_runs_five_requests_strictly_one_at_a_time_in_arrival_order(alice_api):
    requested = [alice_api.run("policytest.one_at_a_time", seconds=1, label="first")]
    requested += [
        alice_api.run("policytest.one_at_a_time", seconds=0.2, label=str(n)) for n in range(4)
    ]

    assert [e["status"] for e in requested[1:]] == ["delayed"] * 4
    done = finish_all(alice_api, requested)
    assert [e["status"] for e in done] == ["succeeded"] * 5
    for earlier, later in zip(done, done[1:], strict=False):
        assert at(later["started_at"]) >= at(earlier["finished_at"])
    assert most_at_once(done) == 1


def test_cancel_mode_refuses_executions_over_the_threshold(alice_api):
    running = alice_api.run("policytest.cancel_extra", seconds=1)
    refused = alice_api.run("policytest.cancel_extra", seconds=0)

    assert refused["status"] == "canceled"
    assert "policytest.cancel_extra.concurrency" in refused["error"]
    assert alice_api.wait_for(running["id"])["status"] == "succeeded"
    assert alice_api.get(f"/api/v1/executions/{refused['id']}").json()["started_at"] is None


def test_attribute_policy_runs_different_values_together_and_the_same_value_in_turn(alice_api):
    a1 = alice_api.run("policytest.per_host", host="a", seconds=1)
    b1 = alice_api.run("policytest.per_host", host="b", seconds=1)
    a2 = alice_api.run("policytest.per_host", host="a", seconds=0.2)

    assert [a1["status"], b1["status"], a2["status"]] == ["requested", "requested", "delayed"]
    a1, b1, a2 = finish_all(alice_api, [a1, b1, a2])
    assert {a1["status"], b1["status"], a2["status"]} == {"succeeded"}
    assert at(b1["started_at"]) < at(a1["finished_at"])  # a and b overlapped
    assert at(a2["started_at"]) >= at(a1["finished_at"])  # a waited for a


def test_two_workers_racing_never_run_more_than_the_threshold(stack, alice_api):
    stack.start_worker("worker2")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            requested = list(
                pool.map(lambda n: alice_api.run("policytest.pair", seconds=0.3), range(8))
            )
        done = finish_all(alice_api, requested)
    finally:
        stack.stop("worker2")

    assert [e["status"] for e in done] == ["succeeded"] * 8
    assert most_at_once(done) == 2
    assert len({e["worker"] for e in done}) >= 2  # several worker processes raced


def test_t2_8_fails_twice_then_succeeds_on_the_third_attempt_with_backoff(alice_api, tmp_path):
    first = alice_api.run("policytest.flaky", counter=str(tmp_path / "count"), succeed_on=3)

    attempts = attempts_of(alice_api, "policytest.flaky", first["requested_at"], 3)

    assert [e["status"] for e in attempts] == ["failed", "failed", "succeeded"]
    assert attempts[0]["id"] == first["id"]
    assert [e["stdout"] for e in attempts] == ["attempt 1\n", "attempt 2\n", "attempt 3\n"]
    assert [e["context"]["retry"]["of"] for e in attempts[1:]] == [first["id"]] * 2
    assert [e["context"]["retry"]["attempt"] for e in attempts[1:]] == [2, 3]
    # Backoff: 0.2 s before the second attempt, 0.4 s before the third.
    assert (at(attempts[1]["started_at"]) - at(attempts[0]["finished_at"])).total_seconds() >= 0.2
    assert (at(attempts[2]["started_at"]) - at(attempts[1]["finished_at"])).total_seconds() >= 0.4


def test_retries_stop_after_max_retry_count(alice_api, tmp_path):
    first = alice_api.run("policytest.always_fails", counter=str(tmp_path / "n"), succeed_on=99)

    attempts = attempts_of(alice_api, "policytest.always_fails", first["requested_at"], 3)

    # The decision to retry is taken as an attempt ends: with the third ended, none is coming.
    assert [e["status"] for e in attempts] == ["failed"] * 3
    assert [e["context"].get("retry", {}).get("attempt", 1) for e in attempts] == [1, 2, 3]


def test_timeout_is_retried_when_the_policy_says_timeout(alice_api):
    first = alice_api.run("policytest.slow")

    attempts = attempts_of(alice_api, "policytest.slow", first["requested_at"], 2)

    assert [e["status"] for e in attempts] == ["timeout", "timeout"]
    assert attempts[1]["context"]["retry"]["of"] == first["id"]


def test_a_delayed_execution_can_be_canceled_and_leaves_the_line(alice_api):
    running = alice_api.run("policytest.one_at_a_time", seconds=1)
    waiting = alice_api.run("policytest.one_at_a_time", seconds=0)
    after = alice_api.run("policytest.one_at_a_time", seconds=0)
    assert waiting["status"] == "delayed"

    canceled = alice_api.post(f"/api/v1/executions/{waiting['id']}/cancel")

    assert canceled.status_code == 202
    assert canceled.json()["status"] == "canceled"
    assert alice_api.wait_for(after["id"])["status"] == "succeeded"
    assert alice_api.wait_for(running["id"])["status"] == "succeeded"
