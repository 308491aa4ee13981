"""Base class for Python actions (StackStorm-compatible)."""

import logging


class Action:
    """Subclass this and implement `run(**parameters)`.

    Return a value to succeed, return `(False, value)` or raise to fail; `(True, value)`
    succeeds with `value`.
    """

    def __init__(self, config=None):
        self.config = config or {}
        self.logger = logging.getLogger(f"action.{type(self).__name__}")

    def run(self, **parameters):
        raise NotImplementedError("an Action must implement run()")
