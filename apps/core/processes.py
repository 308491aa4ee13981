"""The platform's long-running processes, named in one place.

`run_platform`, the test harness and docker-compose all start them from here, so a flag changed
here changes everywhere. Run one in the foreground (it replaces the current process):

    python -m apps.core.processes web --host 0.0.0.0
    python -m apps.core.processes worker
    python -m apps.core.processes rules
    python -m apps.core.processes events
    python -m apps.core.processes sensors
"""

import argparse
import ctypes
import functools
import logging
import os
import signal
import sys

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKER_CONCURRENCY = 4
# One web process is bound by one core's worth of Django + DRF work per request; two share the
# listening socket (uvicorn's supervisor) and use both cores of a small machine.
DEFAULT_WEB_WORKERS = 2
DEFAULT_WORKER_NAME = "attune@%h"
# Executions run on `actions` (the `worker` process); the workflow engine, inquiries, timers and
# housekeeping (`control`) on the `events` process, so they never wait behind long actions.
DEFAULT_QUEUES = "actions"
EVENTS_QUEUES = "control"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# argv after `python -m`; {placeholders} are filled in by process_argv().
PROCESSES: dict[str, tuple[str, ...]] = {
    # uvicorn rather than daphne: its WebSocket send waits while the client's socket is full,
    # which is how a slow stream consumer is noticed (and it costs less per HTTP request).
    "web": (
        "uvicorn", "attune.asgi:application",
        "--host", "{host}", "--port", "{port}", "--workers", "{web_workers}",
        "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
        "--lifespan", "off", "--no-access-log", "--no-server-header",
        "--ws-ping-interval", "{ws_ping_seconds}", "--ws-ping-timeout", "{ws_ping_seconds}",
        "--ws-max-size", "1048576",
        # Compressing every event once per connection would cost more CPU than the fan-out.
        "--ws-per-message-deflate", "false",
    ),
    # Threads, not prefork: an action's work happens in its own subprocess (or over HTTP), so a
    # slot only waits on it. One process hands messages to threads without a pipe and a process
    # wake-up each: a fan-out of 10 started within 43 ms instead of 125 ms (2 cores).
    "worker": (
        "celery", "-A", "attune", "worker",
        "-Q", "{queues}",
        "-n", "{worker_name}",
        "--pool", "threads",
        "--concurrency", "{concurrency}",
        "--loglevel", "INFO",
    ),
    # Trigger instances come off a Redis list in batches, not as one Celery task each
    # (workers/rules.py).
    "rules": ("manage", "run_rules_engine"),
    "events": (
        "celery", "-A", "attune", "worker",
        "-Q", EVENTS_QUEUES,
        "-n", "events@%h",
        "--concurrency", "2",
        "--loglevel", "INFO",
    ),
    "beat": (
        "celery", "-A", "attune", "beat",
        "-S", "workers.beat:TimerScheduler",
        "--loglevel", "INFO",
    ),
    # manage.py as a module (run from the project directory), so DJANGO_SETTINGS_MODULE
    # keeps its usual default.
    "sensors": ("manage", "run_sensors"),
}  # fmt: skip


def env_int(name: str, default: int) -> int:
    """Read a positive integer from the environment; fail loudly on a bad value."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def web_port() -> int:
    """Return the web port: $PORT, else 8000."""
    return env_int("PORT", DEFAULT_PORT)


def worker_concurrency() -> int:
    """Return the worker pool size: $ATTUNE_WORKER_CONCURRENCY, else 4."""
    return env_int("ATTUNE_WORKER_CONCURRENCY", DEFAULT_WORKER_CONCURRENCY)


def web_workers() -> int:
    """Return the number of web processes: $ATTUNE_WEB_WORKERS, else 2."""
    return env_int("ATTUNE_WEB_WORKERS", DEFAULT_WEB_WORKERS)


def process_argv(
    name: str,
    python: str = sys.executable,
    port: int | None = None,
    host: str = DEFAULT_HOST,
    concurrency: int | None = None,
    worker_name: str = DEFAULT_WORKER_NAME,
    queues: str = DEFAULT_QUEUES,
    workers: int | None = None,
) -> list[str]:
    """Return the full argv of process `name`, run with the interpreter `python`."""
    values = {
        "host": host,
        "port": port or web_port(),
        "concurrency": concurrency or worker_concurrency(),
        "worker_name": worker_name,
        "queues": queues,
        # How often the web server pings WebSocket clients, and how long it waits for the pong
        # before it drops a client that stopped reading.
        "ws_ping_seconds": env_int("ATTUNE_WS_PING_SECONDS", 20),
        "web_workers": workers or web_workers(),
    }
    return [python, "-m", *(part.format(**values) for part in PROCESSES[name])]


def all_process_argvs(python: str = sys.executable, **options) -> dict[str, list[str]]:
    """Return {name: argv} for every process, in start order."""
    return {name: process_argv(name, python, **options) for name in PROCESSES}


def child_popen_kwargs() -> dict:
    """Return Popen options for a supervised child: its own session, and on Linux a SIGTERM
    when its parent dies, so even a SIGKILLed supervisor leaves no orphans behind.

    Its own session keeps a terminal's Ctrl-C away from the children: the supervisor alone
    decides how they stop (SIGTERM first, so Celery finishes its tasks).
    """
    kwargs = {"start_new_session": True}
    if sys.platform.startswith("linux"):
        _libc()  # load in the parent: the forked child should only make the call
        kwargs["preexec_fn"] = _die_with_parent
    return kwargs


def _die_with_parent() -> None:
    """Runs in the forked child before exec: prctl(PR_SET_PDEATHSIG, SIGTERM)."""
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def main(argv: list[str] | None = None) -> None:
    """Replace this process with the named platform process (used by the Docker images)."""
    parser = argparse.ArgumentParser(
        prog="python -m apps.core.processes", description=__doc__.splitlines()[0]
    )
    parser.add_argument("name", choices=sorted(PROCESSES))
    parser.add_argument("--host", default=DEFAULT_HOST, help="web bind address")
    parser.add_argument("--port", type=int, default=None, help="web port (default $PORT or 8000)")
    args = parser.parse_args(argv)
    command = process_argv(args.name, port=args.port, host=args.host)
    print(" ".join(command), flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
