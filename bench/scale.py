"""Scale: offline build + policy check of stacks with 10, 100 and 1,000 tasks.

Seed 002 onboards 250 databases with one task group each; here each source has 10 partitions,
so 1,000 tasks means 100 sources packed onto 5 instances (200 tasks each).
Run: python -m bench.scale
"""

from __future__ import annotations

import copy

from bench.common import print_table, timed
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


def main() -> None:
    pack_config = pc.load_pack_config(pc.pack_config_path("sandbox"))
    rows, per_task = [], {}
    for tasks in (10, 100, 1000):
        stack = stack_with_tasks(tasks)
        holder = {}

        def build_and_check(stack=stack, holder=holder):
            run = run_program(stack)
            holder["violations"] = pc.evaluate(run, pack_config)
            holder["resources"] = len(run.resources)

        seconds = timed(build_and_check, repeat=3)
        mandatory = sum(1 for v in holder["violations"] if v.level == "mandatory")
        per_task[tasks] = seconds / tasks
        rows.append([tasks, holder["resources"], f"{seconds:.2f}", f"{1000 * seconds / tasks:.1f}", mandatory])
    print_table("build + offline policy check", ["tasks", "resources", "seconds", "ms/task", "mandatory"], rows)
    t100 = per_task[100] * 100
    t1000 = per_task[1000] * 1000
    print(f"\ntime(1,000)/time(100) = {t1000 / t100:.2f}  (target <= 11; 10.0 is linear)")


if __name__ == "__main__":
    main()
