"""Build pack environments on this machine's disk and pick the one a run uses.

An environment lives in ATTUNE_ENVIRONMENTS_DIR/<kind>/<sha256[:16]> and is immutable once its
`.attune-ready` marker is written; builds take a file lock, so the build task and executions
racing for the same environment on one machine build it once. Python environments are
virtualenvs of the base interpreter (not the platform's own virtualenv), so the platform's
libraries do not leak into pack code.
"""

import fcntl
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from apps.runtimes import services
from apps.runtimes.choices import EnvironmentStatus
from apps.runtimes.specs import EnvironmentSpec

logger = logging.getLogger(__name__)

READY_MARKER = ".attune-ready"
# Variables the build tools may need (proxies, pip and npm configuration); nothing else of the
# worker's environment, which holds the database URL, reaches code run by a package install.
PASSED_PREFIXES = ("PIP_", "NPM_CONFIG_", "npm_config_")
PASSED_VARIABLES = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "PIP_CONFIG_FILE",
)


class BuildFailed(Exception):
    """The tool refused to build the environment; `log` is its output."""

    def __init__(self, log: str):
        super().__init__(log.strip().splitlines()[-1] if log.strip() else "build failed")
        self.log = log


class EnvironmentUnavailable(Exception):
    """Neither the pack's environment nor an earlier one could be built."""


def environment_path(spec: EnvironmentSpec) -> Path:
    return Path(settings.ATTUNE_ENVIRONMENTS_DIR) / spec.kind / spec.sha256[:16]


def is_built(path: Path) -> bool:
    return (path / READY_MARKER).is_file()


def python_interpreter(path: Path) -> Path:
    return path / "bin" / "python"


def environment_for(pack_ref: str, spec: EnvironmentSpec) -> Path:
    """The environment a run of `pack_ref` uses: the one for `spec` (built here if needed), or,
    when that cannot be built, the newest one of the pack that did build."""
    path = environment_path(spec)
    if is_built(path):
        return path
    status, log = services.environment_status(pack_ref, spec)
    if status != EnvironmentStatus.FAILED:
        try:
            return build_and_record(spec)
        except BuildFailed as exc:
            log = exc.log
    fallback = services.last_ready_environment(pack_ref, spec.kind, exclude=spec.sha256)
    if fallback is None:
        raise EnvironmentUnavailable(
            f"the {spec.kind} environment of pack {pack_ref} could not be built:\n"
            + log[-services.LOG_MAX_CHARS :]
        )
    logger.warning("pack=%s uses its previous %s environment", pack_ref, spec.kind)
    try:
        return ensure_built(fallback)
    except BuildFailed as exc:
        raise EnvironmentUnavailable(f"no {spec.kind} environment of {pack_ref} builds") from exc


def build_and_record(spec: EnvironmentSpec) -> Path:
    """Build `spec` here if needed and record the outcome for every pack that uses it."""
    try:
        path = ensure_built(spec)
    except BuildFailed as exc:
        services.record_environment_failed(spec, exc.log)
        raise
    services.record_environment_built(spec)
    return path


def build_environment(environment_id: int) -> None:
    """Build a registered environment (the task queued by registration)."""
    environment = services.get_environment(environment_id)
    if environment is None:
        return  # the pack was re-registered or removed meanwhile
    try:
        build_and_record(services.spec_of(environment))
    except BuildFailed:
        logger.warning("environment_id=%s of pack=%s failed", environment_id, environment.pack)


def ensure_built(spec: EnvironmentSpec) -> Path:
    """Return the built environment for `spec`, building it under a lock if needed."""
    path = environment_path(spec)
    if is_built(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(path.name + ".lock")):
        if is_built(path):
            return path
        shutil.rmtree(path, ignore_errors=True)  # what a crashed build left behind
        path.mkdir()
        logger.info("building %s environment %s", spec.kind, path)
        try:
            BUILDERS[spec.kind](spec, path)
        except BuildFailed:
            shutil.rmtree(path, ignore_errors=True)
            raise
        (path / READY_MARKER).write_text(spec.sha256)
    return path


@contextmanager
def file_lock(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_python(spec: EnvironmentSpec, path: Path) -> None:
    """A virtualenv without pip, filled by the platform's pip (`pip --python`)."""
    run_tool([sys.executable, "-m", "venv", "--without-pip", str(path)], cwd=path)
    requirements = path / "requirements.txt"
    requirements.write_text(spec.requirements, encoding="utf-8")
    argv = [sys.executable, "-m", "pip", "--python", str(python_interpreter(path)), "install"]
    argv += ["--disable-pip-version-check", "--no-input", "-r", str(requirements)]
    run_tool(argv + list(spec.defaults), cwd=path)


def build_nodejs(spec: EnvironmentSpec, path: Path) -> None:
    """node_modules from package.json, exactly as locked when a package-lock.json is given."""
    for name, text in spec.files.items():
        (path / name).write_text(text, encoding="utf-8")
    command = "ci" if "package-lock.json" in spec.files else "install"
    npm = shutil.which("npm") or "npm"
    run_tool([npm, command, "--omit=dev", "--no-audit", "--no-fund"], cwd=path)


BUILDERS = {"python": build_python, "nodejs": build_nodejs}


def run_tool(argv: list[str], cwd: Path) -> None:
    """Run a build tool with a minimal environment; raise BuildFailed with its output."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in PASSED_VARIABLES or k.startswith(PASSED_PREFIXES)
    }
    env.setdefault("HOME", tempfile.gettempdir())
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=settings.ATTUNE_ENVIRONMENT_BUILD_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.output or b"").decode(errors="replace")
        raise BuildFailed(f"{output}\n{argv[0]} did not finish in {exc.timeout} s") from exc
    except OSError as exc:
        raise BuildFailed(f"could not run {argv[0]}: {exc}") from exc
    if done.returncode != 0:
        raise BuildFailed(done.stdout.decode(errors="replace"))
