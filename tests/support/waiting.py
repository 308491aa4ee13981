"""Helpers for end-to-end tests that need to set up a situation the API cannot produce."""

import time
from pathlib import Path

from django.db import transaction

from apps.executions.services import request_execution


def wait_for_file(path: Path, timeout: float = 30.0) -> None:
    """Wait until an action has created `path` (its way of saying it got somewhere)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


def request_execution_without_dispatch(action_ref: str, parameters: dict):
    """Request an execution whose queue message is lost (never sent)."""
    with transaction.atomic():
        execution = request_execution(action_ref, parameters)
        transaction.get_connection().run_on_commit.clear()
    return execution
