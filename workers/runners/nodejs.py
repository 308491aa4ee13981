"""The `nodejs` runner: run a pack's Node.js script with its parameters as JSON on stdin.

The script prints its result as JSON on stdout. Modules come from the pack's own node_modules
(built from its package.json, see workers/environments.py), found through NODE_PATH by
`require()`.
"""

import json
import shutil

from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register
from workers.runners.environment import action_environment, working_directory
from workers.runners.outcome import json_result
from workers.runners.process import run_process


@register
class NodejsRunner(Runner):
    """Run `node <entry point>`; stdin gets every parameter (secrets included) as JSON."""

    name = "nodejs"
    needs_pack = True
    environment_kind = "nodejs"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        extra = {}
        if request.environment is not None:
            extra["NODE_PATH"] = str(request.environment / "node_modules")
        outcome = run_process(
            [shutil.which("node") or "node", str(request.entry_point)],
            env=action_environment(request, extra),
            cwd=working_directory(request),
            stdin_data=json.dumps(request.parameters).encode(),
            timeout=request.timeout,
            control=control,
            limits=request.limits,
        )
        status, result, error = json_result(outcome, request.timeout)
        return RunResult(
            status, result, result["stdout"], result["stderr"], outcome.exit_code, error
        )
