"""Turn a finished process into an execution status."""

import json

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


def json_result(outcome: ProcessOutcome, timeout: float | None) -> tuple[str, dict, str]:
    """(status, result, error) for actions that print their result as JSON on stdout.

    The result is the whole stdout parsed as JSON, or else its last line (so earlier lines can
    be log output); an action that exits 0 without printing JSON fails.
    """
    status, error = status_of(outcome, timeout)
    stdout = outcome.stdout.text()
    value, is_json = parse_json_output(stdout)
    if status == ExecutionStatus.SUCCEEDED and not is_json:
        status, error = ExecutionStatus.FAILED, "the action printed no JSON result on stdout"
    result = {
        "result": value,
        "stdout": stdout,
        "stderr": outcome.stderr.text(),
        "exit_code": outcome.exit_code,
    }
    return status, result, error


def parse_json_output(text: str) -> tuple[object, bool]:
    """(value, True) for JSON in `text` (all of it, or its last non-empty line), else (None,
    False)."""
    lines = text.strip().splitlines()
    for candidate in (text, lines[-1] if lines else ""):
        try:
            return json.loads(candidate), True
        except ValueError:
            continue
    return None, False
