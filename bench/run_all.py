"""Run every benchmark in bench/ and print its output (`make bench`).

A benchmark is a `bench/*.py` script with a `if __name__ == "__main__":` block (this file
excepted); helper modules have none. Each runs in its own interpreter, one after another.
Extra arguments are passed to every benchmark. Exits non-zero if any benchmark failed.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
MAIN_GUARD = 'if __name__ == "__main__":'


def benchmark_scripts() -> list[Path]:
    """The benchmark scripts in bench/, sorted by name."""
    return [
        path
        for path in sorted(BENCH_DIR.glob("*.py"))
        if path.name != Path(__file__).name and MAIN_GUARD in path.read_text()
    ]


def run_script(path: Path, extra_args: list[str]) -> int:
    """Run one benchmark from the repository root, its output going straight to ours."""
    print(f"=== {path.name} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, str(path), *extra_args], cwd=BENCH_DIR.parent)
    print(f"=== {path.name}: exit {code} after {time.monotonic() - started:.0f}s ===\n", flush=True)
    return code


def main() -> int:
    failed = [p.name for p in benchmark_scripts() if run_script(p, sys.argv[1:]) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
