"""Events per second through the rules engine with 10, 1,000 and 10,000 rules, 1 % matching.

Layouts (`--layouts`, default `keyed,same`):
- `keyed` (the issue's reading: an index finds an event's candidate rules, so the total number
  of rules must not matter): rule i listens on its own webhook url rules-<N>-<i> with criteria
  `trigger.body.n equals 0`; event j goes to url rules-<N>-<j % N> with body {"n": j % 100}.
  Every event is evaluated against exactly one candidate rule and 1 % of events match it.
- `same` (the worst case, a busy trigger): all N rules listen on ONE url, rule i with criteria
  `trigger.body.n equals i % 100`; event j carries {"n": j % 100}, so every event is evaluated
  against all N rules and matches N/100 of them (1 % of the rules; one enforcement row per
  evaluated rule, one execution per match).
- `spread`: the N rules spread over 100 urls without criteria (rule i on rules-<N>-<i % 100>),
  event j to url rules-<N>-<j % 100>: each event matches the N/100 rules of its url.

Measurement: the real rules engine process (`manage.py run_rules_engine`, workers/rules.py), no
action worker: requested executions stay `requested`, only the engine is measured. For each N,
the engine is paused (SIGSTOP), M trigger instances are recorded and queued as webhooks would
(bulk INSERT, then `queue_for_rules`), the engine resumes (SIGCONT), and the rate is
M / (last instance processed_at - resume time). A warm-up round first touches every rule (so
compiled rules are cached, as on a running platform); a short calibration run with the rules
cached then sizes M so each run takes about `--target-seconds`. Then one batch of events is
processed again in the bench process under CaptureQueriesContext to show the statements per
batch.

Goal (issue #3): >= 1,000 events/s at 1,000 rules, <= 10 % drop from 10 to 10,000 rules.

Run: .venv/bin/python bench/rules_throughput.py [--rules 10,1000,10000] [--layouts keyed,same]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from bench import stack  # noqa: E402
from bench.actions_throughput import create_user, fmt, print_table  # noqa: E402

GOAL_RATE_AT_1000 = 1000.0
GOAL_MAX_DROP = 0.10
BATCH = 500
LAYOUTS = ("keyed", "same", "spread")
# Its own database, so it can run beside the other benchmarks (they recreate attune_bench).
BENCH_DB_NAME = "attune_bench_rules"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="10,1000,10000", help="rule counts, comma separated")
    parser.add_argument("--layouts", default="keyed,same", help=f"of {', '.join(LAYOUTS)}")
    parser.add_argument("--target-seconds", type=float, default=5.0, help="per measured run")
    parser.add_argument("--min-events", type=int, default=20)
    parser.add_argument("--max-events", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=300.0, help="max wait per phase")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    parser.add_argument("--settings", default="attune.settings", help="Django settings module")
    args, _unknown = parser.parse_known_args(argv)  # run_all passes its arguments to everyone
    args.rules = [int(n) for n in args.rules.split(",") if n.strip()]
    args.layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    unknown = set(args.layouts) - set(LAYOUTS)
    if unknown:
        parser.error(f"unknown layouts: {', '.join(sorted(unknown))}")
    return args


# --- rules and events -------------------------------------------------------------------------


def rule_spec(n_rules: int, layout: str, i: int) -> tuple[str, dict]:
    """(webhook url, criteria) of rule i."""
    if layout == "keyed":
        return f"rules-{n_rules}-{i}", {"trigger.body.n": {"type": "equals", "pattern": 0}}
    if layout == "same":
        return f"rules-{n_rules}", {"trigger.body.n": {"type": "equals", "pattern": i % 100}}
    return f"rules-{n_rules}-{i % 100}", {}


def event(n_rules: int, layout: str, j: int) -> tuple[dict, str]:
    """(payload, url) of event j."""
    payload = {"headers": {}, "body": {"n": j % 100, "j": j}}
    if layout == "keyed":
        return payload, f"rules-{n_rules}-{j % n_rules}"
    if layout == "same":
        return payload, f"rules-{n_rules}"
    return payload, f"rules-{n_rules}-{j % 100}"


def create_rules(n_rules: int, layout: str) -> None:
    """Bulk-create the N rules of one run (see the module docstring) and announce the change."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from apps.core.cache import bump_content_version
    from apps.rules.models import Rule
    from apps.triggers.models import trigger_key

    owner = get_user_model().objects.get(username="bench")
    rules = []
    for i in range(n_rules):
        url, criteria = rule_spec(n_rules, layout, i)
        parameters = {"url": url}
        rules.append(
            Rule(
                ref=f"default.bench_{layout}_{n_rules}_{i}",
                name=f"bench_{layout}_{n_rules}_{i}",
                trigger_ref="core.st2.webhook",
                trigger_parameters=parameters,
                trigger_key=trigger_key("core.st2.webhook", parameters),
                criteria=criteria,
                action_ref="core.noop",
                action_parameters={},
                owner=owner,
            )
        )
    with transaction.atomic():
        Rule.objects.bulk_create(rules, batch_size=1000)
        bump_content_version()


def record_events(
    n_rules: int, layout: str, count: int, first: int, queue: bool = True
) -> list[int]:
    """Record `count` webhook trigger instances (BATCH per INSERT) and, if `queue`, queue
    them for the engine as `dispatch_trigger` does after its commit."""
    from django.utils import timezone

    from apps.triggers.choices import TriggerSource
    from apps.triggers.models import TriggerInstance, TriggerType, trigger_key
    from apps.triggers.services import queue_for_rules

    webhook_type = TriggerType.objects.get(ref="core.st2.webhook")
    ids = []
    for start in range(first, first + count, BATCH):
        instances = []
        for j in range(start, min(start + BATCH, first + count)):
            payload, url = event(n_rules, layout, j)
            instances.append(
                TriggerInstance(
                    trigger_type=webhook_type,
                    trigger_ref="core.st2.webhook",
                    trigger_key=trigger_key("core.st2.webhook", {"url": url}),
                    payload=payload,
                    source=TriggerSource.WEBHOOK,
                    source_detail=url,
                    occurred_at=timezone.now(),
                )
            )
        batch_ids = [i.pk for i in TriggerInstance.objects.bulk_create(instances)]
        if queue:
            queue_for_rules(batch_ids)
        ids += batch_ids
    return ids


def wait_processed(ids: list[int], timeout: float) -> None:
    from apps.triggers.choices import TriggerInstanceStatus
    from apps.triggers.models import TriggerInstance

    deadline = time.monotonic() + timeout
    while True:
        left = TriggerInstance.objects.filter(
            pk__in=ids, status=TriggerInstanceStatus.PENDING
        ).count()
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{left} of {len(ids)} trigger instances unprocessed after {timeout}s"
            )
        time.sleep(0.1)


# --- measurement ------------------------------------------------------------------------------


def start_engine(procs: stack.Processes) -> int:
    """Start the rules engine process; return its pid (to pause and resume it)."""
    from apps.core.processes import process_argv

    process = procs.start("rules", process_argv("rules", sys.executable))
    log = procs.log_dir / "rules.log"
    deadline = time.monotonic() + 60
    while "rules engine ready" not in (log.read_text() if log.exists() else ""):
        procs.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the rules engine did not start; see {log}")
        time.sleep(0.1)
    return process.pid


def timed_run(pid: int, n_rules: int, layout: str, count: int, first: int, args) -> dict:
    """Queue `count` events with the engine paused, resume it, and time until all are done."""
    from apps.rules.models import RuleEnforcement
    from apps.triggers.models import TriggerInstance

    os.kill(pid, signal.SIGSTOP)
    try:
        ids = record_events(n_rules, layout, count, first)
    finally:
        resumed = time.time()
        os.kill(pid, signal.SIGCONT)
    wait_processed(ids, args.timeout)
    last = max(
        TriggerInstance.objects.filter(pk__in=ids).values_list("processed_at", flat=True)
    ).timestamp()
    seconds = last - resumed
    enforcements = RuleEnforcement.objects.filter(trigger_instance_id__in=ids)
    matched = enforcements.filter(execution__isnull=False).count()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_second": round(count / seconds, 1) if seconds > 0 else None,
        "enforcements_per_event": round(enforcements.count() / count, 2),
        "executions_per_event": round(matched / count, 2),
    }


def queries_per_batch(n_rules: int, layout: str, first: int, size: int = 100) -> dict:
    """Process `size` events in this process (rules cache warm) under CaptureQueriesContext;
    count the statements by kind and table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.rules.engine import process_trigger_instances

    def process_all(ids: list[int]) -> None:  # in as many transactions as the engine takes
        while ids:
            ids = process_trigger_instances(ids)

    # The same events twice: the first batch compiles their rules in this process.
    process_all(record_events(n_rules, layout, size, first, queue=False))
    ids = record_events(n_rules, layout, size, first, queue=False)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        process_all(ids)
        seconds = time.perf_counter() - started
    kinds: Counter = Counter()
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
        kinds[f"{verb} {table.group(1) if table else ''}".strip()] += 1
    return {
        "events": size,
        "queries": len(captured.captured_queries),
        "by_kind": dict(kinds.most_common()),
        "ms_per_event": round(seconds * 1000 / size, 2),
    }


def measure(pid: int, layout: str, n_rules: int, args) -> dict:
    create_rules(n_rules, layout)
    time.sleep(0.2)  # the content version is bumped after commit
    warm_up = max(100, n_rules if layout == "keyed" else 0)  # every rule compiled once
    probe = timed_run(pid, n_rules, layout, warm_up, 0, args)
    # The warm-up compiles every rule and runs several times slower than a warm engine: a run
    # sized from it alone lasted well under a second, too short to measure on a noisy machine.
    calibration_size = run_size(probe, args) // 4
    calibration = timed_run(pid, n_rules, layout, calibration_size, warm_up, args)
    count = run_size(calibration, args)
    first = warm_up + calibration_size
    result = timed_run(pid, n_rules, layout, count, first, args)
    result.update(layout=layout, rules=n_rules, probe_events_per_second=probe["events_per_second"])
    result["batch"] = queries_per_batch(n_rules, layout, first + count)
    return result


def run_size(previous: dict, args) -> int:
    """Events for a run of about --target-seconds at the rate of `previous`."""
    estimate = previous["events_per_second"] or 1.0
    return int(min(args.max_events, max(args.min_events, estimate * args.target_seconds)))


# --- report -----------------------------------------------------------------------------------


def report(results: dict) -> None:
    runs = results["runs"]
    print_table(
        "Rules engine throughput (one `run_rules_engine` process; 1 % matching, see layouts)",
        ["layout", "rules", "events", "seconds", "events/s", "warm-up ev/s", "enf/ev", "exec/ev"],
        [
            [
                r["layout"],
                f"{r['rules']:,}",
                str(r["events"]),
                fmt(r["seconds"], 2),
                fmt(r["events_per_second"]),
                fmt(r["probe_events_per_second"]),
                fmt(r["enforcements_per_event"], 2),
                fmt(r["executions_per_event"], 2),
            ]
            for r in runs
        ],
    )
    print_table(
        "One batch of 100 events in-process (rules cached): statements and time "
        "(the enforcement INSERT, on a raw psycopg cursor, is not counted)",
        ["layout", "rules", "statements", "ms/event"],
        [
            [
                r["layout"],
                f"{r['rules']:,}",
                str(r["batch"]["queries"]),
                fmt(r["batch"]["ms_per_event"], 2),
            ]
            for r in runs
        ],
    )
    for r in runs:
        kinds = ", ".join(f"{k} x{v}" for k, v in r["batch"]["by_kind"].items())
        print(f"  {r['layout']} {r['rules']:,} rules: {kinds}")
    print("\nGoals (layout keyed)")
    for line in results["goals"]:
        print(f"  {line}")


def goal_lines(runs: list[dict]) -> list[str]:
    by_rules = {r["rules"]: r["events_per_second"] for r in runs if r["layout"] == "keyed"}
    lines = []
    if 1000 in by_rules:
        rate = by_rules[1000]
        ok = rate is not None and rate >= GOAL_RATE_AT_1000
        lines.append(
            f">= {GOAL_RATE_AT_1000:,.0f} events/s at 1,000 rules: {fmt(rate)}/s  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    if 10 in by_rules and 10000 in by_rules and by_rules[10] and by_rules[10000]:
        drop = 1 - by_rules[10000] / by_rules[10]
        lines.append(
            f"drop from 10 to 10,000 rules <= {GOAL_MAX_DROP:.0%}: {drop:.1%} "
            f"({fmt(by_rules[10])}/s -> {fmt(by_rules[10000])}/s)  "
            f"{'PASS' if drop <= GOAL_MAX_DROP else 'FAIL'}"
        )
    return lines or ["goals need keyed runs with 10, 1,000 and 10,000 rules"]


# --- main -------------------------------------------------------------------------------------


def use_own_database() -> None:
    stack.BENCH_DB_NAME = BENCH_DB_NAME
    stack.DEFAULT_PG_URL = stack.with_database_name(stack.DEFAULT_PG_URL, BENCH_DB_NAME)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    use_own_database()
    env = stack.prepare_environment(args.settings)
    print(
        f"rules_throughput: data dir {env.data_dir}, {env.database_kind}, layouts "
        f"{', '.join(args.layouts)}, rules {', '.join(f'{n:,}' for n in args.rules)}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    stack.setup_database(env)

    import django

    django.setup()
    logging.getLogger("apps").setLevel(logging.WARNING)  # the in-process batch logs
    create_user()
    runs = []
    try:
        with stack.Processes(env.data_dir / "logs", env.variables) as procs:
            pid = start_engine(procs)
            for layout in args.layouts:
                for n_rules in args.rules:
                    runs.append(measure(pid, layout, n_rules, args))
                    print(
                        f"  {layout} {n_rules:,} rules: "
                        f"{fmt(runs[-1]['events_per_second'])} events/s",
                        flush=True,
                    )
    finally:
        stack.delete_redis_keys(env)
    results = {
        "runs": runs,
        "goals": goal_lines(runs),
        "config": stack.run_config(args, env),
    }
    report(results)
    stack.save_results(results, args, env, "rules_throughput")
    return 0


if __name__ == "__main__":
    sys.exit(main())
