"""Runner types: the parameters each runner understands (StackStorm's runner metadata).

This is data only; the code that runs each type lives in `workers/runners/`. An action's own
`parameters` may override a runner parameter's attributes (default, `immutable`), as in StackStorm.
"""

from dataclasses import dataclass, field

SHELL_TIMEOUT = 60
PYTHON_TIMEOUT = 600


@dataclass(frozen=True)
class RunnerType:
    name: str
    description: str
    needs_entry_point: bool
    parameters: dict = field(default_factory=dict)


def timeout_parameter(default: int) -> dict:
    return {
        "type": "integer",
        "minimum": 1,
        "default": default,
        "description": "Seconds before the action is stopped and marked timeout.",
    }


SHELL_COMMON = {
    "cwd": {"type": "string", "description": "Working directory."},
    "env": {"type": "object", "description": "Extra environment variables (never secrets)."},
    "timeout": timeout_parameter(SHELL_TIMEOUT),
}

RUNNER_TYPES = {
    runner.name: runner
    for runner in [
        RunnerType(
            name="local-shell-cmd",
            description="Run a shell command on the worker.",
            needs_entry_point=False,
            parameters={
                "cmd": {"type": "string", "required": True, "description": "Command to run."},
                **SHELL_COMMON,
            },
        ),
        RunnerType(
            name="local-shell-script",
            description="Run a script from the pack with the parameters as arguments.",
            needs_entry_point=True,
            parameters={
                "kwarg_op": {"type": "string", "default": "--", "description": "Named-arg prefix."},
                **SHELL_COMMON,
            },
        ),
        RunnerType(
            name="python-script",
            description="Run the pack's Action subclass in its own Python process.",
            needs_entry_point=True,
            parameters={
                "env": SHELL_COMMON["env"],
                "timeout": timeout_parameter(PYTHON_TIMEOUT),
            },
        ),
        RunnerType(name="noop", description="Do nothing and succeed.", needs_entry_point=False),
    ]
}
