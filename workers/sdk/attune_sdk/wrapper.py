"""Run one Python action: read the request on stdin, report the result on ATTUNE_RESULT_FD."""

import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback

from attune_sdk.action import Action
from attune_sdk.datastore import datastore_service


def main() -> int:
    request = json.load(sys.stdin)
    result_fd = int(os.environ["ATTUNE_RESULT_FD"])
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        action_class = load_action_class(request["entry_point"])
        action = action_class(config=request.get("config"))
        # Set after construction, as StackStorm does, so subclasses' own __init__ still work.
        action.action_service = datastore_service(
            request.get("datastore"), f"{request.get('pack', '')}.{action_class.__name__}"
        )
        report = interpret(action.run(**request.get("parameters", {})))
    except Exception as exc:  # noqa: BLE001 - any error in pack code fails the execution
        traceback.print_exc()
        report = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "result": None}
    write_report(result_fd, report)
    return 0 if report["status"] == "succeeded" else 1


def load_action_class(path: str) -> type:
    """Import the entry point and return the Action subclass it defines."""
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("attune_action_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    candidates = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Action) and obj.__module__ == module.__name__
    ]
    if len(candidates) != 1:
        raise TypeError(f"{path} must define exactly one Action subclass, found {len(candidates)}")
    return candidates[0]


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
