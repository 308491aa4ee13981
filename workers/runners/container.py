"""The `container` runner: run the action's image and command in a fresh container.

The engine's client runs as a supervised process (timeout, cancel, output caps, heartbeats as
for any action). Parameters go in on stdin as JSON; the result is the JSON the command prints.
The container is started with `--rm`; when the run ends by timeout or cancel, or the client
dies, the container is removed by name so nothing keeps running.
"""

import json
import math
import secrets
import shlex

from workers.runners.base import RunControl, Runner, RunRequest, RunResult, register
from workers.runners.container_engine import (
    ContainerSpec,
    NoContainerEngine,
    container_engine,
)
from workers.runners.environment import working_directory
from workers.runners.outcome import json_result
from workers.runners.process import run_process


@register
class ContainerRunner(Runner):
    """Run `image` with `command`: no network unless allowed, CPU, memory and process caps."""

    name = "container"

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        try:
            engine = container_engine()
            spec = container_spec(request)
        except (NoContainerEngine, ValueError) as exc:
            return RunResult.failure(str(exc))
        try:
            outcome = run_process(
                engine.run_argv(spec),
                env=engine.environment(),
                cwd=working_directory(request),
                stdin_data=json.dumps(request.parameters).encode(),
                timeout=request.timeout,
                control=control,
                limits=request.limits,
            )
        except BaseException:
            engine.remove(spec.name)
            raise
        if outcome.ended_by != "exit":  # stopping the client does not stop the container
            engine.remove(spec.name)
        status, result, error = json_result(outcome, request.timeout)
        return RunResult(
            status, result, result["stdout"], result["stderr"], outcome.exit_code, error
        )


def container_spec(request: RunRequest) -> ContainerSpec:
    values = request.runner_parameters
    command = values.get("command") or []
    if isinstance(command, str):
        command = shlex.split(command)
    max_seconds = None
    if request.timeout:  # past the runner's own timeout and kill grace: a worker died
        max_seconds = math.ceil(request.timeout + request.limits.kill_grace_seconds) + 5
    return ContainerSpec(
        name=f"attune-{request.execution_id}-{secrets.token_hex(4)}",
        image=values["image"],
        command=[str(part) for part in command],
        execution_id=request.execution_id,
        has_network=bool(values.get("network")),
        cpus=values.get("cpus", 1),
        memory_mb=values.get("memory_mb", 256),
        pids_limit=values.get("pids_limit", 256),
        pull=values.get("pull", "missing"),
        env={str(k): str(v) for k, v in (values.get("env") or {}).items()},
        max_seconds=max_seconds,
    )
