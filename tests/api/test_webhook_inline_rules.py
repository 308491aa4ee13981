"""A webhook whose trigger has few rules has them enforced by its own request: the 202 comes
back with the instance processed and the actions requested, without the rules engine. Busier
triggers, and a request whose enforcement breaks, leave the instance to the engine."""

import uuid

import pytest
from django.db import connection

from apps.core.exceptions import Conflict
from apps.core.services import redis_client
from apps.executions.models import Execution
from apps.policies import enforcement as policy_enforcement
from apps.rules import engine
from apps.rules.models import RuleEnforcement
from apps.triggers.models import TriggerInstance
from apps.triggers.services import rules_queue_key
from tests.api.factories import api_client, webhook_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_rules(core_pack, sender) -> str:
    """A webhook url with two rules: one runs core.noop, one never matches."""
    url = f"inline-{uuid.uuid4().hex[:8]}"
    webhook_rule(f"runs_{url}".replace("-", "_"), url, sender, "core.noop")
    never = {"trigger.body.never": {"type": "equals", "pattern": True}}
    webhook_rule(f"never_{url}".replace("-", "_"), url, sender, "core.noop", never)
    return url


def post_and_commit(sender, url: str, capture, body=None) -> TriggerInstance:
    """POST to the webhook and run what its transaction left for after commit."""
    with capture(execute=True):
        response = api_client(sender).post(
            f"/api/v1/webhooks/{url}", body or {"n": 1}, format="json"
        )
    assert response.status_code == 202, response.content
    return TriggerInstance.objects.get(pk=response.json()["trigger_instance_id"])


def queued_for_engine(instance_id: int) -> bool:
    queued = redis_client().lrange(rules_queue_key(), 0, -1)
    redis_client().lrem(rules_queue_key(), 0, instance_id)
    return str(instance_id).encode() in queued


def test_the_request_enforces_every_rule_and_requests_the_action(
    sender, two_rules, django_capture_on_commit_callbacks
):
    instance = post_and_commit(sender, two_rules, django_capture_on_commit_callbacks)

    assert instance.status == "processed"
    assert instance.processed_at == instance.occurred_at
    enforcements = RuleEnforcement.objects.filter(trigger_instance=instance).order_by("id")
    assert [e.status for e in enforcements] == ["matched", "not_matched"]
    execution = Execution.objects.get(pk=enforcements[0].execution_id)
    assert (execution.action_ref, execution.context["trigger_instance"]) == (
        "core.noop",
        instance.pk,
    )
    assert not queued_for_engine(instance.pk)


def test_a_trigger_with_more_rules_than_the_limit_is_left_to_the_engine(
    sender, two_rules, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(engine, "INLINE_RULES_LIMIT", 1)

    instance = post_and_commit(sender, two_rules, django_capture_on_commit_callbacks)

    assert instance.status == "pending"
    assert not RuleEnforcement.objects.filter(trigger_instance=instance).exists()
    assert queued_for_engine(instance.pk)
    assert engine.process_trigger_instances([instance.pk]) == []
    assert RuleEnforcement.objects.filter(trigger_instance=instance).count() == 2


def test_an_enforcement_that_breaks_leaves_the_instance_to_the_engine(
    sender, two_rules, monkeypatch, django_capture_on_commit_callbacks
):
    def broken_insert(rows, enforced_at):
        raise RuntimeError("enforcement table unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(engine, "insert_with_unnest", broken_insert)
        patched.setattr(engine, "insert_with_values", broken_insert)
        instance = post_and_commit(sender, two_rules, django_capture_on_commit_callbacks)

    assert instance.status == "pending"
    assert instance.processed_at is None
    assert not Execution.objects.filter(context__trigger_instance=instance.pk).exists()
    assert queued_for_engine(instance.pk)
    engine.process_trigger_instances([instance.pk])
    instance.refresh_from_db()
    assert instance.status == "processed"
    assert RuleEnforcement.objects.filter(trigger_instance=instance).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL refuses NUL in text")
def test_a_rule_whose_execution_the_database_refuses_fails_alone_in_the_engine(
    sender, two_rules, django_capture_on_commit_callbacks
):
    nul = '{{ trigger.body.text | replace("z", "\\x00") }}'
    webhook_rule("nul_command", two_rules, sender, "core.local", cmd=nul)

    instance = post_and_commit(
        sender, two_rules, django_capture_on_commit_callbacks, body={"text": "azb"}
    )

    assert instance.status == "pending"
    assert not RuleEnforcement.objects.filter(trigger_instance=instance).exists()
    assert queued_for_engine(instance.pk)
    engine.process_trigger_instances([instance.pk])
    enforcements = {
        e.rule_ref: e for e in RuleEnforcement.objects.filter(trigger_instance=instance)
    }
    assert enforcements["default.nul_command"].status == "failed"
    assert enforcements["default.nul_command"].reason.startswith("could not record the execution")
    ran = enforcements[f"default.runs_{two_rules}".replace("-", "_")]
    assert ran.status == "matched"
    assert Execution.objects.get(pk=ran.execution_id).action_ref == "core.noop"


def test_a_refusal_caught_after_a_write_leaves_the_instance_to_the_engine(
    sender, two_rules, monkeypatch, django_capture_on_commit_callbacks
):
    """A refusal raised once the execution row is written cannot be undone alone without a
    savepoint: the request must not answer 202 for a transaction Django then rolls back."""

    def refuse(execution):
        raise Conflict("no place for it")

    with monkeypatch.context() as patched:
        patched.setattr(policy_enforcement, "admit", refuse)
        instance = post_and_commit(sender, two_rules, django_capture_on_commit_callbacks)

    assert instance.status == "pending"
    assert queued_for_engine(instance.pk)
    engine.process_trigger_instances([instance.pk])
    statuses = RuleEnforcement.objects.filter(trigger_instance=instance).values_list(
        "status", flat=True
    )
    assert sorted(statuses) == ["matched", "not_matched"]
