"""Run one Python action: read the request on stdin, report the result on ATTUNE_RESULT_FD.

Every step of a workflow pays this process's start-up, so the wrapper imports only what running
the action needs: the datastore client (urllib, http, ssl, email) is imported on the first
`action_service` call, `traceback` only when the action fails, and the entry point is loaded
with the frozen `importlib.machinery` rather than `importlib.util`/`inspect`. `logging` is
configured only when the action's module imported it or the action uses `self.logger`. The
runner starts it with `-c` (no `runpy`).
"""

import json
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader

from attune_sdk.action import Action, configure_logging

ACTION_MODULE = "attune_action_module"


def main() -> int:
    request = json.load(sys.stdin)
    result_fd = int(os.environ["ATTUNE_RESULT_FD"])
    try:
        action_class = load_action_class(request["entry_point"])
        if "logging" in sys.modules:  # pack code that logs gets INFO on stderr, as before
            configure_logging()
        action = action_class(config=request.get("config"))
        # Set after construction, as StackStorm does, so subclasses' own __init__ still work.
        action.action_service = LazyDatastoreService(
            request.get("datastore"), f"{request.get('pack', '')}.{action_class.__name__}"
        )
        report = interpret(action.run(**request.get("parameters", {})))
    except Exception as exc:  # noqa: BLE001 - any error in pack code fails the execution
        import traceback

        traceback.print_exc()
        report = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "result": None}
    write_report(result_fd, report)
    return 0 if report["status"] == "succeeded" else 1


def load_action_class(path: str) -> type:
    """Import the entry point and return the Action subclass it defines."""
    sys.path.insert(0, os.path.dirname(path))
    loader = SourceFileLoader(ACTION_MODULE, path)
    module = type(sys)(ACTION_MODULE)
    module.__spec__ = ModuleSpec(ACTION_MODULE, loader, origin=path)
    module.__loader__, module.__file__ = loader, path
    loader.exec_module(module)
    candidates = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Action) and obj.__module__ == ACTION_MODULE
    ]
    if len(candidates) != 1:
        raise TypeError(f"{path} must define exactly one Action subclass, found {len(candidates)}")
    return candidates[0]


class LazyDatastoreService:
    """`action_service` that builds the real one (and imports its HTTP client) when first used."""

    def __init__(self, access: dict | None, local_prefix: str):
        self._arguments = (access, local_prefix)
        self._service = None

    def __getattr__(self, name: str):
        if self._service is None:
            from attune_sdk.datastore import datastore_service

            self._service = datastore_service(*self._arguments)
        return getattr(self._service, name)


def interpret(value) -> dict:
    """StackStorm's convention: `(bool, result)` sets the status, anything else succeeds."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool):
        status = "succeeded" if value[0] else "failed"
        return {"status": status, "result": value[1]}
    return {"status": "succeeded", "result": value}


def write_report(fd: int, report: dict) -> None:
    data = json.dumps(report, default=str).encode()
    with os.fdopen(fd, "wb") as pipe:
        pipe.write(data)


if __name__ == "__main__":
    sys.exit(main())
