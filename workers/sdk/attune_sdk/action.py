"""Base class for Python actions (StackStorm-compatible)."""

LOG_FORMAT = "%(levelname)s %(message)s"


class Action:
    """Subclass this and implement `run(**parameters)`.

    Return a value to succeed, return `(False, value)` or raise to fail; `(True, value)`
    succeeds with `value`. `self.action_service` reads and writes the datastore.
    """

    def __init__(self, config=None, action_service=None):
        self.config = config or {}
        self.action_service = action_service

    @property
    def logger(self):
        """`action.<Class>`, logging INFO and up to stderr; made on first use because importing
        `logging` costs more than many actions' whole run."""
        logger = self.__dict__.get("_logger")
        if logger is None:
            import logging

            configure_logging()
            logger = self.__dict__["_logger"] = logging.getLogger(f"action.{type(self).__name__}")
        return logger

    @logger.setter
    def logger(self, value):
        self.__dict__["_logger"] = value

    def run(self, **parameters):
        raise NotImplementedError("an Action must implement run()")


def configure_logging() -> None:
    """Root logger at INFO on stderr (a no-op once the process configured logging itself)."""
    import logging
    import sys

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format=LOG_FORMAT)
