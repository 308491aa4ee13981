"""The environment an action process gets: minimal, never the worker's own (which holds the
database URL and other platform secrets), and never a secret parameter."""

import json
import os
import shutil
import tempfile

BASE_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ")


def action_environment(request, extra: dict | None = None) -> dict:
    env = {name: os.environ[name] for name in BASE_VARIABLES if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = tempfile.gettempdir()
    env["ATTUNE_EXECUTION_ID"] = str(request.execution_id)
    env["ATTUNE_ACTION_REF"] = request.action_ref
    env["ST2_ACTION_EXECUTION_ID"] = str(request.execution_id)
    env.update({k: str(v) for k, v in (request.runner_parameters.get("env") or {}).items()})
    env.update(extra or {})
    return env


def secrets_stdin(request) -> bytes:
    """Secret parameters go to the process on stdin as one JSON object, and nowhere else."""
    secrets = request.secrets()
    return json.dumps(secrets).encode() if secrets else b""


def working_directory(request) -> str:
    return request.runner_parameters.get("cwd") or tempfile.gettempdir()


def shell() -> str:
    return shutil.which("bash") or "/bin/sh"
