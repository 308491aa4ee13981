"""The `noop` runner: succeed at once without starting anything."""

from apps.executions.choices import ExecutionStatus
from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register


@register
class NoopRunner(Runner):
    """Do nothing and succeed."""

    name = "noop"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        return RunResult(status=ExecutionStatus.SUCCEEDED, result={}, exit_code=0)
