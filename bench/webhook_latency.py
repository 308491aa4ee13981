"""Webhook -> shell action started: latency under open-loop load, beside a raw Celery floor.

(a) Attune, on the real stack (uvicorn, the rules engine, Celery workers on actions and control,
    no beat): one rule on `core.st2.webhook` url=bench-latency with criteria
    `trigger.body.event equals bench` runs `core.local` cmd=true. Events are POSTed to
    /api/v1/webhooks/bench-latency (X-API-Key).
(b) The floor: a bare Django view under uvicorn (bench/floor_web.py, its own settings) that matches
    the same dict and `.delay()`s a bare Celery task running `subprocess.run(["true"])`
    (bench/raw_tasks.py) on its own worker with the same concurrency.

Load is open loop: at each rate (10, 50, 100 events/s by default) event i is sent at
t0 + i / rate from a pool of client threads, whatever the previous responses do. Per event:
- HTTP: time from send to the 202 response (client clock);
- sent -> started: the task's start time minus the client's send time (the same host's clock):
  Attune `execution.started_at`, floor the task's `time.time()` at entry. For Attune also
  occurred -> started (`execution.started_at - trigger_instance.occurred_at`, server side only).
`lag max` is how late the client sent its worst event against the schedule (should be ~0;
if not, the client, not the server, limited the rate).

Goal (issue #3): sent -> started p50 <= 10 ms and p99 <= 30 ms at 100 events/s.

Run: .venv/bin/python bench/webhook_latency.py [--rates 10,50,100] [--seconds 15]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

import requests  # noqa: E402

from bench import stack  # noqa: E402
from bench.actions_throughput import (  # noqa: E402
    CpuMeter,
    collect_raw,
    create_user,
    distribution_ms,
    fmt,
    print_table,
    start_floor,
)

WEBHOOK = "bench-latency"
GOAL_RATE = 100
GOAL_P50_MS = 10.0
GOAL_P99_MS = 30.0
HTTP_TIMEOUT = 30.0
# The process trees whose CPU per event is reported (the client's is added).
ATTUNE_PROCESSES = ["web", "worker", "rules", "events"]
# Its own database, so it can run beside the other benchmarks (they recreate attune_bench).
BENCH_DB_NAME = "attune_bench_webhooks"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,50,100", help="events/s, comma separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each rate")
    parser.add_argument("--threads", type=int, default=16, help="client sender threads")
    parser.add_argument("--concurrency", type=int, default=4, help="worker pool size (both)")
    parser.add_argument("--warmup", type=int, default=30, help="events sent before measuring")
    parser.add_argument("--timeout", type=float, default=120.0, help="max wait for the starts")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    parser.add_argument(
        "--settings", default="attune.settings", help="Django settings module of Attune"
    )
    args, _unknown = parser.parse_known_args(argv)  # run_all passes its arguments to everyone
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    return args


# --- open-loop sender -------------------------------------------------------------------------


def open_loop(rate: float, seconds: float, threads: int, send) -> list[dict]:
    """Send `rate * seconds` events on a fixed schedule from `threads` threads.

    `send(connection, i, sent_at)` posts event i over the thread's keep-alive
    `http.client.HTTPConnection` and returns (status, trigger instance id or None).
    Thread j sends events j, j + threads, ...; a thread blocked on a slow response delays only
    its own next event (shown as lag), never the schedule of the others.
    """
    n = max(1, int(rate * seconds))
    t0 = time.time() + 0.3
    events: list[dict | None] = [None] * n

    def work(j: int) -> None:
        connection = send.connect()
        for i in range(j, n, threads):
            due = t0 + i / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            sent = time.time()
            try:
                status, instance_id = send(connection, i, sent)
            except (http.client.HTTPException, OSError) as exc:
                connection.close()  # the next request connects again
                status, instance_id = f"error {type(exc).__name__}", None
            events[i] = {
                "i": i,
                "due": due,
                "sent": sent,
                "answered": time.time(),
                "status": status,
                "instance_id": instance_id,
            }

    workers = [threading.Thread(target=work, args=(j,)) for j in range(min(threads, n))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [e for e in events if e is not None]


class JsonSender:
    """Posts events as JSON to one URL with http.client.

    The client shares the machine with the systems it measures: `requests` cost about three
    times the CPU per call, taken from the servers at the highest rate.
    """

    def __init__(self, url: str, headers: dict, read_instance_id: bool):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.headers = {"Content-Type": "application/json", **headers}
        self.read_instance_id = read_instance_id

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)

    def __call__(self, connection: http.client.HTTPConnection, i: int, sent: float):
        body = json.dumps({"event": "bench", "seq": i, "sent_at": sent})
        connection.request("POST", self.path, body, self.headers)
        response = connection.getresponse()
        content = response.read()
        instance_id = None
        if self.read_instance_id and response.status == 202:
            instance_id = json.loads(content)["trigger_instance_id"]
        return response.status, instance_id


def attune_sender(base_url: str, api_key: str) -> JsonSender:
    url = f"{base_url}/api/v1/webhooks/{WEBHOOK}"
    return JsonSender(url, {"X-API-Key": api_key}, read_instance_id=True)


def floor_sender(base_url: str) -> JsonSender:
    return JsonSender(f"{base_url}/webhooks/{WEBHOOK}", {}, read_instance_id=False)


# --- Attune -----------------------------------------------------------------------------------


def create_webhook_rule() -> None:
    """The rule every event matches: webhook bench-latency -> core.local true."""
    from django.contrib.auth import get_user_model

    from apps.rules.services import create_rule

    owner = get_user_model().objects.get(username="bench")
    create_rule(
        {
            "name": "webhook_latency",
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": WEBHOOK}},
            "criteria": {"trigger.body.event": {"type": "equals", "pattern": "bench"}},
            "action": {"ref": "core.local", "parameters": {"cmd": "true"}},
        },
        owner=owner,
    )


def create_api_key() -> str:
    from django.contrib.auth import get_user_model

    from apps.accounts.services import create_api_key as create

    raw, _ = create(get_user_model().objects.get(username="bench"), "webhook-latency")
    return raw


def wait_started(instance_ids: list[int], timeout: float) -> list[tuple]:
    """Wait until every instance's execution has started; return
    (instance id, occurred_at, started_at) epoch seconds, started_at None if it never did."""
    from apps.rules.models import RuleEnforcement

    rows = RuleEnforcement.objects.filter(trigger_instance_id__in=instance_ids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rows.filter(execution__started_at__isnull=False).count() >= len(instance_ids):
            break
        time.sleep(0.2)
    values = rows.values_list(
        "trigger_instance_id", "trigger_instance__occurred_at", "execution__started_at"
    )
    return [(i, o.timestamp(), s.timestamp() if s else None) for i, o, s in values]


def measure_attune(send, rate: float, args, procs: stack.Processes) -> dict:
    with CpuMeter(procs, ATTUNE_PROCESSES) as cpu:
        events = open_loop(rate, args.seconds, args.threads, send)
        ids = [e["instance_id"] for e in events if e["instance_id"]]
        rows = {row[0]: row for row in wait_started(ids, args.timeout)}
    sent_to_started, occurred_to_started = [], []
    for event in events:
        row = rows.get(event["instance_id"])
        if row and row[2] is not None:
            sent_to_started.append(row[2] - event["sent"])
            occurred_to_started.append(row[2] - row[1])
    summary = summarize(events, rate, sent_to_started, occurred_to_started)
    summary["cpu_ms_per_event"] = cpu.per_run(len(events))
    return summary


def start_attune(procs: stack.Processes, env: stack.BenchEnv, concurrency: int) -> None:
    """Start the web server, the actions worker and the events worker (no beat); wait until
    healthy."""
    from apps.core.processes import process_argv

    procs.start("web", process_argv("web", sys.executable, port=env.port))
    procs.start(
        "worker",
        process_argv(
            "worker", sys.executable, worker_name="bench-webhook@%h", concurrency=concurrency
        ),
    )
    procs.start("rules", process_argv("rules", sys.executable))
    procs.start("events", process_argv("events", sys.executable))
    wait_healthy(env.base_url, procs)


def wait_healthy(base_url: str, procs: stack.Processes) -> None:
    """As stack.wait_until_healthy, but a slow answer (a busy machine) is retried, not fatal."""
    deadline = time.monotonic() + stack.START_TIMEOUT
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            if requests.get(f"{base_url}/api/v1/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Attune not healthy after {stack.START_TIMEOUT:.0f}s; see {procs.log_dir}")


# --- the floor --------------------------------------------------------------------------------


def start_floor_web(env: stack.BenchEnv, log_dir: Path) -> tuple[stack.Processes, str]:
    """Start uvicorn (as Attune's web) serving bench.floor_web with its own settings; return
    (procs, base url)."""
    port = stack.free_port()
    variables = {**env.variables, "DJANGO_SETTINGS_MODULE": "bench.floor_settings"}
    procs = stack.Processes(log_dir, variables)
    argv = [sys.executable, "-m", "uvicorn", "bench.floor_web:application", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    procs.start("floor-web", argv)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + stack.START_TIMEOUT
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            requests.get(f"{base_url}/", timeout=2)
            return procs, base_url
        except requests.ConnectionError:
            time.sleep(0.2)
    procs.stop_all()
    raise RuntimeError(f"floor web did not start; see {log_dir}/floor-web.log")


def measure_floor(send, rate: float, args, procs: stack.Processes, web_procs) -> dict:
    with CpuMeter(procs, ["raw-worker"]) as worker_cpu, CpuMeter(web_procs, ["floor-web"]) as cpu:
        events = open_loop(rate, args.seconds, args.threads, send)
        accepted = sum(1 for e in events if e["status"] == 202)
        records = collect_raw(accepted, args.timeout)
    summary = summarize(events, rate, [r[1] - r[0] for r in records], [])
    summary["cpu_ms_per_event"] = {**worker_cpu.per_run(len(events)), **cpu.per_run(len(events))}
    return summary


# --- numbers ----------------------------------------------------------------------------------


def summarize(events: list[dict], rate: float, sent_to_started: list, occurred: list) -> dict:
    statuses: dict[str, int] = {}
    for event in events:
        statuses[str(event["status"])] = statuses.get(str(event["status"]), 0) + 1
    return {
        "rate": rate,
        "n": len(events),
        "statuses": statuses,
        "accepted": statuses.get("202", 0),
        "started": len(sent_to_started),
        "achieved_rate": round(len(events) / (events[-1]["sent"] - events[0]["sent"]), 1)
        if len(events) > 1
        else None,
        "lag_max_ms": round(max(e["sent"] - e["due"] for e in events) * 1000, 1),
        "http_ms": distribution_ms([e["answered"] - e["sent"] for e in events]),
        "sent_to_started_ms": distribution_ms(sent_to_started),
        "occurred_to_started_ms": distribution_ms(occurred),
    }


def report(results: dict) -> None:
    rows = []
    for system in ("attune", "floor"):
        for r in results[system]:
            rows.append(
                [
                    f"{system} @{r['rate']:g}/s",
                    str(r["n"]),
                    f"{r['accepted']}/{r['started']}",
                    fmt(r["achieved_rate"]),
                    fmt(r["lag_max_ms"]),
                    fmt(r["http_ms"]["p50"]),
                    fmt(r["http_ms"]["p99"]),
                    fmt(r["sent_to_started_ms"]["p50"]),
                    fmt(r["sent_to_started_ms"]["p99"]),
                    fmt(r["sent_to_started_ms"]["max"]),
                    fmt(r["occurred_to_started_ms"]["p50"]),
                    fmt(r["occurred_to_started_ms"]["p99"]),
                ]
            )
    print_table(
        "Webhook -> `true` started, open loop (ms; sent->started = task start - client send)",
        [
            "system @rate",
            "n",
            "202/started",
            "sent/s",
            "lag max",
            "HTTP p50",
            "HTTP p99",
            "start p50",
            "start p99",
            "start max",
            "occ->start p50",
            "occ->start p99",
        ],
        rows,
    )
    report_cpu(results)
    print("\nGoals")
    for line in results["goals"]:
        print(f"  {line}")


def report_cpu(results: dict) -> None:
    """Print the CPU each process tree used per event (Attune's web is the floor's web, its
    worker the floor's raw worker); PostgreSQL and Redis are not included."""
    columns = [("web", "floor-web"), ("worker", "raw-worker"), ("rules", None), ("events", None)]
    rows = []
    for system in ("attune", "floor"):
        for r in results[system]:
            cpu = r["cpu_ms_per_event"]
            own = [cpu.get(attune if system == "attune" else floor) for attune, floor in columns]
            total = sum(v for v in own if v) + cpu["client"]
            rows.append(
                [f"{system} @{r['rate']:g}/s", *map(fmt, own), fmt(cpu["client"]), fmt(total)]
            )
    headers = ["system @rate", *(attune for attune, _ in columns), "client", "total"]
    print_table("CPU per event (ms, by process tree)", headers, rows)


def goal_lines(results: dict) -> list[str]:
    def at(system: str) -> dict | None:
        return next((r for r in results[system] if r["rate"] == GOAL_RATE), None)

    attune, floor = at("attune"), at("floor")
    if attune is None:
        return [f"no run at {GOAL_RATE} events/s: goals not checked"]
    p50 = attune["sent_to_started_ms"]["p50"]
    p99 = attune["sent_to_started_ms"]["p99"]
    complete = attune["started"] == attune["n"]

    def verdict(value, goal) -> str:
        return "PASS" if value is not None and value <= goal and complete else "FAIL"

    floor_note = (
        f" (floor {fmt(floor['sent_to_started_ms']['p50'])} / "
        f"{fmt(floor['sent_to_started_ms']['p99'])} ms)"
        if floor
        else ""
    )
    return [
        f"webhook -> started p50 <= {GOAL_P50_MS:.0f} ms at {GOAL_RATE}/s: {fmt(p50)} ms  "
        f"{verdict(p50, GOAL_P50_MS)}{floor_note}",
        f"webhook -> started p99 <= {GOAL_P99_MS:.0f} ms at {GOAL_RATE}/s: {fmt(p99)} ms  "
        f"{verdict(p99, GOAL_P99_MS)}"
        + ("" if complete else f"  ({attune['n'] - attune['started']} events never started)"),
    ]


# --- main -------------------------------------------------------------------------------------


def run(args, env: stack.BenchEnv, procs: stack.Processes) -> dict:
    start_attune(procs, env, args.concurrency)
    start_floor(procs, args.concurrency)
    floor_procs, floor_url = start_floor_web(env, env.data_dir / "logs")
    with floor_procs:
        attune_send = attune_sender(env.base_url, create_api_key())
        floor_send = floor_sender(floor_url)
        if args.warmup:
            warm_rate = max(1.0, args.warmup / 3)
            warm = open_loop(warm_rate, 3, args.threads, attune_send)
            wait_started([e["instance_id"] for e in warm if e["instance_id"]], args.timeout)
            warm = open_loop(warm_rate, 3, args.threads, floor_send)
            collect_raw(sum(1 for e in warm if e["status"] == 202), args.timeout)
            time.sleep(1)
        results: dict = {"attune": [], "floor": []}
        for rate in args.rates:
            results["attune"].append(measure_attune(attune_send, rate, args, procs))
            print(f"  attune @{rate:g}/s done", flush=True)
            results["floor"].append(measure_floor(floor_send, rate, args, procs, floor_procs))
            print(f"  floor  @{rate:g}/s done", flush=True)
    results["goals"] = goal_lines(results)
    return results


def use_own_database() -> None:
    stack.BENCH_DB_NAME = BENCH_DB_NAME
    stack.DEFAULT_PG_URL = stack.with_database_name(stack.DEFAULT_PG_URL, BENCH_DB_NAME)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    use_own_database()
    env = stack.prepare_environment(args.settings)
    print(
        f"webhook_latency: data dir {env.data_dir}, {env.database_kind}, rates "
        f"{', '.join(f'{r:g}' for r in args.rates)}/s for {args.seconds:g} s each, "
        f"{args.threads} sender threads, worker concurrency {args.concurrency}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    prepare = [create_user, create_webhook_rule]
    return stack.run_on_stack("webhook_latency", args, env, run, report, prepare=prepare)


if __name__ == "__main__":
    sys.exit(main())
