"""Workflow engine overhead: Orquesta workflows on Attune beside a bare Celery chain and chord.

(a) 40 sequential steps, each a light Python action (fibo(10) in a new interpreter):
    `benchpack.chain40` on Attune vs a Celery `chain` of 40 raw tasks doing the same work
    (bench/raw_workflow_tasks.py). Reports the total, the time per step, the per-step overhead
    (Attune's step minus the floor's) and the gap between one step finishing and the next
    starting at step 1 and step 40 (it must stay flat).
(b) Fan-out to 10 then join: `benchpack.fanout10` vs a Celery `chord` of 10 + callback.
    Start skew (last branch started - first branch started) and join latency (join task
    started - last branch finished).

Both stacks run in the same invocation with the same pool size (default 10, so all ten
branches can start at once). Timings come from execution rows (Attune) and from timestamps the
raw tasks push on a Redis list (floor).

Run: .venv/bin/python bench/workflow_overhead.py [--runs 3] [--concurrency 10]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from bench import stack  # noqa: E402
from bench.actions_throughput import (  # noqa: E402
    create_user,
    fmt,
    get_token,
    post_executions,
    print_table,
    wait_terminal,
)

CHAIN = ("benchpack.chain40", {})
FANOUT = ("benchpack.fanout10", {})
CHAIN_LENGTH = 40
BRANCHES = 10
GOAL_STEP_OVERHEAD_MS = 30.0
GOAL_START_SKEW_MS = 20.0
GOAL_JOIN_LATENCY_MS = 10.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each shape")
    parser.add_argument("--concurrency", type=int, default=10, help="pool size (both stacks)")
    parser.add_argument("--timeout", type=float, default=300.0, help="max seconds per run")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    parser.add_argument(
        "--settings", default="attune.settings", help="Django settings module of every process"
    )
    return parser.parse_args(argv)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- timelines: (requested/sent, started, finished) per step, in epoch seconds ------------------


def chain_figures(origin: float, steps: list[tuple[float, float]], end: float) -> dict:
    """Per-step figures of a sequence: `steps` are (started, finished), `origin` the request."""
    previous = [origin] + [finished for _, finished in steps[:-1]]
    step_ms = [ms(finished - before) for (_, finished), before in zip(steps, previous, strict=True)]
    gap_ms = [ms(started - before) for (started, _), before in zip(steps, previous, strict=True)]
    work_ms = [ms(finished - started) for started, finished in steps]
    return {
        "total_ms": ms(end - origin),
        "step_ms_mean": round(statistics.mean(step_ms), 2),
        "work_ms_mean": round(statistics.mean(work_ms), 2),
        "gap_ms": gap_ms,
    }


def fanout_figures(branches: list[tuple[float, float]], join: tuple[float, float]) -> dict:
    """Start skew of the branches and how long after the last branch the join started."""
    starts = [started for started, _ in branches]
    last_finished = max(finished for _, finished in branches)
    return {
        "start_skew_ms": ms(max(starts) - min(starts)),
        "join_latency_ms": ms(join[0] - last_finished),
    }


# --- Attune -------------------------------------------------------------------------------------


def run_attune(env, token: str, action: tuple, timeout: float) -> tuple:
    """Run one workflow; return its row and its children's rows (id order)."""
    from apps.executions.models import Execution

    posted = post_executions(env.base_url, token, action, 1, 1)
    if posted["errors"]:
        raise RuntimeError(posted["errors"][0])
    (workflow_id,) = posted["ids"]
    wait_terminal([workflow_id], timeout, poll=0.05)
    workflow = Execution.objects.get(pk=workflow_id)
    if workflow.status != "succeeded":
        raise RuntimeError(f"workflow {workflow_id} {workflow.status}: {workflow.error}")
    children = list(Execution.objects.filter(parent_id=workflow_id).order_by("pk"))
    return workflow, children


def measure_attune_chain(env, token: str, timeout: float) -> dict:
    workflow, children = run_attune(env, token, CHAIN, timeout)
    steps = [(c.started_at.timestamp(), c.finished_at.timestamp()) for c in children]
    figures = chain_figures(
        workflow.requested_at.timestamp(), steps, workflow.finished_at.timestamp()
    )
    # Where the gap goes: the engine (previous child finished -> next child requested) and the
    # dispatch (requested -> started by an actions worker).
    pairs = list(zip(children, children[1:], strict=False))
    figures["engine_ms_mean"] = round(
        statistics.mean(ms((b.requested_at - a.finished_at).total_seconds()) for a, b in pairs), 2
    )
    figures["dispatch_ms_mean"] = round(
        statistics.mean(ms((c.started_at - c.requested_at).total_seconds()) for c in children), 2
    )
    return figures


def measure_attune_fanout(env, token: str, timeout: float) -> dict:
    from apps.workflows.models import TaskExecution

    workflow, children = run_attune(env, token, FANOUT, timeout)
    join_id = TaskExecution.objects.get(workflow_id=workflow.pk, name="join").execution_id
    times = {c.pk: (c.started_at.timestamp(), c.finished_at.timestamp()) for c in children}
    join = times.pop(join_id)
    figures = fanout_figures(list(times.values()), join)
    # Where the join latency goes: the engine (last branch finished -> join requested) and the
    # dispatch (join requested -> started); and the first branch's dispatch.
    branches = [c for c in children if c.pk != join_id]
    last = max(branches, key=lambda c: c.finished_at)
    join_child = next(c for c in children if c.pk == join_id)
    figures["join_engine_ms"] = ms((join_child.requested_at - last.finished_at).total_seconds())
    figures["join_dispatch_ms"] = ms(
        (join_child.started_at - join_child.requested_at).total_seconds()
    )
    origin = min(c.requested_at for c in branches)
    figures["branch_timeline_ms"] = [
        [ms((c.requested_at - origin).total_seconds()), ms((c.started_at - origin).total_seconds())]
        for c in sorted(branches, key=lambda c: c.started_at)
    ]
    figures["request_spread_ms"] = ms(
        (
            max(c.requested_at for c in branches) - min(c.requested_at for c in branches)
        ).total_seconds()
    )
    return figures


# --- the floor ----------------------------------------------------------------------------------


def collect(n: int, timeout: float) -> dict[str, tuple[float, float]]:
    """Pop `n` [tag, started, finished] records (BLPOP); return tag -> (started, finished)."""
    from bench import raw_workflow_tasks

    client = raw_workflow_tasks.client()
    records = {}
    deadline = time.monotonic() + timeout
    while len(records) < n:
        left = deadline - time.monotonic()
        popped = client.blpop([raw_workflow_tasks.done_key()], timeout=max(1, int(left)))
        if popped is None or left <= 0:
            raise RuntimeError(f"only {len(records)} of {n} raw tasks finished in {timeout}s")
        tag, started, finished = json.loads(popped[1])
        records[tag] = (started, finished)
    return records


def measure_floor_chain(timeout: float) -> dict:
    from celery import chain

    from bench.raw_workflow_tasks import raw_fibo

    sent = time.time()
    chain(*(raw_fibo.si(f"step{i}") for i in range(CHAIN_LENGTH))).apply_async()
    records = collect(CHAIN_LENGTH, timeout)
    steps = [records[f"step{i}"] for i in range(CHAIN_LENGTH)]
    return chain_figures(sent, steps, steps[-1][1])


def measure_floor_chord(timeout: float) -> dict:
    from celery import chord

    from bench.raw_workflow_tasks import raw_fibo

    chord([raw_fibo.si(f"b{i}") for i in range(BRANCHES)])(raw_fibo.si("join"))
    records = collect(BRANCHES + 1, timeout)
    join = records.pop("join")
    return fanout_figures(list(records.values()), join)


# --- runs, stacks and report --------------------------------------------------------------------


def repeat(measure, runs: int) -> list[dict]:
    measure()  # warm-up: pack materialized, interpreters and connections warm
    return [measure() for _ in range(runs)]


def summarize_chains(runs: list[dict]) -> dict:
    gaps = list(zip(*(r["gap_ms"] for r in runs), strict=True))
    split = {
        key: statistics.median(r[key] for r in runs)
        for key in ("engine_ms_mean", "dispatch_ms_mean")
        if key in runs[0]
    }
    return {
        **split,
        "runs": len(runs),
        "total_ms": statistics.median(r["total_ms"] for r in runs),
        "step_ms": statistics.median(r["step_ms_mean"] for r in runs),
        "work_ms": statistics.median(r["work_ms_mean"] for r in runs),
        "gap_step1_ms": statistics.median(gaps[0]),
        "gap_step40_ms": statistics.median(gaps[-1]),
        # Medians: other load on the machine shows up as bursts of slow steps.
        "gap_mean_ms": statistics.median(g for step in gaps for g in step),
        "gap_first5_ms": statistics.median(g for step in gaps[:5] for g in step),
        "gap_last5_ms": statistics.median(g for step in gaps[-5:] for g in step),
        "per_run": runs,
    }


def summarize_fanouts(runs: list[dict]) -> dict:
    split = {
        key: statistics.median(r[key] for r in runs)
        for key in ("join_engine_ms", "join_dispatch_ms", "request_spread_ms")
        if key in runs[0]
    }
    return {
        **split,
        "runs": len(runs),
        "start_skew_ms": statistics.median(r["start_skew_ms"] for r in runs),
        "join_latency_ms": statistics.median(r["join_latency_ms"] for r in runs),
        "per_run": runs,
    }


def start_stacks(procs: stack.Processes, env, concurrency: int) -> None:
    """Attune's web, rules engine, actions worker and events worker (control queue), and the
    raw worker."""
    from apps.core.processes import process_argv
    from attune.celery import app
    from bench import raw_workflow_tasks

    host = socket.gethostname()
    procs.start("web", process_argv("web", sys.executable, port=env.port))
    worker = process_argv(
        "worker", sys.executable, worker_name="bench-wf@%h", concurrency=concurrency
    )
    procs.start("worker", worker)
    procs.start("rules", process_argv("rules", sys.executable))  # idle here; health wants one
    procs.start("events", process_argv("events", sys.executable))
    argv = [sys.executable, "-m", "celery", "-A", "bench.raw_workflow_tasks", "worker"]
    argv += ["-Q", raw_workflow_tasks.QUEUE, "-n", "bench-raw-wf@%h"]
    argv += ["--concurrency", str(concurrency), "--loglevel", "INFO"]
    procs.start("raw-worker", argv)
    stack.wait_for_worker(app, f"bench-wf@{host}", procs)
    stack.wait_for_worker(app, f"events@{host}", procs)
    stack.wait_for_worker(raw_workflow_tasks.app, f"bench-raw-wf@{host}", procs)
    stack.wait_until_healthy(env.base_url, procs)


def run(args, env, procs) -> dict:
    start_stacks(procs, env, args.concurrency)
    token = get_token(env.base_url)
    results = {
        "attune_chain": summarize_chains(
            repeat(lambda: measure_attune_chain(env, token, args.timeout), args.runs)
        ),
        "floor_chain": summarize_chains(
            repeat(lambda: measure_floor_chain(args.timeout), args.runs)
        ),
        "attune_fanout": summarize_fanouts(
            repeat(lambda: measure_attune_fanout(env, token, args.timeout), args.runs)
        ),
        "floor_chord": summarize_fanouts(
            repeat(lambda: measure_floor_chord(args.timeout), args.runs)
        ),
    }
    overhead = results["attune_chain"]["step_ms"] - results["floor_chain"]["step_ms"]
    results["step_overhead_ms"] = round(overhead, 2)
    # The part the engine adds: the time between steps, beyond the chain's.
    engine = results["attune_chain"]["gap_mean_ms"] - results["floor_chain"]["gap_mean_ms"]
    results["engine_overhead_ms"] = round(engine, 2)
    results["goals"] = goal_lines(results)
    return results


def goal_lines(results: dict) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    overhead = results["step_overhead_ms"]
    skew = results["attune_fanout"]["start_skew_ms"]
    join = results["attune_fanout"]["join_latency_ms"]
    chain, chord = results["floor_chain"], results["floor_chord"]
    return [
        f"per-step overhead <= {GOAL_STEP_OVERHEAD_MS:.0f} ms: {fmt(overhead)} ms "
        f"{verdict(overhead <= GOAL_STEP_OVERHEAD_MS)}  (Attune step "
        f"{fmt(results['attune_chain']['step_ms'])} ms vs chain step {fmt(chain['step_ms'])} ms; "
        f"between steps {fmt(results['engine_overhead_ms'])} ms of it, the rest is the "
        f"python-script runner's work beyond `python -c`)",
        f"fan-out start skew <= {GOAL_START_SKEW_MS:.0f} ms: {fmt(skew)} ms "
        f"{verdict(skew <= GOAL_START_SKEW_MS)}  (chord {fmt(chord['start_skew_ms'])} ms)",
        f"join latency <= {GOAL_JOIN_LATENCY_MS:.0f} ms: {fmt(join)} ms "
        f"{verdict(join <= GOAL_JOIN_LATENCY_MS)}  (chord {fmt(chord['join_latency_ms'])} ms)",
    ]


def report(results: dict) -> None:
    chains = [("attune  chain40 workflow", "attune_chain"), ("floor   celery chain", "floor_chain")]
    print_table(
        "40 sequential fibo(10) steps (medians over runs and steps; gap = previous step "
        "finished -> this step started)",
        ["scenario", "total ms", "step ms", "work ms", "gap s1", "gap s40", "gap 1-5", "gap 36-40"],
        [
            [label]
            + [
                fmt(results[key][k])
                for k in (
                    "total_ms",
                    "step_ms",
                    "work_ms",
                    "gap_step1_ms",
                    "gap_step40_ms",
                    "gap_first5_ms",
                    "gap_last5_ms",
                )
            ]
            for label, key in chains
        ],
    )
    chain = results["attune_chain"]
    print(
        f"\nAttune gap split: engine (child finished -> next requested) "
        f"{fmt(chain['engine_ms_mean'])} ms, dispatch (requested -> started) "
        f"{fmt(chain['dispatch_ms_mean'])} ms"
    )
    fanouts = [
        ("attune  fanout10 + join", "attune_fanout"),
        ("floor   celery chord", "floor_chord"),
    ]
    print_table(
        "Fan-out of 10, then join (medians over runs)",
        ["scenario", "start skew ms", "join latency ms"],
        [
            [label, fmt(results[key]["start_skew_ms"]), fmt(results[key]["join_latency_ms"])]
            for label, key in fanouts
        ],
    )
    fanout = results["attune_fanout"]
    print(
        f"\nAttune join split: engine (last branch finished -> join requested) "
        f"{fmt(fanout['join_engine_ms'])} ms, dispatch (requested -> started) "
        f"{fmt(fanout['join_dispatch_ms'])} ms; branches requested within "
        f"{fmt(fanout['request_spread_ms'])} ms"
    )
    print("\nGoals")
    for line in results["goals"]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    env = stack.prepare_environment(args.settings)
    print(
        f"workflow_overhead: data dir {env.data_dir}, {env.database_kind}, pool size "
        f"{args.concurrency}, {args.runs} runs, {os.cpu_count()} CPUs",
        flush=True,
    )
    return stack.run_on_stack("workflow_overhead", args, env, run, report, prepare=[create_user])


if __name__ == "__main__":
    sys.exit(main())
