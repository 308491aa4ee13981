"""One small interface over the container engines: Podman (preferred) or Docker.

Both take the same `run` options; they differ in how to remove a container that may not exist
and in Podman's configuration file, which the project keeps under its own control
(ATTUNE_CONTAINERS_CONF, see workers/runners/containers.conf) instead of editing /etc.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass

from django.conf import settings

REMOVE_TIMEOUT_SECONDS = 30
LABEL = "attune.execution"


class NoContainerEngine(RuntimeError):
    """Neither podman nor docker is installed (or the configured one is missing)."""


@dataclass(frozen=True)
class ContainerSpec:
    """One container to run: the runner's parameters as plain data."""

    name: str
    image: str
    command: list[str]
    execution_id: int
    has_network: bool
    cpus: float
    memory_mb: int
    pids_limit: int
    pull: str
    env: dict
    max_seconds: int | None = None  # Podman kills the container itself after this long


@dataclass(frozen=True)
class ContainerEngine:
    name: str  # "podman" or "docker"
    binary: str

    def environment(self) -> dict:
        """What the engine's client needs from the environment (never the worker's own)."""
        env = {k: os.environ[k] for k in ("PATH", "HOME", "XDG_RUNTIME_DIR") if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        if self.name == "podman":
            env["CONTAINERS_CONF"] = settings.ATTUNE_CONTAINERS_CONF
        if "DOCKER_HOST" in os.environ and self.name == "docker":
            env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
        return env

    def run_argv(self, spec: ContainerSpec) -> list[str]:
        """`run` in the foreground, stdin attached, removed on exit, capped and labeled."""
        memory = f"{spec.memory_mb}m"
        argv = [self.binary, "run", "--rm", "--interactive", "--name", spec.name]
        argv += ["--label", f"{LABEL}={spec.execution_id}", f"--pull={spec.pull}"]
        argv += ["--network", "bridge" if spec.has_network else "none"]
        argv += ["--cpus", str(spec.cpus), "--memory", memory, "--memory-swap", memory]
        argv += ["--pids-limit", str(spec.pids_limit)]
        if spec.max_seconds and self.name == "podman":
            # Ends the container even if this worker dies mid-run and never removes it.
            argv += ["--timeout", str(spec.max_seconds)]
        for key, value in sorted(spec.env.items()):
            argv += ["--env", f"{key}={value}"]
        return argv + [spec.image, *spec.command]

    def remove(self, name: str) -> None:
        """Remove the container `name` at once if it exists (its process is killed)."""
        argv = [self.binary, "rm", "--force", name]
        if self.name == "podman":
            argv[2:2] = ["--time", "0", "--ignore"]
        subprocess.run(
            argv,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=REMOVE_TIMEOUT_SECONDS,
            check=False,
        )

    def containers_of(self, execution_id: int) -> list[str]:
        """Names of the containers (running or not) labeled with this execution."""
        argv = [self.binary, "ps", "--all", "--filter", f"label={LABEL}={execution_id}"]
        done = subprocess.run(
            [*argv, "--format", "{{.Names}}"],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=REMOVE_TIMEOUT_SECONDS,
            check=True,
        )
        return done.stdout.split()


def container_engine() -> ContainerEngine:
    """The configured engine (ATTUNE_CONTAINER_ENGINE), or podman else docker for `auto`."""
    wanted = settings.ATTUNE_CONTAINER_ENGINE
    names = ["podman", "docker"] if wanted == "auto" else [wanted]
    for name in names:
        binary = shutil.which(name)
        if binary:
            return ContainerEngine(name, binary)
    raise NoContainerEngine(f"no container engine found (looked for {', '.join(names)})")
