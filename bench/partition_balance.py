"""Partition balance on a skewed key distribution: equal-width ranges vs planned (exact) boundaries.

1,000,000 rows in SQLite whose ids have Zipf-sized gaps (dense old ids, sparse new ones), queried
through the same SQLAlchemy code as `python -m dmsmig plan-partitions`.
Run: python -m bench.partition_balance [rows]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import print_table
from dmsmig.config.mapping_spec import SourceObject
from dmsmig.config.partitions import equal_width_boundaries
from dmsmig.model.balance import max_mean_ratio
from dmsmig.ops.planner import plan_exact
from dmsmig.ops.source_db import connect, count_in_ranges
from tests.synthetic import zipf_gapped_ids

OBJECT = SourceObject(schema="main", object="events", objectType="table")


def main(rows: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = connect(f"sqlite:///{Path(tmp) / 'source.db'}")
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE events (Id INTEGER PRIMARY KEY, payload TEXT)"))
            conn.execute(
                text("INSERT INTO events (Id, payload) VALUES (:i, 'x')"), [{"i": i} for i in zipf_gapped_ids(rows)]
            )
        print(f"loaded {rows:,} rows in {time.perf_counter() - started:.1f}s")
        table = []
        for n in (4, 8, 16):
            started = time.perf_counter()
            plan = plan_exact(engine, OBJECT, "Id", n)
            seconds = time.perf_counter() - started
            planned_counts = count_in_ranges(engine, OBJECT, "Id", plan.boundaries)
            equal_counts = count_in_ranges(
                engine, OBJECT, "Id", equal_width_boundaries(n, int(plan.minimum), int(plan.maximum))
            )
            equal, plan = max_mean_ratio(equal_counts), max_mean_ratio(planned_counts)
            table.append([n, f"{equal:.3f}", f"{plan:.3f}", f"{equal / plan:.2f}", f"{seconds:.1f}"])
        print_table(
            f"max/mean rows per partition, {rows:,} rows (target planned <= 1.05)",
            ["N", "equal-width", "planned", "equal/planned", "plan s"],
            table,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
