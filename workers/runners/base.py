"""What every runner receives and returns, and the registry that maps runner types to code.

Runners get plain data and return plain data; they never touch the ORM.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from apps.executions.choices import ExecutionStatus


@dataclass(frozen=True)
class Limits:
    output_max_bytes: int
    result_max_bytes: int
    kill_grace_seconds: float


class RunControl(Protocol):
    """How a running action talks back: a cancel signal, heartbeats and live output."""

    cancel_fd: int  # becomes readable when the execution is to be canceled
    heartbeat_seconds: float

    def heartbeat(self) -> None: ...

    def output(self, stream: str, chunk: bytes) -> None:
        """Called with each chunk of stdout/stderr as the action prints it."""


@dataclass(frozen=True)
class RunRequest:
    execution_id: int
    action_ref: str
    runner_type: str
    parameters: dict  # the action's own parameters
    runner_parameters: dict  # cmd, timeout, env, cwd, kwarg_op ...
    secret_parameters: frozenset
    limits: Limits
    pack_dir: Path | None = None
    entry_point: Path | None = None
    positions: dict = field(default_factory=dict)  # parameter name -> `position`
    context: dict = field(default_factory=dict)  # the execution's context: rule, webhook_hops ...
    # How the action process reaches the datastore ({"url", "token"}); sent on stdin only.
    datastore_access: dict | None = None
    environment: Path | None = None  # the pack's built environment (virtualenv, node_modules)

    @property
    def timeout(self) -> float | None:
        return self.runner_parameters.get("timeout")

    def secrets(self) -> dict:
        return {k: v for k, v in self.parameters.items() if k in self.secret_parameters}

    def non_secrets(self) -> dict:
        return {k: v for k, v in self.parameters.items() if k not in self.secret_parameters}


@dataclass
class RunResult:
    status: str
    result: Any = None
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    error: str = ""

    @classmethod
    def failure(cls, error: str) -> "RunResult":
        return cls(status=ExecutionStatus.FAILED, result={"error": error}, error=error)


class Runner:
    """Base class: subclasses set `name` and implement `run`."""

    name: ClassVar[str]
    needs_pack: ClassVar[bool] = False
    uses_datastore: ClassVar[bool] = False  # its process gets a datastore token
    environment_kind: ClassVar[str | None] = None  # "python" or "nodejs": the pack's environment

    def run(self, request: RunRequest, control: RunControl) -> RunResult:
        raise NotImplementedError


RUNNERS: dict[str, Runner] = {}


def register(runner_class: type[Runner]) -> type[Runner]:
    RUNNERS[runner_class.name] = runner_class()
    return runner_class


def get_runner(name: str) -> Runner:
    from workers.runners import (  # noqa: F401 (fill the registry)
        container,
        http,
        nodejs,
        noop,
        python_script,
        shell,
    )

    return RUNNERS[name]
