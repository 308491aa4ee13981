"""The `python-script` runner: run a pack's `Action` subclass in its own Python process.

The process is the pack's virtualenv interpreter (see workers/environments.py) with only the
action API (`workers/sdk`) added to its path. The action gets its parameters (secrets included)
on stdin and reports its result on a dedicated pipe, so whatever it prints stays ordinary stdout.
"""

import json
from pathlib import Path

from apps.executions.choices import ExecutionStatus
from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register
from workers.runners.environment import action_environment, working_directory
from workers.runners.outcome import status_of
from workers.runners.process import run_process

SDK_DIR = Path(__file__).resolve().parent.parent / "sdk"
# `-c` rather than `-m attune_sdk.wrapper`: `-m` imports runpy and importlib.util first.
WRAPPER = "from attune_sdk.wrapper import main; raise SystemExit(main())"


@register
class PythonScriptRunner(Runner):
    """Run `Action.run(**parameters)` from the pack's entry point."""

    name = "python-script"
    needs_pack = True
    uses_datastore = True
    environment_kind = "python"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        payload = {
            "execution_id": request.execution_id,
            "entry_point": str(request.entry_point),
            "pack_dir": str(request.pack_dir),
            "parameters": request.parameters,
            "config": {},
            "pack": request.action_ref.split(".", 1)[0],
            "datastore": request.datastore_access,
        }
        outcome = run_process(
            [str(request.environment / "bin" / "python"), "-c", WRAPPER],
            env=action_environment(request, {"PYTHONPATH": str(SDK_DIR)}),
            cwd=working_directory(request),
            stdin_data=json.dumps(payload).encode(),
            timeout=request.timeout,
            control=control,
            limits=request.limits,
            with_result_pipe=True,
        )
        status, error = status_of(outcome, request.timeout)
        reported = read_reported_result(outcome.result)
        if outcome.ended_by == "exit" and reported.get("status") != "succeeded":
            status = ExecutionStatus.FAILED
            error = reported.get("error") or error or "the action reported failure"
        stdout, stderr = outcome.stdout.text(), outcome.stderr.text()
        result = {
            "result": reported.get("result"),
            "stdout": stdout,
            "stderr": stderr,
            "exit_code": outcome.exit_code,
        }
        return RunResult(status, result, stdout, stderr, outcome.exit_code, error)


def read_reported_result(buffer) -> dict:
    """Parse what the wrapper wrote on the result pipe."""
    if buffer is None or not buffer.data:
        return {"status": "failed", "error": "the action ended without reporting a result"}
    if buffer.is_truncated:
        return {"status": "failed", "error": f"result larger than {buffer.limit} bytes"}
    try:
        return json.loads(buffer.data)
    except ValueError:
        return {"status": "failed", "error": "the action reported an unreadable result"}
