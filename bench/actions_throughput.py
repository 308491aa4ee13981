"""Executions per second through Attune, side by side with a bare Celery floor.

(a) Attune, on the real stack (web + one Celery worker, no beat): N executions of `core.local`
    with cmd=true and of the Python no-op `benchpack.noop`, requested with POST /api/v1/executions
    from K client threads. Timings come from the execution rows (requested_at, started_at,
    finished_at). A short unloaded probe (one execution at a time) shows the latency with no queue.
(b) The floor: a bare Celery task running `subprocess.run(["true"])` (bench/raw_tasks.py) on its
    own worker with the same concurrency, sent with `apply_async` from K threads; completion comes
    back on a Redis list (BLPOP), without a result backend.

Run: .venv/bin/python bench/actions_throughput.py [--shell-n 1000] [--python-n 300] ...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from bench import stack  # noqa: E402

SHELL = ("core.local", {"cmd": "true"})
PYTHON = ("benchpack.noop", {})
USERNAME = "bench"
PASSWORD = "bench-password-not-secret"
GOAL_TRUE_PER_SECOND = 500.0
GOAL_REQUEST_TO_RUNNING_P50_MS = 5.0
POLL_SECONDS = 0.1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shell-n", type=int, default=1000, help="core.local executions")
    parser.add_argument("--python-n", type=int, default=300, help="benchpack.noop executions")
    parser.add_argument("--floor-n", type=int, default=None, help="raw tasks (default: shell-n)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent HTTP client threads")
    parser.add_argument("--concurrency", type=int, default=4, help="worker pool size (both)")
    parser.add_argument("--warmup", type=int, default=50, help="runs before each measurement")
    parser.add_argument("--unloaded", type=int, default=20, help="one-at-a-time latency samples")
    parser.add_argument("--timeout", type=float, default=600.0, help="max seconds per phase")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    parser.add_argument(
        "--settings", default="attune.settings", help="Django settings module of every process"
    )
    return parser.parse_args(argv)


# --- numbers ----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def distribution_ms(seconds: list[float]) -> dict:
    """p50/p95/p99/max of durations given in seconds, in milliseconds."""
    return {
        name: (None if value is None else round(value * 1000, 2))
        for name, value in (
            ("p50", percentile(seconds, 50)),
            ("p95", percentile(seconds, 95)),
            ("p99", percentile(seconds, 99)),
            ("max", max(seconds) if seconds else None),
        )
    }


def split(n: int, parts: int) -> list[int]:
    """Split `n` jobs over `parts` workers as evenly as possible."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def run_threads(counts: list[int], work) -> None:
    """Run `work(count)` in one thread per entry of `counts` and wait for all of them."""
    threads = [threading.Thread(target=work, args=(count,)) for count in counts if count]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- Attune -----------------------------------------------------------------------------------


def create_user() -> None:
    """Create the benchmark's superuser in the bench database."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser(USERNAME, "", PASSWORD)


def get_token(base_url: str) -> str:
    """Log in through the API and return a bearer token."""
    response = requests.post(
        f"{base_url}/api/v1/auth/token",
        json={"username": USERNAME, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["token"]


def post_executions(base_url: str, token: str, action: tuple, n: int, threads: int) -> dict:
    """POST `n` executions from `threads` sessions; return ids, client timings and errors."""
    ref, parameters = action
    lock = threading.Lock()
    out = {"ids": [], "http_seconds": [], "errors": [], "first": None, "last": None}

    def work(count: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(count):
            started = time.time()
            with lock:
                out["first"] = min(out["first"] or started, started)
            response = session.post(
                f"{base_url}/api/v1/executions",
                json={"action": ref, "parameters": parameters},
                timeout=60,
            )
            ended = time.time()
            with lock:
                out["last"] = max(out["last"] or ended, ended)
                out["http_seconds"].append(ended - started)
                if response.status_code == 201:
                    out["ids"].append(response.json()["id"])
                else:
                    out["errors"].append(f"{response.status_code} {response.text[:200]}")

    run_threads(split(n, threads), work)
    return out


def wait_terminal(ids: list[int], timeout: float, poll: float = POLL_SECONDS) -> None:
    """Poll the database until every execution in `ids` is terminal."""
    from apps.executions.choices import TERMINAL
    from apps.executions.models import Execution

    deadline = time.monotonic() + timeout
    while True:
        left = Execution.objects.filter(pk__in=ids).exclude(status__in=TERMINAL).count()
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} of {len(ids)} executions not finished after {timeout}s")
        time.sleep(poll)


def execution_rows(ids: list[int]) -> list[tuple]:
    """(status, requested, started, finished) epoch seconds for each execution."""
    from apps.executions.models import Execution

    rows = Execution.objects.filter(pk__in=ids).values_list(
        "status", "requested_at", "started_at", "finished_at"
    )
    return [(status, *(t.timestamp() if t else None for t in times)) for status, *times in rows]


def summarize_rows(rows: list[tuple], first_request: float) -> dict:
    """Throughput and latency figures from execution rows."""
    finished = [r[3] for r in rows if r[3] is not None]
    wall = max(finished) - first_request if finished else None
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row[0]] = statuses.get(row[0], 0) + 1
    return {
        "n": len(rows),
        "statuses": statuses,
        "wall_seconds": round(wall, 3) if wall else None,
        "per_second": round(len(rows) / wall, 2) if wall else None,
        "request_to_running_ms": distribution_ms([r[2] - r[1] for r in rows if r[2]]),
        "request_to_finished_ms": distribution_ms([r[3] - r[1] for r in rows if r[3]]),
        "running_to_finished_ms": distribution_ms([r[3] - r[2] for r in rows if r[2] and r[3]]),
    }


class CpuMeter:
    """CPU milliseconds per run used by named child process trees and by this process (the
    client), between `__enter__` and `per_run(n)`."""

    def __init__(self, procs: stack.Processes | None, names: list[str]):
        self.procs, self.names = procs, names if procs else []

    def __enter__(self) -> "CpuMeter":
        self.before = self.procs.cpu_seconds(self.names) if self.procs else {}
        self.client_before = time.process_time()
        return self

    def __exit__(self, *exc_info) -> None:
        self.after = self.procs.cpu_seconds(self.names) if self.procs else {}
        self.client_after = time.process_time()

    def per_run(self, n: int) -> dict:
        used = {name: self.after[name] - self.before[name] for name in self.names}
        used["client"] = self.client_after - self.client_before
        return {name: round(seconds * 1000 / n, 2) for name, seconds in used.items()}


def measure_attune(env, token: str, action: tuple, n: int, args, procs=None) -> dict:
    """Warm up, then request `n` executions of `action` and time them until all are terminal;
    with `procs`, also the CPU the web and the worker used per execution."""
    if args.warmup:
        warm = post_executions(env.base_url, token, action, args.warmup, args.threads)
        wait_terminal(warm["ids"], args.timeout)
    with CpuMeter(procs, ["web", "worker"]) as cpu:
        posted = post_executions(env.base_url, token, action, n, args.threads)
        wait_terminal(posted["ids"], args.timeout)
    summary = summarize_rows(execution_rows(posted["ids"]), posted["first"])
    summary.update(
        cpu_ms_per_execution=cpu.per_run(n),
        action=action[0],
        http_errors=len(posted["errors"]),
        first_http_error=posted["errors"][0] if posted["errors"] else None,
        submit_per_second=round(n / (posted["last"] - posted["first"]), 2),
        http_ms=distribution_ms(posted["http_seconds"]),
    )
    return summary


def measure_unloaded(env, token: str, action: tuple, samples: int, args) -> dict:
    """Request executions one at a time, each after the previous finished: latency, no queue."""
    ids = []
    for _ in range(samples):
        posted = post_executions(env.base_url, token, action, 1, 1)
        wait_terminal(posted["ids"], args.timeout, poll=0.02)
        ids += posted["ids"]
    rows = execution_rows(ids)
    summary = summarize_rows(rows, min(r[1] for r in rows))
    summary.update(action=action[0], per_second=None, wall_seconds=None)
    return summary


# --- the floor --------------------------------------------------------------------------------


def send_raw(n: int, threads: int, spawn: bool = True) -> float:
    """Send `n` raw tasks from `threads` threads; return when the first was sent."""
    from bench.raw_tasks import raw_true

    first = []

    def work(count: int) -> None:
        for _ in range(count):
            now = time.time()
            first.append(now)
            raw_true.apply_async(args=[now, spawn])

    run_threads(split(n, threads), work)
    return min(first)


def collect_raw(n: int, timeout: float) -> list[list[float]]:
    """Pop `n` [sent, started, finished] records off the done list, blocking (BLPOP)."""
    from bench import raw_tasks

    client = raw_tasks.client()
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < n:
        left = deadline - time.monotonic()
        popped = client.blpop([raw_tasks.done_key()], timeout=max(1, int(left)))
        if popped is None or left <= 0:
            raise RuntimeError(f"only {len(records)} of {n} raw tasks finished in {timeout}s")
        records.append(json.loads(popped[1]))
    return records


def measure_floor(n: int, args, spawn: bool = True, procs=None) -> dict:
    """Warm up, then run `n` raw tasks and time them (and with `procs`, the worker's CPU)."""
    if args.warmup:
        send_raw(args.warmup, args.threads, spawn)
        collect_raw(args.warmup, args.timeout)
    with CpuMeter(procs, ["raw-worker"]) as cpu:
        first = send_raw(n, args.threads, spawn)
        records = collect_raw(n, args.timeout)
    wall = max(r[2] for r in records) - first
    return {
        "action": "raw celery: " + ("subprocess.run(['true'])" if spawn else "no subprocess"),
        "n": n,
        "wall_seconds": round(wall, 3),
        "per_second": round(n / wall, 2),
        "cpu_ms_per_execution": {
            "worker" if k == "raw-worker" else k: v for k, v in cpu.per_run(n).items()
        },
        "request_to_running_ms": distribution_ms([r[1] - r[0] for r in records]),
        "request_to_finished_ms": distribution_ms([r[2] - r[0] for r in records]),
        "running_to_finished_ms": distribution_ms([r[2] - r[1] for r in records]),
    }


def measure_floor_unloaded(samples: int, args) -> dict:
    """Send raw tasks one at a time, each after the previous finished: latency, no queue."""
    from bench.raw_tasks import raw_true

    records = []
    for _ in range(samples):
        raw_true.apply_async(args=[time.time()])
        records += collect_raw(1, args.timeout)
    return {
        "action": "raw celery: subprocess.run(['true']), one at a time",
        "n": samples,
        "request_to_running_ms": distribution_ms([r[1] - r[0] for r in records]),
        "request_to_finished_ms": distribution_ms([r[2] - r[0] for r in records]),
    }


# --- the stack --------------------------------------------------------------------------------


def start_attune(procs: stack.Processes, env: stack.BenchEnv, concurrency: int) -> None:
    """Start the web server and one Attune worker (no beat) and wait until both answer."""
    from apps.core.processes import process_argv
    from attune.celery import app

    procs.start("web", process_argv("web", sys.executable, port=env.port))
    procs.start("rules", process_argv("rules", sys.executable))  # idle here; health wants one
    procs.start(
        "worker",
        process_argv(
            "worker", sys.executable, worker_name="bench-attune@%h", concurrency=concurrency
        ),
    )
    stack.wait_for_worker(app, f"bench-attune@{socket.gethostname()}", procs)
    stack.wait_until_healthy(env.base_url, procs)


def start_floor(procs: stack.Processes, concurrency: int) -> None:
    """Start the raw Celery worker on its own queue and wait until it answers."""
    from bench.raw_tasks import QUEUE, app

    argv = [sys.executable, "-m", "celery", "-A", "bench.raw_tasks", "worker", "-Q", QUEUE]
    argv += ["-n", "bench-raw@%h", "--concurrency", str(concurrency), "--loglevel", "INFO"]
    procs.start("raw-worker", argv)
    stack.wait_for_worker(app, f"bench-raw@{socket.gethostname()}", procs)


# --- report -----------------------------------------------------------------------------------


def fmt(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    """Print a plain text table, numbers right-aligned."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    print(f"\n{title}")
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    )
    print("  ".join("-" * w for w in widths))
    for row in rows:
        cells = (
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        print("  ".join(cells))


def throughput_row(label: str, r: dict) -> list[str]:
    """One line of the throughput table."""
    cpu = r.get("cpu_ms_per_execution", {})
    return [
        label,
        str(r["n"]),
        fmt(r["wall_seconds"], 2),
        fmt(r["per_second"]),
        fmt(r.get("submit_per_second")),
        fmt(r.get("http_ms", {}).get("p50")),
        fmt(r.get("http_ms", {}).get("p99")),
        str(r.get("statuses", {}).get("succeeded", r["n"])),
        fmt(cpu.get("web")),
        fmt(cpu.get("worker")),
        fmt(cpu.get("client")),
    ]


def report(results: dict) -> None:
    """Print the throughput table, the latency table, the ratio and the goals."""
    measured = [
        ("attune  core.local true", "shell"),
        ("attune  benchpack.noop", "python"),
        ("floor   raw celery true", "floor"),
        ("floor   raw celery, no subprocess", "floor_no_spawn"),
    ]
    print_table(
        "Throughput (CPU: milliseconds of CPU per execution, by process tree)",
        ["scenario", "n", "wall s", "exec/s", "submit/s", "HTTP p50 ms", "HTTP p99 ms", "ok"]
        + ["CPU web", "CPU worker", "CPU client"],
        [throughput_row(label, results[key]) for label, key in measured],
    )
    latency_rows = measured + [
        ("attune  core.local true, unloaded", "shell_unloaded"),
        ("attune  benchpack.noop, unloaded", "python_unloaded"),
        ("floor   raw celery true, unloaded", "floor_unloaded"),
    ]
    print_table(
        "Latency (ms): request->running | request->finished",
        ["scenario", "run p50", "run p95", "run p99", "fin p50", "fin p95", "fin p99"],
        [
            [label]
            + [fmt(results[key]["request_to_running_ms"][p]) for p in ("p50", "p95", "p99")]
            + [fmt(results[key]["request_to_finished_ms"][p]) for p in ("p50", "p95", "p99")]
            for label, key in latency_rows
        ],
    )
    shell, floor = results["shell"], results["floor"]
    print(
        f"\nAttune/floor (`true`): {shell['per_second'] / floor['per_second']:.3f} "
        f"({fmt(shell['per_second'])}/s vs {fmt(floor['per_second'])}/s)"
    )
    print("\nGoals")
    for line in results["goals"]:
        print(f"  {line}")


def goal_lines(results: dict) -> list[str]:
    """The issue's goals, each with the measured value and PASS/FAIL."""
    rate = results["shell"]["per_second"]
    loaded = results["shell"]["request_to_running_ms"]["p50"]
    unloaded = results["shell_unloaded"]["request_to_running_ms"]["p50"]
    floor = results["floor_unloaded"]["request_to_running_ms"]["p50"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    return [
        f"`true` >= {GOAL_TRUE_PER_SECOND:.0f}/s: {fmt(rate)}/s  "
        f"{verdict(rate >= GOAL_TRUE_PER_SECOND)}  (raw Celery floor "
        f"{fmt(results['floor']['per_second'])}/s)",
        f"request->running p50 <= {GOAL_REQUEST_TO_RUNNING_P50_MS:.0f} ms: "
        f"{fmt(loaded)} ms under load {verdict(loaded <= GOAL_REQUEST_TO_RUNNING_P50_MS)}, "
        f"{fmt(unloaded)} ms unloaded {verdict(unloaded <= GOAL_REQUEST_TO_RUNNING_P50_MS)}  "
        f"(raw Celery floor unloaded {fmt(floor)} ms)",
    ]


# --- main -------------------------------------------------------------------------------------


def run(args, env: stack.BenchEnv, procs: stack.Processes) -> dict:
    """Start the stacks and measure every scenario."""
    start_attune(procs, env, args.concurrency)
    start_floor(procs, args.concurrency)
    token = get_token(env.base_url)
    results = {
        "shell": measure_attune(env, token, SHELL, args.shell_n, args, procs),
        "python": measure_attune(env, token, PYTHON, args.python_n, args, procs),
        "shell_unloaded": measure_unloaded(env, token, SHELL, args.unloaded, args),
        "python_unloaded": measure_unloaded(env, token, PYTHON, args.unloaded, args),
        "floor": measure_floor(args.floor_n or args.shell_n, args, procs=procs),
        "floor_no_spawn": measure_floor(
            args.floor_n or args.shell_n, args, spawn=False, procs=procs
        ),
        "floor_unloaded": measure_floor_unloaded(args.unloaded, args),
    }
    results["ratio_attune_true_to_floor"] = round(
        results["shell"]["per_second"] / results["floor"]["per_second"], 4
    )
    results["goals"] = goal_lines(results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    env = stack.prepare_environment(args.settings)
    print(
        f"actions_throughput: data dir {env.data_dir}, {env.database_kind}, "
        f"worker concurrency {args.concurrency}, {args.threads} client threads, "
        f"{os.cpu_count()} CPUs, settings {args.settings}",
        flush=True,
    )
    return stack.run_on_stack("actions_throughput", args, env, run, report, prepare=[create_user])


if __name__ == "__main__":
    sys.exit(main())
