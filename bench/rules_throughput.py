"""Events per second through the rules engine with 10, 1,000 and 10,000 rules, 1 % matching.

Setup (default `--layout same`): the N rules of a run all listen on ONE webhook trigger
(`core.st2.webhook` url=rules-<N>), rule i with criteria `trigger.body.n equals i % 100`, action
`core.noop`. Event j carries body {"n": j % 100}, so every event is a candidate for all N rules
and matches exactly N/100 of them (1 %; on average 0.1 with 10 rules). This is what "the rules
engine with N rules" means for a busy trigger: the engine must evaluate every rule of the trigger
(and, as it is written, records one RuleEnforcement row per evaluated rule).
`--layout spread` is the other reading: the N rules are spread over 100 webhook urls without
criteria (rule i on url rules-<N>-<i % 100>) and event j goes to url rules-<N>-<j % 100>: the
same 1 % match, but the other 99 % are never candidates (the trigger_key index skips them).

Measurement: one Celery worker consuming only the `rules` queue (no action worker: the requested
executions stay `requested`, only the engine is measured). For each N, consumption of `rules` is
paused (cancel_consumer), M trigger instances are dispatched in the bench process with
`apps.triggers.services.dispatch_trigger` (batches of 500 in one transaction, so neither HTTP nor
the dispatcher limits the rate), consumption is resumed, and the rate is
M / (last instance processed_at - resume time). M is sized from a short warm-up probe so each run
takes about `--target-seconds`. Then one event with N rules is processed again in the bench
process under CaptureQueriesContext to show the queries per event.

Goal (issue #3): >= 1,000 events/s at 1,000 rules, <= 10 % drop from 10 to 10,000 rules.

Run: .venv/bin/python bench/rules_throughput.py [--rules 10,1000,10000] [--layout same|spread]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from bench import stack  # noqa: E402
from bench.actions_throughput import create_user, fmt, print_table  # noqa: E402

GOAL_RATE_AT_1000 = 1000.0
GOAL_MAX_DROP = 0.10
BATCH = 500
WORKER_NAME = "bench-rules@%h"
# Its own database, so it can run beside the other benchmarks (they recreate attune_bench).
BENCH_DB_NAME = "attune_bench_rules"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="10,1000,10000", help="rule counts, comma separated")
    parser.add_argument("--layout", choices=["same", "spread"], default="same")
    parser.add_argument("--target-seconds", type=float, default=10.0, help="per rule count")
    parser.add_argument("--probe", type=int, default=10, help="warm-up events per rule count")
    parser.add_argument("--min-events", type=int, default=20)
    parser.add_argument("--max-events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4, help="rules worker pool size")
    parser.add_argument("--timeout", type=float, default=180.0, help="max wait per phase")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    parser.add_argument("--settings", default="attune.settings", help="Django settings module")
    args, _unknown = parser.parse_known_args(argv)  # run_all passes its arguments to everyone
    args.rules = [int(n) for n in args.rules.split(",") if n.strip()]
    return args


# --- rules and events -------------------------------------------------------------------------


def url_of(n_rules: int, layout: str, k: int) -> str:
    """The webhook url of the rule / event with selector k (0..99)."""
    return f"rules-{n_rules}" if layout == "same" else f"rules-{n_rules}-{k}"


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
        k = i % 100
        parameters = {"url": url_of(n_rules, layout, k)}
        criteria = {"trigger.body.n": {"type": "equals", "pattern": k}} if layout == "same" else {}
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


def event(n_rules: int, layout: str, j: int) -> tuple[dict, str]:
    """(payload, url) of event j."""
    k = j % 100
    return {"headers": {}, "body": {"n": k, "j": j}}, url_of(n_rules, layout, k)


def dispatch(n_rules: int, layout: str, count: int, first: int = 0) -> list[int]:
    """Dispatch `count` events as webhook trigger instances, BATCH per transaction."""
    from django.db import transaction

    from apps.triggers.choices import TriggerSource
    from apps.triggers.services import dispatch_trigger

    ids = []
    for start in range(first, first + count, BATCH):
        with transaction.atomic():
            for j in range(start, min(start + BATCH, first + count)):
                payload, url = event(n_rules, layout, j)
                instance = dispatch_trigger(
                    "core.st2.webhook",
                    payload,
                    source=TriggerSource.WEBHOOK,
                    parameters={"url": url},
                    source_detail=url,
                )
                ids.append(instance.pk)
    return ids


def wait_processed(ids: list[int], timeout: float) -> None:
    from apps.triggers.choices import TriggerInstanceStatus
    from apps.triggers.models import TriggerInstance

    deadline = time.monotonic() + timeout
    pending = (TriggerInstanceStatus.PENDING, TriggerInstanceStatus.PROCESSING)
    while True:
        left = TriggerInstance.objects.filter(pk__in=ids, status__in=pending).count()
        if left == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{left} of {len(ids)} trigger instances unprocessed after {timeout}s"
            )
        time.sleep(0.1)


# --- worker control ---------------------------------------------------------------------------


def start_rules_worker(procs: stack.Processes, concurrency: int) -> str:
    """Start one Attune worker on the `rules` queue only; return its hostname."""
    from apps.core.processes import process_argv
    from attune.celery import app

    argv = process_argv(
        "worker", sys.executable, worker_name=WORKER_NAME, concurrency=concurrency, queues="rules"
    )
    procs.start("rules-worker", argv)
    hostname = WORKER_NAME.replace("%h", socket.gethostname())
    stack.wait_for_worker(app, hostname, procs)
    return hostname


def set_consuming(hostname: str, consuming: bool) -> None:
    """Pause or resume the worker's consumption of `rules` (and wait for its answer)."""
    from attune.celery import app

    if consuming:
        replies = app.control.add_consumer("rules", destination=[hostname], reply=True)
    else:
        replies = app.control.cancel_consumer("rules", destination=[hostname], reply=True)
    if not replies:
        raise RuntimeError(f"worker {hostname} did not answer {'add' if consuming else 'cancel'}")


# --- measurement ------------------------------------------------------------------------------


def timed_batch(hostname: str, n_rules: int, layout: str, count: int, first: int, args) -> dict:
    """Queue `count` events with consumption paused, resume, and time until all are processed."""
    from apps.rules.models import RuleEnforcement
    from apps.triggers.models import TriggerInstance

    set_consuming(hostname, False)
    started_dispatch = time.time()
    ids = dispatch(n_rules, layout, count, first)
    dispatch_seconds = time.time() - started_dispatch
    resumed = time.time()
    set_consuming(hostname, True)
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
        "dispatch_per_second": round(count / dispatch_seconds, 1),
        "enforcements_per_event": round(enforcements.count() / count, 2),
        "executions_per_event": round(matched / count, 2),
    }


def queries_per_event(n_rules: int, layout: str) -> dict:
    """Process one matching event in this process (rules cache warm) under
    CaptureQueriesContext; count its queries by kind and table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apps.rules.engine import process_trigger_instance
    from apps.triggers.models import TriggerInstance, TriggerType, trigger_key

    webhook_type = TriggerType.objects.get(ref="core.st2.webhook")

    def new_instance() -> int:
        payload, url = event(n_rules, layout, 0)
        return TriggerInstance.objects.create(
            trigger_type=webhook_type,
            trigger_ref="core.st2.webhook",
            trigger_key=trigger_key("core.st2.webhook", {"url": url}),
            payload=payload,
            source="webhook",
            occurred_at=timezone.now(),
        ).pk

    cold_started = time.perf_counter()
    process_trigger_instance(new_instance())  # loads and compiles the rules
    cold = time.perf_counter() - cold_started
    instance_id = new_instance()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        process_trigger_instance(instance_id)
        warm = time.perf_counter() - started
    kinds: Counter = Counter()
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
        kinds[f"{verb} {table.group(1) if table else ''}".strip()] += 1
    sql_seconds = sum(float(q["time"] or 0) for q in captured.captured_queries)
    return {
        "queries": len(captured.captured_queries),
        "by_kind": dict(kinds.most_common()),
        "warm_ms": round(warm * 1000, 1),
        "cold_ms": round(cold * 1000, 1),
        "sql_ms": round(sql_seconds * 1000, 1),
    }


def measure(hostname: str, n_rules: int, args) -> dict:
    create_rules(n_rules, args.layout)
    time.sleep(0.2)  # the content version is bumped after commit
    probe = timed_batch(hostname, n_rules, args.layout, args.probe, 0, args)  # warms the caches
    estimate = probe["events_per_second"] or 1.0
    count = int(min(args.max_events, max(args.min_events, estimate * args.target_seconds)))
    result = timed_batch(hostname, n_rules, args.layout, count, args.probe, args)
    result["rules"] = n_rules
    result["probe_events_per_second"] = probe["events_per_second"]
    result["one_event"] = queries_per_event(n_rules, args.layout)
    return result


# --- report -----------------------------------------------------------------------------------


def report(results: dict) -> None:
    runs = results["runs"]
    print_table(
        f"Rules engine throughput (layout {results['config']['layout']}, 1 % of rules match, "
        f"{results['config']['concurrency']} worker processes on `rules`)",
        [
            "rules",
            "events",
            "seconds",
            "events/s",
            "probe ev/s",
            "enforcements/ev",
            "executions/ev",
            "dispatch/s",
        ],
        [
            [
                f"{r['rules']:,}",
                str(r["events"]),
                fmt(r["seconds"], 2),
                fmt(r["events_per_second"]),
                fmt(r["probe_events_per_second"]),
                fmt(r["enforcements_per_event"], 2),
                fmt(r["executions_per_event"], 2),
                fmt(r["dispatch_per_second"]),
            ]
            for r in runs
        ],
    )
    print_table(
        "One event in-process (rules cached): queries and time",
        ["rules", "queries", "warm ms", "SQL ms", "cold ms"],
        [
            [
                f"{r['rules']:,}",
                str(r["one_event"]["queries"]),
                fmt(r["one_event"]["warm_ms"]),
                fmt(r["one_event"]["sql_ms"]),
                fmt(r["one_event"]["cold_ms"]),
            ]
            for r in runs
        ],
    )
    for r in runs:
        kinds = ", ".join(f"{k} x{v}" for k, v in r["one_event"]["by_kind"].items())
        print(f"  {r['rules']:,} rules: {kinds}")
    print("\nGoals")
    for line in results["goals"]:
        print(f"  {line}")


def goal_lines(runs: list[dict]) -> list[str]:
    by_rules = {r["rules"]: r["events_per_second"] for r in runs}
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
    return lines or ["goals need runs with 10, 1,000 and 10,000 rules"]


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
        f"rules_throughput: data dir {env.data_dir}, {env.database_kind}, layout {args.layout}, "
        f"rules {', '.join(f'{n:,}' for n in args.rules)}, worker concurrency "
        f"{args.concurrency}, {os.cpu_count()} CPUs",
        flush=True,
    )
    stack.setup_database(env)

    import django

    django.setup()
    logging.getLogger("apps").setLevel(logging.WARNING)  # the in-process event logs per rule
    create_user()
    runs = []
    try:
        with stack.Processes(env.data_dir / "logs", env.variables) as procs:
            hostname = start_rules_worker(procs, args.concurrency)
            for n_rules in args.rules:
                runs.append(measure(hostname, n_rules, args))
                print(
                    f"  {n_rules:,} rules: {fmt(runs[-1]['events_per_second'])} events/s",
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
