"""Helpers for end-to-end tests: waiting for something to happen, and setting up situations
the API cannot produce."""

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


def eventually(check, what: str, timeout: float = 30.0):
    """Call `check` until it returns something truthy (waits grow from 20 ms to 0.5 s);
    return that."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def request_execution_without_dispatch(action_ref: str, parameters: dict):
    """Request an execution whose queue message is lost (never sent)."""
    with transaction.atomic():
        execution = request_execution(action_ref, parameters)
        transaction.get_connection().run_on_commit.clear()
    return execution
