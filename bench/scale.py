"""Scale: offline build + policy check of stacks with 10 to 5,000 tasks: time and peak memory.

Seed 002 onboards 250 databases with one task group each; here each source has 10 partitions,
so 1,000 tasks means 100 sources packed onto 5 instances (200 tasks each).
Run: python -m bench.scale
"""

from __future__ import annotations

import copy

from bench.common import print_table
from dmsmig.config.stack import parse_migration
from dmsmig.offline import policy_check as pc
from dmsmig.offline.mock_engine import run_program
from tests.conftest import raw_migration


def stack_with_tasks(tasks: int, per_source: int = 10):
    raw = raw_migration("sandbox")
    template = raw["sources"][0]
    raw["sources"] = []
    for n in range(tasks // per_source):
        source = copy.deepcopy(template)
        source["name"] = f"db{n:03d}"
        source["secret"] = {"name": f"sandbox-db{n:03d}-dms"}
        source["taskGroups"][0]["partitions"] = {"count": per_source, "min": 1, "max": 10_000_000}
        raw["sources"].append(source)
    return parse_migration(raw, "eu-west-1")


def measure(tasks: int) -> dict:
    """Build and check a stack of ``tasks`` tasks in this process; seconds, resources, peak RSS."""
    import resource
    import time

    pack_config = pc.load_pack_config(pc.pack_config_path("sandbox"))
    stack = stack_with_tasks(tasks)
    started = time.perf_counter()
    run = run_program(stack)
    violations = pc.evaluate(run, pack_config)
    seconds = time.perf_counter() - started
    return {
        "tasks": tasks,
        "resources": len(run.resources),
        "seconds": seconds,
        "mandatory": sum(1 for v in violations if v.level == "mandatory"),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    import json
    import subprocess
    import sys

    rows, seconds = [], {}
    for tasks in (10, 100, 500, 1000, 5000):
        # a fresh process per size, so peak memory is that size's own
        out = (
            subprocess.run(
                [sys.executable, "-m", "bench.scale", "--one", str(tasks)], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        m = json.loads(out)
        seconds[tasks] = m["seconds"]
        rows.append(
            [
                tasks,
                m["resources"],
                f"{m['seconds']:.2f}",
                f"{1000 * m['seconds'] / tasks:.1f}",
                f"{m['peak_mib']:.0f}",
                m["mandatory"],
            ]
        )
    print_table(
        "build + offline policy check", ["tasks", "resources", "seconds", "ms/task", "peak MiB", "mandatory"], rows
    )
    print(f"\ntime(1,000)/time(100) = {seconds[1000] / seconds[100]:.2f}  (10.0 is linear)")
    print(f"time(5,000)/time(500) = {seconds[5000] / seconds[500]:.2f}  (10.0 is linear)")


if __name__ == "__main__":
    import json
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main()
