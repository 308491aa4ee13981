"""Celery entry points: each takes ids only and calls one function."""

from celery import shared_task

from apps.executions import services
from workers import executor


@shared_task(name="attune.run_execution", acks_late=True, reject_on_worker_lost=True)
def run_execution(execution_id: int) -> None:
    """Run one execution (safe to deliver twice: only one claim succeeds)."""
    executor.run_execution(execution_id)


@shared_task(name="attune.reap_executions")
def reap_executions() -> None:
    """Mark executions of dead workers abandoned."""
    services.reap_abandoned_executions()


@shared_task(name="attune.redispatch_requested")
def redispatch_requested() -> None:
    """Queue again executions whose message was lost."""
    services.redispatch_requested_executions()
