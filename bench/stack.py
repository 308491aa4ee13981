"""A private Attune stack for benchmarks: its own database, Redis prefix, data dir and processes.

Usage (in a benchmark script, before importing anything from Django):

    env = prepare_environment()        # dedicated database, temp data dir, Redis prefix
    setup_database(env)                # migrate + register the packs (subprocesses)
    with Processes(env.data_dir / "logs", env.variables) as procs:
        procs.start("web", process_argv("web", sys.executable, port=env.port))
        ...

Children are started with `apps.core.processes.child_popen_kwargs()` (own session, SIGTERM when
this process dies) and stopped by `Processes.stop_all()`, which a `with` block always calls.
"""

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DB_NAME = "attune_bench"
DEFAULT_PG_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB_NAME}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_PACKS = [REPO_ROOT / "packs" / "core", REPO_ROOT / "bench" / "packs" / "benchpack"]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class BenchEnv:
    """Where the benchmark stack lives; `variables` is the environment of every child."""

    data_dir: Path
    database_url: str
    redis_url: str
    redis_prefix: str
    port: int
    variables: dict

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_kind(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_database_name(url: str, name: str) -> str:
    """Return `url` pointing at database `name` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def postgres_reachable(url: str) -> bool:
    """Return True if the server of `url` accepts a connection to its `postgres` database."""
    import psycopg

    try:
        psycopg.connect(with_database_name(url, "postgres"), connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def recreate_postgres_database(url: str) -> None:
    """Drop (forcibly) and create the database named in `url`."""
    import psycopg

    drop_postgres_database(url)
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database_name(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def choose_database(data_dir: Path) -> str:
    """DATABASE_URL's server, else local PostgreSQL, else SQLite in `data_dir`.

    On PostgreSQL the database is `<BENCH_DB_NAME>_<pid>`, created afresh and dropped when this
    process exits, so benchmarks running side by side never drop each other's database.
    """
    given = os.environ.get("DATABASE_URL", "")
    name = f"{BENCH_DB_NAME}_{os.getpid()}"
    if given.startswith("postgres"):
        url = with_database_name(given, name)
    elif not given and postgres_reachable(DEFAULT_PG_URL):
        url = with_database_name(DEFAULT_PG_URL, name)
    else:
        return f"sqlite:///{data_dir / 'attune_bench.sqlite3'}"
    recreate_postgres_database(url)
    atexit.register(drop_postgres_database, url)
    return url


def drop_postgres_database(url: str) -> None:
    """Drop the database named in `url` (this process's connections to it included)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    try:
        with psycopg.connect(with_database_name(url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error as exc:
        print(f"could not drop benchmark database {name}: {exc}", file=sys.stderr)


def prepare_environment(settings_module: str = "attune.settings") -> BenchEnv:
    """Create the temp data dir and database; export the settings for us and our children.

    `settings_module` lets a benchmark try a proposed configuration (a module that imports
    attune.settings and changes it) against the same workload.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="attune-bench-"))
    (data_dir / "logs").mkdir()
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    env = BenchEnv(
        data_dir=data_dir,
        database_url=choose_database(data_dir),
        redis_url=redis_url,
        redis_prefix=f"bench-{os.getpid()}:",
        port=free_port(),
        variables={},
    )
    overrides = {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": env.database_url,
        "REDIS_URL": redis_url,
        "ATTUNE_REDIS_PREFIX": env.redis_prefix,
        "ATTUNE_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        # Benchmarks drive the API as one user far faster than the default per-user limit.
        "ATTUNE_API_RATE_LIMIT_PER_MINUTE": "0",
    }
    os.environ.pop("CELERY_BROKER_URL", None)  # the broker is the Redis above, prefixed
    os.environ.update(overrides)
    env.variables = dict(os.environ)
    return env


def manage(env: BenchEnv, *args: str) -> None:
    """Run `manage.py <args>` with the bench environment; fail loudly with its output."""
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env.variables,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stderr[-4000:]}")


def setup_database(env: BenchEnv) -> None:
    """Migrate the bench database and register core + benchpack."""
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "register_packs", *(str(p) for p in BENCH_PACKS))


class Processes:
    """Child processes started together and stopped together (also on Ctrl-C or an error)."""

    def __init__(self, log_dir: Path, env: dict):
        self.log_dir = log_dir
        self.env = env
        self.children: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start `argv` as child `name`, its output going to `<log_dir>/<name>.log`."""
        from apps.core.processes import child_popen_kwargs

        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                **child_popen_kwargs(),
            )
        self.children[name] = process
        return process

    def cpu_seconds(self, names: list[str]) -> dict[str, float]:
        """CPU seconds used so far by each named child's process tree."""
        return {name: tree_cpu_seconds(self.children[name].pid) for name in names}

    def check_alive(self) -> None:
        """Raise if a child has exited."""
        for name, process in self.children.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}; see {self.log_dir}/{name}.log"
                )

    def stop_all(self) -> None:
        """SIGTERM every child, wait a while, then SIGKILL their process groups."""
        for process in self.children.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.children.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)  # pool processes included
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        self.children.clear()


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its live descendants, their reaped children
    included (Linux /proc; 0.0 where that is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            child_pids = [int(p) for p in children.read().split()]
    except (OSError, ValueError):
        return 0.0
    own = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # u, s, cu, cs time
    return own + sum(tree_cpu_seconds(child) for child in child_pids)


def wait_until_healthy(base_url: str, procs: Processes) -> None:
    """Wait until the web answers /api/v1/health with 200 (database, broker, a worker and a
    rules engine up)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            if requests.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Attune not healthy after {START_TIMEOUT:.0f}s; see {procs.log_dir}")


def wait_for_worker(app, hostname: str, procs: Processes) -> None:
    """Wait until the Celery worker `hostname` answers a ping on `app`'s broker."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        procs.check_alive()
        if app.control.ping(destination=[hostname], timeout=0.5):
            return
    raise RuntimeError(f"worker {hostname} did not start; see {procs.log_dir}")


def delete_redis_keys(env: BenchEnv) -> None:
    """Delete every Redis key under this run's prefix (queues, bindings, lists)."""
    import redis

    client = redis.Redis.from_url(env.redis_url)
    try:
        keys = list(client.scan_iter(match=f"{env.redis_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def stop_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so `finally` blocks stop the children."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def run_on_stack(name: str, args, env: BenchEnv, run, report, prepare=()) -> int:
    """The common body of a benchmark: migrate and register the packs, set Django up, call each
    of `prepare` (users, rules), `run(args, env, procs)` with the stack's processes (always
    stopped), then print `report(results)` and save the results as JSON."""
    setup_database(env)

    import django

    django.setup()
    for step in prepare:
        step()
    try:
        with Processes(env.data_dir / "logs", env.variables) as procs:
            results = run(args, env, procs)
    finally:
        delete_redis_keys(env)
    results["config"] = run_config(args, env)
    report(results)
    print(f"\nMachine speed: {results['config']['python_loop_us']} us per reference loop")
    save_results(results, args, env, name)
    return 0


def run_config(args, env) -> dict:
    """The settings a run used, stored beside its results."""
    return {
        **{k: v for k, v in vars(args).items() if k != "out"},
        "database": env.database_kind,
        "cpus": os.cpu_count(),
        "python_loop_us": python_loop_us(),
        "data_dir": str(env.data_dir),
    }


def python_loop_us() -> float:
    """Microseconds this machine takes for a fixed pure-Python loop (best of 5, idle stack).

    Machines of the same kind differed by up to twice in speed between sessions; this number,
    printed with every run, tells whether two runs' figures can be compared.
    """
    loop = timeit.Timer("sum(i * i for i in range(10000))")
    return round(min(loop.repeat(repeat=5, number=100)) / 100 * 1e6, 1)


def save_results(results: dict, args, env, name: str) -> Path:
    """Write the results as JSON (to --out, else the run's data dir) and say where."""
    out = args.out or env.data_dir / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nJSON: {out}")
    return out
