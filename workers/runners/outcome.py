"""Turn a finished process into an execution status."""

from apps.executions.choices import ExecutionStatus
from workers.runners.process import ProcessOutcome


def status_of(outcome: ProcessOutcome, timeout: float | None) -> tuple[str, str]:
    """Return (status, error) for how the process ended."""
    if outcome.ended_by == "timeout":
        return ExecutionStatus.TIMEOUT, f"action did not finish within {timeout} s and was stopped"
    if outcome.ended_by == "cancel":
        return ExecutionStatus.CANCELED, "canceled while running"
    if outcome.exit_code == 0:
        return ExecutionStatus.SUCCEEDED, ""
    return ExecutionStatus.FAILED, f"exited with code {outcome.exit_code}"
