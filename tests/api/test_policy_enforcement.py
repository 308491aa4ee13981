"""Policy enforcement through the execution services, in one process against the database:
who is admitted, delayed, canceled, started next, and retried."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.executions.choices import ExecutionStatus as S
from apps.executions.models import Execution
from apps.executions.services import (
    cancel_execution,
    claim_execution,
    finish_execution,
    reap_abandoned_executions,
    request_execution,
    rerun_execution,
)
from apps.packs.services import register_pack
from apps.policies import services
from apps.policies.enforcement import recover_policy_executions
from apps.policies.models import Policy, SlotClaim
from tests.api.conftest import FIXTURE_PACKS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def policy_pack(db):
    return register_pack(FIXTURE_PACKS / "policytest")


def statuses(*executions) -> list[str]:
    return [Execution.objects.get(pk=e.pk).status for e in executions]


def run_to_end(execution, status=S.SUCCEEDED):
    assert claim_execution(execution.pk, "test-worker") is not None
    assert finish_execution(execution.pk, status)


def test_over_the_threshold_executions_wait_and_start_in_arrival_order():
    first, second, third = (request_execution("policytest.one_at_a_time", {}) for _ in range(3))

    assert statuses(first, second, third) == [S.REQUESTED, S.DELAYED, S.DELAYED]
    run_to_end(first)
    assert statuses(second, third) == [S.REQUESTED, S.DELAYED]
    run_to_end(second, S.FAILED)
    assert statuses(third) == [S.REQUESTED]


def test_the_answer_to_a_delayed_request_says_delayed():
    request_execution("policytest.one_at_a_time", {})

    assert request_execution("policytest.one_at_a_time", {}).status == S.DELAYED


def test_cancel_mode_cancels_over_the_threshold_naming_the_policy():
    first = request_execution("policytest.cancel_extra", {})
    second = request_execution("policytest.cancel_extra", {})

    assert second.status == S.CANCELED
    assert "policytest.cancel_extra.concurrency" in second.error
    run_to_end(first)
    assert request_execution("policytest.cancel_extra", {}).status == S.REQUESTED


def test_attribute_policy_limits_each_value_separately():
    a1 = request_execution("policytest.per_host", {"host": "a"})
    b1 = request_execution("policytest.per_host", {"host": "b"})
    a2 = request_execution("policytest.per_host", {"host": "a"})

    assert statuses(a1, b1, a2) == [S.REQUESTED, S.REQUESTED, S.DELAYED]
    run_to_end(b1)
    assert statuses(a2) == [S.DELAYED]
    run_to_end(a1)
    assert statuses(a2) == [S.REQUESTED]


def test_canceling_a_waiting_execution_takes_it_out_of_line():
    first, second, third = (request_execution("policytest.one_at_a_time", {}) for _ in range(3))

    cancel_execution(second.pk)
    run_to_end(first)

    assert statuses(second, third) == [S.CANCELED, S.REQUESTED]
    assert not SlotClaim.objects.filter(execution_id=second.pk).exists()


def test_deleting_a_policy_lets_its_waiting_executions_go():
    request_execution("policytest.one_at_a_time", {})
    waiting = request_execution("policytest.one_at_a_time", {})

    services.delete_policy(Policy.objects.get(ref="policytest.one_at_a_time.concurrency"))

    assert statuses(waiting) == [S.REQUESTED]


def test_raising_the_threshold_starts_waiting_executions():
    executions = [request_execution("policytest.one_at_a_time", {}) for _ in range(3)]
    policy = Policy.objects.get(ref="policytest.one_at_a_time.concurrency")

    services.update_policy(
        policy,
        {
            "resource_ref": policy.resource_ref,
            "policy_type": policy.policy_type,
            "parameters": {"threshold": 2},
        },
    )

    assert statuses(*executions) == [S.REQUESTED, S.REQUESTED, S.DELAYED]


def test_failure_is_retried_as_a_new_execution_linked_to_the_first(tmp_path):
    counter = str(tmp_path / "count")
    first = request_execution("policytest.flaky", {"counter": counter})

    run_to_end(first, S.FAILED)

    second = Execution.objects.exclude(pk=first.pk).get(action_ref="policytest.flaky")
    assert second.status == S.SCHEDULED  # held back for its 0.2 s delay
    assert second.parameters == first.parameters
    assert second.context["retry"] == {
        "of": first.pk,
        "previous": first.pk,
        "attempt": 2,
        "policy": "policytest.flaky.retry",
        "delay_seconds": 0.2,
    }
    run_to_end(second, S.FAILED)
    third = Execution.objects.filter(action_ref="policytest.flaky").order_by("-pk").first()
    assert third.context["retry"]["of"] == first.pk
    assert third.context["retry"]["attempt"] == 3
    assert third.context["retry"]["delay_seconds"] == 0.4  # backoff 2
    run_to_end(third, S.FAILED)
    assert Execution.objects.filter(action_ref="policytest.flaky").count() == 3


def test_success_and_other_outcomes_are_not_retried(tmp_path):
    succeeded = request_execution("policytest.flaky", {"counter": str(tmp_path / "c")})
    run_to_end(succeeded)
    slow = request_execution("policytest.slow", {})
    run_to_end(slow, S.FAILED)  # its policy retries timeouts only

    assert Execution.objects.filter(action_ref="policytest.flaky").count() == 1
    assert Execution.objects.filter(action_ref="policytest.slow").count() == 1


def test_a_place_left_by_a_crash_is_recovered_by_the_sweeper():
    first = request_execution("policytest.one_at_a_time", {})
    waiting = request_execution("policytest.one_at_a_time", {})
    # As if the process died between recording the end and releasing the place.
    Execution.objects.filter(pk=first.pk).update(status=S.ABANDONED)

    recover_policy_executions()

    assert statuses(waiting) == [S.REQUESTED]


def test_actions_without_policies_are_untouched():
    execution = request_execution("policytest.unlimited", {})

    assert execution.status == S.REQUESTED
    run_to_end(execution, S.FAILED)
    assert Execution.objects.filter(action_ref="policytest.unlimited").count() == 1
    assert not SlotClaim.objects.exists()


def test_a_rerun_starts_a_retry_chain_of_its_own(tmp_path):
    first = request_execution("policytest.flaky", {"counter": str(tmp_path / "count")})
    run_to_end(first, S.FAILED)
    second = Execution.objects.get(context__retry__of=first.pk)

    rerun = rerun_execution(second.pk)

    assert rerun.status == S.REQUESTED  # a re-run is not held back for the retry delay
    run_to_end(rerun, S.FAILED)
    retry_of_rerun = Execution.objects.get(context__retry__of=rerun.pk)
    assert retry_of_rerun.context["retry"]["attempt"] == 2


def test_disabling_a_policy_lets_waiters_go_and_holders_still_release_their_place():
    running = request_execution("policytest.one_at_a_time", {})
    waiting = request_execution("policytest.one_at_a_time", {})
    policy = Policy.objects.get(ref="policytest.one_at_a_time.concurrency")

    services.update_policy(
        policy,
        {
            "resource_ref": policy.resource_ref,
            "policy_type": policy.policy_type,
            "parameters": policy.parameters,
            "enabled": False,
        },
    )
    assert statuses(waiting) == [S.REQUESTED]
    run_to_end(running)

    assert not SlotClaim.objects.filter(execution_id=running.pk).exists()


def test_executions_of_a_dead_worker_are_retried_when_the_policy_lists_abandoned():
    policy = Policy.objects.get(ref="policytest.always_fails.retry")
    services.update_policy(
        policy,
        {
            "resource_ref": policy.resource_ref,
            "policy_type": policy.policy_type,
            "parameters": {"retry_on": ["failure", "abandoned"], "max_retry_count": 1},
        },
    )
    lost = request_execution("policytest.always_fails", {"counter": "/nonexistent/n"})
    claim_execution(lost.pk, "dead-worker")
    Execution.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    assert reap_abandoned_executions() == [lost.pk]

    retry = Execution.objects.get(context__retry__of=lost.pk)
    assert retry.status == S.REQUESTED
    assert retry.context["retry"]["attempt"] == 2
