"""What policies cost per execution: request, claim and finish run in-process (the service
calls the web process and the worker make), with no policy, with a concurrency policy that
always admits, with a retry policy on a succeeding action, and in a line at threshold 1 where
every finish starts the next execution.

Run: .venv/bin/python bench/policy_costs.py [--n 300]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import time  # noqa: E402

from bench import stack  # noqa: E402

ACTION = "core.noop"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="executions per scenario")
    parser.add_argument("--out", type=Path, help="JSON results file (default: in the data dir)")
    return parser.parse_args(argv)


def lifecycle(execution_id: int) -> None:
    from apps.executions.services import claim_execution, finish_execution

    claim_execution(execution_id, "bench")
    finish_execution(execution_id, "succeeded")


def measure(run, n: int) -> dict:
    """Time `run()` and count its SQL statements; per execution."""
    from django.db import connection

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
    return {"ms": round(elapsed * 1000 / n, 3), "queries": round(statements / n, 2)}


def one_by_one(n: int) -> None:
    from apps.executions.services import request_execution

    for _ in range(n):
        lifecycle(request_execution(ACTION, {}).pk)


def in_a_line(n: int) -> None:
    """n requests at threshold 1 (all but one delayed), then each finish starts the next."""
    from apps.executions.models import Execution
    from apps.executions.services import request_execution

    ids = [request_execution(ACTION, {}).pk for _ in range(n)]
    for execution_id in ids:
        assert Execution.objects.get(pk=execution_id).status == "requested"
        lifecycle(execution_id)


def with_policy(policy_type: str, parameters: dict, scenario) -> dict:
    from apps.policies.models import Policy
    from apps.policies.services import create_policy, delete_policy

    body = {"name": "bench", "resource_ref": ACTION, "policy_type": policy_type}
    create_policy({**body, "parameters": parameters}, pack_ref="bench")
    try:
        return scenario()
    finally:
        delete_policy(Policy.objects.get(ref="bench.bench"))


def scenarios(n: int) -> dict:
    measure(lambda: one_by_one(20), 20)  # warm caches and connections
    return {
        "no policy": measure(lambda: one_by_one(n), n),
        "concurrency, always admitted": with_policy(
            "action.concurrency",
            {"threshold": n + 1},
            lambda: measure(lambda: one_by_one(n), n),
        ),
        "retry, action succeeds": with_policy(
            "action.retry", {}, lambda: measure(lambda: one_by_one(n), n)
        ),
        "concurrency 1, in a line": with_policy(
            "action.concurrency", {"threshold": 1}, lambda: measure(lambda: in_a_line(n), n)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack.stop_on_sigterm()
    env = stack.prepare_environment()
    print(f"policy_costs: data dir {env.data_dir}, {env.database_kind}", flush=True)
    stack.setup_database(env)

    import django

    django.setup()
    from bench.execution_costs import log_to_file

    log_to_file(env.data_dir / "logs" / "bench.log")
    try:
        results = scenarios(args.n)
    finally:
        stack.delete_redis_keys(env)
    print(f"{'request + claim + finish, per execution':45} {'ms':>8} {'queries':>8}")
    for name, figures in results.items():
        print(f"{name:45} {figures['ms']:8.2f} {figures['queries']:8.2f}")
    results = {"config": stack.run_config(args, env), "results": results}
    stack.save_results(results, args, env, "policy_costs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
