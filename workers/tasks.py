"""Celery entry points: each takes ids only and calls one function."""

from celery import shared_task

from apps.datastore.services import purge_expired_keys
from apps.executions import services
from apps.inquiries import services as inquiries
from apps.policies.enforcement import recover_policy_executions
from apps.rules import timers
from apps.triggers.services import redispatch_pending_instances
from apps.workflows import services as workflows
from workers import environments, executor


@shared_task(name="attune.run_execution", acks_late=True, reject_on_worker_lost=True)
def run_execution(execution_id: int) -> None:
    """Run one execution (safe to deliver twice: only one claim succeeds)."""
    executor.run_execution(execution_id)


@shared_task(name="attune.build_pack_environment", acks_late=True)
def build_pack_environment(environment_id: int) -> None:
    """Build a pack's virtualenv or node_modules on this worker (a no-op when already built)."""
    environments.build_environment(environment_id)


@shared_task(name="attune.reap_executions")
def reap_executions() -> None:
    """Mark executions of dead workers abandoned."""
    services.reap_abandoned_executions()


@shared_task(name="attune.redispatch_requested")
def redispatch_requested() -> None:
    """Queue again executions, trigger instances and workflow events whose message was lost."""
    services.redispatch_requested_executions()
    redispatch_pending_instances()
    recover_policy_executions()
    workflows.resync_workflows()


@shared_task(name="attune.fire_timer", acks_late=True)
def fire_timer(rule_id: int, scheduled_at: str | None = None) -> None:
    """Dispatch one tick of a timer rule (a repeated date tick does nothing)."""
    timers.fire_timer(rule_id, scheduled_at)


@shared_task(name="attune.purge_expired_keys")
def purge_expired_datastore_keys() -> None:
    """Delete expired datastore keys (only for space: reads already skip them)."""
    purge_expired_keys()


@shared_task(name="attune.start_workflow", acks_late=True)
def start_workflow(execution_id: int) -> None:
    """Start a requested workflow execution (safe twice: only one claim succeeds)."""
    workflows.start_workflow(execution_id)


@shared_task(name="attune.advance_workflow", acks_late=True)
def advance_workflow(execution_id: int, event: dict) -> None:
    """Hand one event (child finished or paused, delay elapsed, cancel) to a workflow."""
    workflows.advance_workflow(execution_id, event)


@shared_task(name="attune.start_inquiry", acks_late=True)
def start_inquiry(execution_id: int) -> None:
    """Record the inquiry of a requested core.ask execution and leave it pending."""
    inquiries.start_inquiry(execution_id)


@shared_task(name="attune.expire_inquiries")
def expire_inquiries() -> None:
    """Time out the pending inquiries past their TTL."""
    inquiries.expire_inquiries()
