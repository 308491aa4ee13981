"""Where an execution's time goes: the cost of each step, measured one at a time.

Steps: opening a database connection; one `POST /api/v1/executions` in-process (Django test
client) with a kept connection and with a new one per request (CONN_MAX_AGE=0 with the pool);
the same POST through the live web server, one at a time, with the PostgreSQL sessions it opens;
one execution run in-process by the worker code (queries, SQL time, Redis commands); the same
on a live Celery worker with the sessions it opens; and spawning the processes that runners
start.

Run: .venv/bin/python bench/execution_costs.py [--n 200]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import requests  # noqa: E402

from bench import stack  # noqa: E402

USERNAME = "bench"
PASSWORD = "bench-password-not-secret"
SHELL_BODY = {"action": "core.local", "parameters": {"cmd": "true"}}
PYTHON_BODY = {"action": "benchpack.noop", "parameters": {}}
COLD_EXECUTIONS = 10  # the live worker's first executions, left out of its timing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="repetitions per step")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    parser.add_argument(
        "--settings", default="attune.settings", help="Django settings module of every process"
    )
    return parser.parse_args(argv)


class Timer:
    """Wall and CPU time of a block, per repetition."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self) -> "Timer":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall_ms = (time.perf_counter() - self.wall) * 1000 / self.n
        self.cpu_ms = (time.process_time() - self.cpu) * 1000 / self.n


@contextmanager
def counting_redis_commands():
    """Count redis-py commands (pipelines count once) sent by this process inside the block."""
    import redis

    counts = {"commands": 0}
    originals = (redis.Redis.execute_command, redis.client.Pipeline.execute)

    def command(self, *args, **kwargs):
        counts["commands"] += 1
        return originals[0](self, *args, **kwargs)

    def pipeline(self, *args, **kwargs):
        counts["commands"] += 1
        return originals[1](self, *args, **kwargs)

    redis.Redis.execute_command, redis.client.Pipeline.execute = command, pipeline
    try:
        yield counts
    finally:
        redis.Redis.execute_command, redis.client.Pipeline.execute = originals


def pg_sessions(env: stack.BenchEnv) -> int | None:
    """Sessions PostgreSQL has opened on the bench database so far (None on SQLite)."""
    if env.database_kind != "postgresql":
        return None
    import psycopg

    with psycopg.connect(env.database_url) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return row[0]


def wait_sessions_flushed() -> None:
    """pg_stat_database is updated when a backend exits or about once a second."""
    time.sleep(1.5)


# --- steps ------------------------------------------------------------------------------------


def connect_cost(n: int) -> dict:
    """Open (and close) a Django database connection."""
    from django.db import connection

    with Timer(n) as timer:
        for _ in range(n):
            connection.close()
            connection.ensure_connection()
    return {"wall_ms": round(timer.wall_ms, 3), "cpu_ms": round(timer.cpu_ms, 3)}


def api_client(token: str):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")


def post(client, body: dict) -> int:
    response = client.post("/api/v1/executions", json.dumps(body), content_type="application/json")
    if response.status_code != 201:
        raise RuntimeError(f"POST failed: {response.status_code} {response.content[:300]!r}")
    return response.json()["id"]


def api_in_process(token: str, n: int, new_connection: bool) -> tuple[dict, list[int]]:
    """POST n executions through Django in this process; cost per request and its ids."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(token)
    post(client, SHELL_BODY)  # warm
    ids = []
    with counting_redis_commands() as redis_counts, CaptureQueriesContext(connection) as queries:
        with Timer(n) as timer:
            for _ in range(n):
                if new_connection:
                    connection.close()
                ids.append(post(client, SHELL_BODY))
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000 / n
    return {
        "wall_ms": round(timer.wall_ms, 3),
        "cpu_ms": round(timer.cpu_ms, 3),
        "queries": round(len(queries.captured_queries) / n, 2),
        "sql_ms": round(sql_ms, 3),
        "redis_commands": round(redis_counts["commands"] / n, 2),
        "statements": sorted({q["sql"].split(" ")[0] for q in queries.captured_queries}),
    }, ids


def api_over_http(env: stack.BenchEnv, token: str, n: int) -> dict:
    """POST n executions to the live web server one at a time; latency and PG sessions opened."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url = f"{env.base_url}/api/v1/executions"
    session.post(url, json=SHELL_BODY, timeout=30).raise_for_status()
    wait_sessions_flushed()
    before = pg_sessions(env)
    with Timer(n) as timer:
        for _ in range(n):
            session.post(url, json=SHELL_BODY, timeout=30).raise_for_status()
    wait_sessions_flushed()
    after = pg_sessions(env)
    sessions = None if before is None else round((after - before) / n, 2)
    return {"wall_ms": round(timer.wall_ms, 3), "pg_sessions_per_request": sessions}


def worker_in_process(ids: list[int], new_connection: bool) -> dict:
    """Run requested executions with the worker's code in this process; cost per execution."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workers.executor import run_execution

    with counting_redis_commands() as redis_counts, CaptureQueriesContext(connection) as queries:
        with Timer(len(ids)) as timer:
            for execution_id in ids:
                if new_connection:
                    connection.close()
                run_execution(execution_id)
    n = len(ids)
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000 / n
    return {
        "wall_ms": round(timer.wall_ms, 3),
        "cpu_ms_excluding_children": round(timer.cpu_ms, 3),
        "queries": round(len(queries.captured_queries) / n, 2),
        "sql_ms": round(sql_ms, 3),
        "redis_commands": round(redis_counts["commands"] / n, 2),
        "statements": sorted({q["sql"].split(" ")[0] for q in queries.captured_queries}),
    }


def purge_queue(env: stack.BenchEnv, queue: str) -> None:
    """Drop every message waiting in a Celery queue (a Redis list under the run's prefix)."""
    import redis

    client = redis.Redis.from_url(env.redis_url)
    client.delete(f"{env.redis_prefix}{queue}")
    client.close()


def worker_live(env: stack.BenchEnv, token: str, procs: stack.Processes, n: int) -> dict:
    """Queue n executions, then start a worker (concurrency 1) and let it drain them: its time
    per execution from the rows (the first few, cold, left out) and the PostgreSQL sessions it
    opened (its start-up's included)."""
    from apps.core.processes import process_argv
    from attune.celery import app
    from bench.actions_throughput import execution_rows, wait_terminal

    purge_queue(env, "actions")  # messages of executions already run in-process or never run
    client = api_client(token)
    ids = [post(client, SHELL_BODY) for _ in range(n + COLD_EXECUTIONS)]
    wait_sessions_flushed()
    before = pg_sessions(env)
    argv = process_argv("worker", sys.executable, worker_name="bench-costs@%h", concurrency=1)
    procs.start("worker", argv)
    stack.wait_for_worker(app, f"bench-costs@{socket.gethostname()}", procs)
    wait_terminal(ids, 300)
    wait_sessions_flushed()
    after = pg_sessions(env)
    rows = sorted(execution_rows(ids), key=lambda row: row[2])[COLD_EXECUTIONS:]
    cycle_ms = (max(r[3] for r in rows) - min(r[2] for r in rows)) * 1000 / (len(rows) - 1)
    run_ms = sorted((r[3] - r[2]) * 1000 for r in rows)[len(rows) // 2]
    sessions = None if before is None else round((after - before - 1) / len(ids), 2)
    return {
        "ms_per_execution": round(cycle_ms, 3),
        "running_to_finished_p50_ms": round(run_ms, 3),
        "pg_sessions_per_execution": sessions,
    }


def spawn_costs(n: int) -> dict:
    """Process start costs: what the runners start, and the bare minimum."""
    from workers.runners.python_script import SDK_DIR

    def timed(argv, **kwargs) -> float:
        with Timer(n) as timer:
            for _ in range(n):
                subprocess.run(argv, check=True, **kwargs)
        return round(timer.wall_ms, 3)

    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return {
        "true": timed(["true"]),
        "bash -c true": timed(["bash", "-c", "true"]),
        "bash -c true, piped, new session": timed(
            ["bash", "-c", "true"], stdin=subprocess.DEVNULL, start_new_session=True, **quiet
        ),
        "python -c pass": timed([sys.executable, "-c", "pass"]),
        "python -S -c pass": timed([sys.executable, "-S", "-c", "pass"]),
        "python -c 'import attune_sdk.wrapper'": timed(
            [sys.executable, "-c", "import attune_sdk.wrapper"], env={"PYTHONPATH": str(SDK_DIR)}
        ),
    }


# --- main -------------------------------------------------------------------------------------


def measure(env: stack.BenchEnv, args, procs: stack.Processes) -> dict:
    from apps.accounts.services import login

    token, _ = login(USERNAME, PASSWORD)
    results = {"connect": connect_cost(args.n)}
    results["api_kept_connection"], kept_ids = api_in_process(token, args.n, False)
    results["api_new_connection"], new_ids = api_in_process(token, args.n, True)
    results["worker_kept_connection"] = worker_in_process(kept_ids, False)
    results["worker_new_connection"] = worker_in_process(new_ids, True)
    procs.start("web", process_argv_web(env))
    wait_for_port(env.port, procs)
    results["api_http"] = api_over_http(env, token, args.n)
    results["worker_live"] = worker_live(env, token, procs, min(args.n, 100))
    results["spawn_ms"] = spawn_costs(max(20, args.n // 4))
    return results


def process_argv_web(env: stack.BenchEnv) -> list[str]:
    from apps.core.processes import process_argv

    return process_argv("web", sys.executable, port=env.port)


def wait_for_port(port: int, procs: stack.Processes) -> None:
    deadline = time.monotonic() + stack.START_TIMEOUT
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"web did not listen on {port}")


def report(results: dict) -> None:
    """Print each step's cost."""
    rows = [
        ("open a DB connection", results["connect"]),
        ("POST in-process, kept DB connection", results["api_kept_connection"]),
        ("POST in-process, new DB connection", results["api_new_connection"]),
        ("POST through the web server, sequential", results["api_http"]),
        ("worker in-process, kept DB connection", results["worker_kept_connection"]),
        ("worker in-process, new DB connection", results["worker_new_connection"]),
        ("live worker (c=1), queue pre-filled", results["worker_live"]),
    ]
    print("\nPer-step costs (per request / per execution)")
    for label, values in rows:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        print(f"  {label:40s} {shown}")
    print("\nProcess spawn (ms, subprocess.run from this process)")
    for label, value in results["spawn_ms"].items():
        print(f"  {label:40s} {value}")


def log_to_file(path: Path) -> None:
    """Keep this process's log lines (still formatted and written: part of the cost) off the
    console."""
    import logging

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(path, "a"))  # noqa: SIM115 - lives as long as the process


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    env = stack.prepare_environment(args.settings)
    print(f"execution_costs: data dir {env.data_dir}, {env.database_kind}", flush=True)
    stack.setup_database(env)

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser(USERNAME, "", PASSWORD)
    log_to_file(env.data_dir / "logs" / "bench.log")
    try:
        with stack.Processes(env.data_dir / "logs", env.variables) as procs:
            results = measure(env, args, procs)
    finally:
        stack.delete_redis_keys(env)
    report(results)
    out = args.out or env.data_dir / "execution_costs.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
