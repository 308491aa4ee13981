"""Timer accuracy: how late 1 s interval timer ticks become trigger instances, and whether that
lateness grows (drift).

On the real stack (web, one Celery worker, beat with Attune's TimerScheduler), one rule on
`core.st2.IntervalTimer` every `--every` seconds runs `core.noop` for `--minutes`. For each trigger
instance: lateness = occurred_at - ideal tick time, where the ideal ticks are the rule's anchor
(the moment its timer was armed) + n x every. Printed: p50/p95/p99/max lateness, missed and
repeated ticks, and drift as the slope of lateness over time (least squares).

Goal (issue #3): p99 <= 200 ms over 5 minutes of 1 s timers, no drift.

Run: .venv/bin/python bench/timer_accuracy.py [--minutes 5] [--every 1]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

import requests  # noqa: E402

from bench import stack  # noqa: E402
from bench.actions_throughput import (  # noqa: E402
    create_user,
    distribution_ms,
    get_token,
    start_attune,
)

GOAL_P99_MS = 200.0
# "No drift": lateness may not grow by more than this over the whole run.
GOAL_DRIFT_MS_OVER_RUN = 50.0
# Its own database, so it can run beside the other benchmarks (they recreate attune_bench).
BENCH_DB_NAME = "attune_bench_timers"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the timer runs")
    parser.add_argument("--every", type=int, default=1, help="timer period in seconds")
    parser.add_argument("--concurrency", type=int, default=4, help="worker pool size")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    return parser.parse_args(argv)


def use_own_database() -> None:
    stack.BENCH_DB_NAME = BENCH_DB_NAME
    stack.DEFAULT_PG_URL = stack.with_database_name(stack.DEFAULT_PG_URL, BENCH_DB_NAME)


def start_events(procs: stack.Processes) -> None:
    """Start the events worker, which runs the timer ticks and the rules engine."""
    from apps.core.processes import process_argv

    procs.start("rules", process_argv("rules", sys.executable))
    procs.start("events", process_argv("events", sys.executable))


def start_beat(procs: stack.Processes) -> None:
    """Start beat and wait until it has read its schedule (a tick due before that is skipped:
    beat does not replay missed ticks)."""
    from apps.core.processes import process_argv

    procs.start("beat", process_argv("beat", sys.executable))
    log = procs.log_dir / "beat.log"
    deadline = time.monotonic() + stack.START_TIMEOUT
    while "Sending due task" not in (log.read_text() if log.exists() else ""):
        procs.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"beat did not start; see {log}")
        time.sleep(0.2)


def create_timer_rule(base_url: str, token: str, every: int) -> str:
    """Create the interval rule through the API; return its ref."""
    body = {
        "name": "timer_accuracy",
        "trigger": {
            "type": "core.st2.IntervalTimer",
            "parameters": {"unit": "seconds", "delta": every},
        },
        "action": {"ref": "core.noop"},
    }
    response = requests.post(
        f"{base_url}/api/v1/rules",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["ref"]


def disable_rule(base_url: str, token: str, ref: str) -> None:
    requests.patch(
        f"{base_url}/api/v1/rules/{ref}",
        json={"enabled": False},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).raise_for_status()


def timer_anchor(ref: str) -> datetime:
    """When the rule's timer was armed: ideal ticks are anchor + n x every."""
    from django_celery_beat.models import PeriodicTask

    from apps.rules.models import Rule
    from apps.rules.timers import task_name, timer_meta

    task = PeriodicTask.objects.get(name=task_name(Rule.objects.get(ref=ref).pk))
    return datetime.fromisoformat(timer_meta(task)["armed_at"])


def tick_times(ref: str) -> list[datetime]:
    """occurred_at of every instance the rule's timer dispatched, oldest first."""
    from apps.triggers.models import TriggerInstance

    rows = TriggerInstance.objects.filter(source="timer", source_detail__startswith=f"rule {ref};")
    return sorted(rows.values_list("occurred_at", flat=True))


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys over xs."""
    if len(xs) < 2:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def analyse(anchor: datetime, occurred: list[datetime], every: int, seconds: float) -> dict:
    """Lateness of each tick against the ideal grid, missed/repeated ticks, and drift."""
    period = timedelta(seconds=every)
    # A tick belongs to the latest grid point at or before it (lateness < one period).
    ticks = [max(1, (t - anchor) // period) for t in occurred]
    pairs = zip(occurred, ticks, strict=True)
    lateness = [(t - (anchor + n * period)).total_seconds() for t, n in pairs]
    expected = int(seconds // every)
    since = [n * every for n in ticks]
    drift = slope(since, lateness)
    return {
        "ticks": len(occurred),
        "expected_ticks": expected,
        "missed_ticks": len(set(range(1, expected + 1)) - set(ticks)),
        "repeated_ticks": len(ticks) - len(set(ticks)),
        "lateness_ms": distribution_ms(lateness),
        "lateness_min_ms": round(min(lateness) * 1000, 2) if lateness else None,
        "drift_ms_per_minute": None if drift is None else round(drift * 60 * 1000, 3),
        "drift_ms_over_run": None if drift is None else round(drift * seconds * 1000, 2),
    }


def goal_lines(result: dict) -> list[str]:
    p99 = result["lateness_ms"]["p99"]
    drift = result["drift_ms_over_run"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    return [
        f"tick lateness p99 <= {GOAL_P99_MS:.0f} ms: {p99} ms  "
        f"{verdict(p99 is not None and p99 <= GOAL_P99_MS)}",
        f"no drift (|slope x run| <= {GOAL_DRIFT_MS_OVER_RUN:.0f} ms): {drift} ms  "
        f"{verdict(drift is not None and abs(drift) <= GOAL_DRIFT_MS_OVER_RUN)}",
        f"every tick once: {result['missed_ticks']} missed, {result['repeated_ticks']} repeated  "
        f"{verdict(result['missed_ticks'] == 0 and result['repeated_ticks'] == 0)}",
    ]


def report(result: dict) -> None:
    lateness = result["lateness_ms"]
    print(f"\nTimer ticks ({result['config']['every']} s interval, {result['seconds']:.0f} s)")
    print(f"  ticks      {result['ticks']} of {result['expected_ticks']} expected")
    print(
        f"  lateness   min {result['lateness_min_ms']}  p50 {lateness['p50']}  "
        f"p95 {lateness['p95']}  p99 {lateness['p99']}  max {lateness['max']}  (ms)"
    )
    print(
        f"  drift      {result['drift_ms_per_minute']} ms/min "
        f"({result['drift_ms_over_run']} ms over the run)"
    )
    print("\nGoals")
    for line in result["goals"]:
        print(f"  {line}")


def run(args, env: stack.BenchEnv, procs: stack.Processes) -> dict:
    start_attune(procs, env, args.concurrency)
    start_events(procs)
    start_beat(procs)
    token = get_token(env.base_url)
    ref = create_timer_rule(env.base_url, token, args.every)
    anchor = timer_anchor(ref)
    seconds = args.minutes * 60
    # End the window half a period after a tick, so the last one is in and no next one.
    end = anchor + timedelta(seconds=seconds + args.every / 2)
    while (left := (end - datetime.now(anchor.tzinfo)).total_seconds()) > 0:
        procs.check_alive()
        time.sleep(min(left, 5.0))
    disable_rule(env.base_url, token, ref)
    time.sleep(2.0)  # ticks already sent reach the database
    result = analyse(anchor, tick_times(ref), args.every, seconds)
    result["seconds"] = seconds
    result["goals"] = goal_lines(result)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    use_own_database()
    env = stack.prepare_environment()
    print(
        f"timer_accuracy: data dir {env.data_dir}, {env.database_kind}, "
        f"{args.minutes:g} min of a {args.every} s timer, {os.cpu_count()} CPUs",
        flush=True,
    )
    return stack.run_on_stack("timer_accuracy", args, env, run, report, prepare=[create_user])


if __name__ == "__main__":
    sys.exit(main())
