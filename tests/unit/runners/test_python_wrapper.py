"""The Python action wrapper, run as the python-script runner starts it (a real process)."""

import json
import os
import subprocess
import sys
import textwrap

from workers.runners.python_script import SDK_DIR, WRAPPER


def run_action(tmp_path, source: str, parameters: dict | None = None, datastore=None):
    """Run the wrapper on an action file; return (report, stderr)."""
    entry_point = tmp_path / "action.py"
    entry_point.write_text(textwrap.dedent(source))
    request = {
        "execution_id": 1,
        "entry_point": str(entry_point),
        "parameters": parameters or {},
        "config": {},
        "pack": "tests",
        "datastore": datastore,
    }
    read_fd, write_fd = os.pipe()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(SDK_DIR)}
    env["ATTUNE_RESULT_FD"] = str(write_fd)
    try:
        done = subprocess.run(
            [sys.executable, "-c", WRAPPER],
            input=json.dumps(request).encode(),
            env=env,
            pass_fds=(write_fd,),
            capture_output=True,
            timeout=30,
        )
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        report = json.loads(pipe.read())
    return report, done.stderr.decode()


def test_result_and_parameters(tmp_path):
    report, _ = run_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Add(Action):
            def run(self, a, b):
                return a + b
        """,
        {"a": 2, "b": 3},
    )
    assert report == {"status": "succeeded", "result": 5}


def test_self_logger_logs_info_to_stderr(tmp_path):
    report, stderr = run_action(
        tmp_path,
        """
        from attune_sdk import Action

        class Talk(Action):
            def run(self):
                self.logger.info("working on it")
                return self.logger.name
        """,
    )
    assert report["result"] == "action.Talk"
    assert "INFO working on it" in stderr


def test_module_level_logging_still_configured(tmp_path):
    _, stderr = run_action(
        tmp_path,
        """
        import logging

        from attune_sdk import Action

        log = logging.getLogger("mine")

        class Talk(Action):
            def run(self):
                log.info("plain logging")
        """,
    )
    assert "INFO plain logging" in stderr


def test_logger_can_be_replaced(tmp_path):
    report, _ = run_action(
        tmp_path,
        """
        from attune_sdk import Action

        class Own(Action):
            def __init__(self, config=None):
                super().__init__(config)
                self.logger = "mine"

            def run(self):
                return self.logger
        """,
    )
    assert report["result"] == "mine"


def test_datastore_service_made_on_first_use(tmp_path):
    report, _ = run_action(
        tmp_path,
        """
        import sys

        from attune_sdk import Action

        class Kv(Action):
            def run(self):
                before = "urllib.request" in sys.modules
                try:
                    self.action_service.get_value("k")
                except Exception as exc:
                    return [before, type(exc).__name__, str(exc)]
        """,
    )
    assert report["result"] == [
        False,
        "DatastoreError",
        "this process was started without datastore access",
    ]


def test_failure_reports_error_and_traceback(tmp_path):
    report, stderr = run_action(
        tmp_path,
        """
        from attune_sdk import Action

        class Boom(Action):
            def run(self):
                raise ValueError("bad thing")
        """,
    )
    assert report["status"] == "failed"
    assert report["error"] == "ValueError: bad thing"
    assert "Traceback" in stderr and "bad thing" in stderr


def test_sdk_names_resolve_lazily():
    check = (
        "import sys, attune_sdk; assert 'attune_sdk.sensor' not in sys.modules; "
        "from attune_sdk import Action, PollingSensor, Sensor; "
        "print(Action.__name__, PollingSensor.__name__, Sensor.__name__); attune_sdk.Nope"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(SDK_DIR)}
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    assert done.stdout == "Action PollingSensor Sensor\n"
    assert "AttributeError: module 'attune_sdk' has no attribute 'Nope'" in done.stderr
