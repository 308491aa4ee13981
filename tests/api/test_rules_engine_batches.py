"""The rules engine's transactions, in-process against the test database: a batch on a trigger
with many rules is cut short and the rest is left pending for the next one, nothing lost."""

import uuid

import pytest
from django.contrib.auth import get_user_model

from apps.executions.models import Execution
from apps.packs.services import register_pack
from apps.rbac.models import Grant, Role, RoleAssignment
from apps.rules import engine
from apps.rules.models import RuleEnforcement
from apps.triggers.choices import TriggerInstanceStatus, TriggerSource
from apps.triggers.models import TriggerInstance
from apps.triggers.services import dispatch_trigger
from tests.api.conftest import FIXTURE_PACKS
from tests.api.factories import api_client, webhook_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_rules_on_one_webhook(core_pack) -> str:
    """A webhook url with two rules that never match (no execution is requested)."""
    url = f"batches-{uuid.uuid4().hex[:8]}"
    owner = get_user_model().objects.create_user(f"owner-{url}")
    never = {"trigger.body.never": {"type": "equals", "pattern": True}}
    for name in ("first", "second"):
        webhook_rule(f"{name}_{url}".replace("-", "_"), url, owner, "core.noop", never)
    return url


def webhook_instances(url: str, count: int) -> list[int]:
    return [
        dispatch_trigger(
            "core.st2.webhook",
            {"headers": {}, "body": {"n": n}},
            source=TriggerSource.WEBHOOK,
            parameters={"url": url},
        ).pk
        for n in range(count)
    ]


def test_a_batch_stops_at_the_evaluation_limit_and_leaves_the_rest_pending(
    two_rules_on_one_webhook, monkeypatch
):
    monkeypatch.setattr(engine, "ENFORCEMENTS_PER_TRANSACTION", 3)
    ids = webhook_instances(two_rules_on_one_webhook, 3)

    later = engine.process_trigger_instances(ids)

    assert later == ids[1:]  # the second instance would have made 4 evaluations
    statuses = dict(TriggerInstance.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {
        ids[0]: TriggerInstanceStatus.PROCESSED,
        ids[1]: TriggerInstanceStatus.PENDING,
        ids[2]: TriggerInstanceStatus.PENDING,
    }
    assert engine.process_trigger_instances(later) == ids[2:]
    assert engine.process_trigger_instances(ids[2:]) == []
    assert RuleEnforcement.objects.filter(trigger_instance_id__in=ids).count() == 6


def test_an_instance_with_more_rules_than_the_limit_is_still_processed(
    two_rules_on_one_webhook, monkeypatch
):
    monkeypatch.setattr(engine, "ENFORCEMENTS_PER_TRANSACTION", 1)
    [only] = webhook_instances(two_rules_on_one_webhook, 1)

    assert engine.process_trigger_instances([only]) == []
    assert TriggerInstance.objects.get(pk=only).status == TriggerInstanceStatus.PROCESSED
    assert RuleEnforcement.objects.filter(trigger_instance_id=only).count() == 2


def test_a_rule_stops_running_its_action_once_its_owner_may_no_longer(db):
    users = get_user_model().objects
    register_pack(FIXTURE_PACKS / "examples", owner=users.create_user("pack-owner"))
    runner = users.create_user("runner")
    role = Role.objects.create(name="examples_runner")
    Grant.objects.create(role=role, permission_type="action_execute", pack_ref="examples")
    assignment = RoleAssignment.objects.create(role=role, user=runner)
    url = f"revoked-{uuid.uuid4().hex[:8]}"
    webhook_rule("run_args", url, runner, "examples.args", first="a", second=2)

    [allowed] = webhook_instances(url, 1)
    engine.process_trigger_instances([allowed])
    ran = RuleEnforcement.objects.get(trigger_instance_id=allowed)
    assert ran.status == "matched" and ran.execution_id is not None

    assignment.delete()  # the owner loses the right to run examples.args
    [refused] = webhook_instances(url, 1)
    engine.process_trigger_instances([refused])

    failed = RuleEnforcement.objects.get(trigger_instance_id=refused)
    assert failed.status == "failed"
    assert failed.execution_id is None
    assert failed.reason == "the rule's owner runner may no longer run examples.args"
    assert Execution.objects.filter(action_ref="examples.args").count() == 1


def test_testing_a_rule_whose_owner_may_no_longer_run_its_action_says_so(db):
    users = get_user_model().objects
    register_pack(FIXTURE_PACKS / "examples", owner=users.create_user("pack-owner"))
    stranger = users.create_user("stranger")  # no role: may not run the pack's actions
    rule = webhook_rule(
        "strangers_rule", "strangers", stranger, "examples.args", first="a", second=2
    )

    response = api_client(stranger).post(
        f"/api/v1/rules/{rule.ref}/test", {"payload": {"body": {}}}, format="json"
    )

    assert response.status_code == 200
    report = response.json()
    assert report["matched"] is False and report["status"] == "failed"
    assert report["reason"] == "the rule's owner stranger may no longer run examples.args"


def test_the_rules_of_a_disabled_account_stop_running(core_pack):
    owner = get_user_model().objects.create_user("leaver")
    url = f"leaver-{uuid.uuid4().hex[:8]}"
    # A system pack's action: anyone may run it, while their account is active.
    webhook_rule("leavers_rule", url, owner, "core.noop")
    owner.is_active = False
    owner.save()

    [instance] = webhook_instances(url, 1)
    engine.process_trigger_instances([instance])

    enforcement = RuleEnforcement.objects.get(trigger_instance_id=instance)
    assert enforcement.status == "failed"
    assert enforcement.reason == "the rule's owner leaver may no longer run core.noop"
    assert not Execution.objects.filter(context__rule="default.leavers_rule").exists()
