"""Shell runners: `local-shell-cmd` (a command line) and `local-shell-script` (a pack script)."""

import json
import os

from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register
from workers.runners.environment import (
    action_environment,
    secrets_stdin,
    shell,
    working_directory,
)
from workers.runners.outcome import status_of
from workers.runners.process import run_process


def run_shell(argv: list[str], request: RunRequest, control: RunControl) -> RunResult:
    outcome = run_process(
        argv,
        env=action_environment(request),
        cwd=working_directory(request),
        stdin_data=secrets_stdin(request),
        timeout=request.timeout,
        control=control,
        limits=request.limits,
    )
    status, error = status_of(outcome, request.timeout)
    stdout, stderr = outcome.stdout.text(), outcome.stderr.text()
    result = {
        "succeeded": outcome.exit_code == 0 and outcome.ended_by == "exit",
        "failed": not (outcome.exit_code == 0 and outcome.ended_by == "exit"),
        "return_code": outcome.exit_code,
        "stdout": stdout,
        "stderr": stderr,
    }
    return RunResult(status, result, stdout, stderr, outcome.exit_code, error)


@register
class LocalShellCommandRunner(Runner):
    """Run `cmd` through bash on the worker."""

    name = "local-shell-cmd"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        return run_shell([shell(), "-c", request.runner_parameters["cmd"]], request, control)


@register
class LocalShellScriptRunner(Runner):
    """Run the pack's script with parameters as arguments (positional by `position`, else
    `--name=value`); secret parameters are left out of argv and sent on stdin instead."""

    name = "local-shell-script"
    needs_pack = True

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        script = str(request.entry_point)
        command = [script] if os.access(script, os.X_OK) else [shell(), script]
        return run_shell(command + script_arguments(request), request, control)


def script_arguments(request: RunRequest) -> list[str]:
    values = request.non_secrets()
    positions = request.positions
    positional = sorted((p, name) for name, p in positions.items() if name in values)
    arguments = [as_argument(values[name]) for _, name in positional]
    kwarg_op = request.runner_parameters.get("kwarg_op", "--")
    for name in sorted(values):
        if name not in positions and values[name] is not None:
            arguments.append(f"{kwarg_op}{name}={as_argument(values[name])}")
    return arguments


def as_argument(value) -> str:
    """StackStorm's conversion: lists joined by commas, objects as JSON, the rest as str."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(as_argument(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
