"""The live platform for end-to-end tests: Daphne, a Celery worker, beat and the sensor
container, started once.

They run as real subprocesses against the test database and Redis; tests drive them through
the REST API.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from apps.core.processes import DEFAULT_QUEUES, child_popen_kwargs, process_argv

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = Path(settings.DATA_DIR) / "logs"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the test database pytest-django created, for the live processes."""
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    auth = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    return f"postgres://{auth}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


@dataclass
class Stack:
    port: int = field(default_factory=free_port)
    processes: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "PYTHONUNBUFFERED": "1",
            "ATTUNE_API_URL": self.url,
        }

    def start(self, name: str, kind: str | None = None, **options) -> subprocess.Popen:
        """Start one platform process of `kind` (as `run_platform` would), known as `name`."""
        argv = process_argv(kind or name, sys.executable, port=self.port, **options)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(LOG_DIR / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            **child_popen_kwargs(),
        )
        self.processes[name] = process
        return process

    def start_all(self) -> None:
        self.start("web")
        self.start_worker("worker")
        self.start("rules")
        self.start("events")
        self.start("beat")
        self.start("sensors")
        self.wait_until_healthy()

    def start_worker(
        self, name: str, concurrency: int = 4, queues: str = DEFAULT_QUEUES
    ) -> subprocess.Popen:
        process = self.start(
            name, "worker", worker_name=f"{name}@%h", concurrency=concurrency, queues=queues
        )
        self.wait_for_worker(f"{name}@{socket.gethostname()}")
        return process

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # starting, or a busy machine
                pass
            time.sleep(0.2)
        raise RuntimeError(f"platform not healthy after {START_TIMEOUT}s; see {LOG_DIR}")

    def wait_for_worker(self, hostname: str) -> None:
        from attune.celery import app

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            if app.control.ping(destination=[hostname], timeout=0.5):
                return
        raise RuntimeError(f"worker {hostname} did not start; see {LOG_DIR}")

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {LOG_DIR}")

    def kill(self, name: str) -> None:
        """SIGKILL a process and everything in its process group (a crashed machine)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, name: str, timeout: float = 30.0) -> int:
        """SIGTERM a process, as an operator would, and return its exit code."""
        process = self.processes.pop(name)
        process.terminate()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
