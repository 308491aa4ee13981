"""Base class for Python actions (StackStorm-compatible)."""

import logging


class Action:
    """Subclass this and implement `run(**parameters)`.

    Return a value to succeed, return `(False, value)` or raise to fail; `(True, value)`
    succeeds with `value`. `self.action_service` reads and writes the datastore.
    """

    def __init__(self, config=None, action_service=None):
        self.config = config or {}
        self.action_service = action_service
        self.logger = logging.getLogger(f"action.{type(self).__name__}")

    def run(self, **parameters):
        raise NotImplementedError("an Action must implement run()")
