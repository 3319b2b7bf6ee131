"""Partition planner on a real PostgreSQL (pgserver): seconds against the floor, and max/mean.

The floor is one ordered index-only read of the key (``SELECT sum(id) FROM (SELECT id ... ORDER BY
id)``). Compared: the exact planner (count + server-side cursor that skips rows), the sampled
planner (1% TABLESAMPLE), the weighted planner (running SUM of LENGTH(payload)), and the earlier
NTILE planner (NTILE + MIN/MAX + a counting pass, as plan-partitions did before).
Ids have growing gaps and payloads grow with the id, as in an event store that aged.
Run: python -m bench.planner_postgres [rows ...]    (default 1000000 10000000)
"""

from __future__ import annotations

import sys
import tempfile

import pgserver
from sqlalchemy import text

from bench.common import print_table, timed
from dmsmig.config.mapping_spec import SourceObject
from dmsmig.model.balance import max_mean_ratio
from dmsmig.ops import planner
from dmsmig.ops.source_db import connect, count_in_ranges

OBJECT = SourceObject(schema="dbo", object="events", objectType="table")
PARTITIONS = 16


def load(engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS dbo CASCADE"))
        conn.execute(text("CREATE SCHEMA dbo"))
        conn.execute(text("CREATE TABLE dbo.events (id bigint NOT NULL, payload text)"))
        conn.execute(
            text(
                "INSERT INTO dbo.events SELECT g::bigint * 3 + (g / 1000)::bigint * (g / 1000)::bigint, "
                "repeat('x', 20 + (g % 40) + (g::bigint * 200 / :n)::int) FROM generate_series(1, :n) g"
            ),
            {"n": rows},
        )
        conn.execute(text("CREATE UNIQUE INDEX events_id ON dbo.events (id)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE dbo.events"))


def ntile_planner(engine) -> list[int]:
    """What plan-partitions ran before: NTILE over the key, MIN/MAX, then a counting pass."""
    with engine.connect() as conn:
        lows = conn.execute(
            text(
                "SELECT bucket, MIN(k) FROM (SELECT id AS k, NTILE(:n) OVER (ORDER BY id) AS bucket "
                "FROM dbo.events) q GROUP BY bucket ORDER BY bucket"
            ),
            {"n": PARTITIONS},
        ).all()
        conn.execute(text("SELECT MIN(id), MAX(id) FROM dbo.events")).one()
    boundaries = [int(lo) for _b, lo in lows[1:]]
    count_in_ranges(engine, OBJECT, "id", boundaries)
    return boundaries


def main(sizes: list[int]) -> None:
    server = pgserver.get_server(tempfile.mkdtemp(prefix="bench-pg-"), cleanup_mode="stop")
    engine = connect(server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        for rows in sizes:
            load(engine, rows)

            def floor():
                with engine.connect() as conn:
                    conn.execute(text("SELECT sum(id) FROM (SELECT id FROM dbo.events ORDER BY id OFFSET 0) s")).one()

            base = timed(floor, 3)
            results: dict[str, object] = {}
            exact = timed(
                lambda r=results: r.__setitem__("exact", planner.plan_exact(engine, OBJECT, "id", PARTITIONS)), 3
            )
            sampled = timed(
                lambda r=results: r.__setitem__(
                    "sampled", planner.plan_sampled(engine, OBJECT, "id", PARTITIONS, 1, None)
                ),
                3,
            )
            weighted = timed(
                lambda r=results: r.__setitem__(
                    "weighted", planner.plan_weighted(engine, OBJECT, "id", PARTITIONS, "LENGTH(payload)")
                ),
                1,
            )
            ntile = timed(lambda r=results: r.__setitem__("ntile", ntile_planner(engine)), 1)
            sample_plan = results["sampled"]
            true_sampled = count_in_ranges(engine, OBJECT, "id", sample_plan.boundaries)
            weighted_rows = count_in_ranges(engine, OBJECT, "id", results["weighted"].boundaries)
            table = [
                ["floor: ordered index-only read", f"{base:.2f}", "1.00", "-"],
                [
                    "exact (count + cursor)",
                    f"{exact:.2f}",
                    f"{exact / base:.2f}",
                    f"{results['exact'].max_mean:.3f} rows",
                ],
                [
                    "sampled 1% (TABLESAMPLE)",
                    f"{sampled:.2f}",
                    f"{sampled / base:.2f}",
                    f"{sample_plan.max_mean:.3f} est. / {max_mean_ratio(true_sampled):.3f} true rows",
                ],
                [
                    "weighted by LENGTH(payload)",
                    f"{weighted:.2f}",
                    f"{weighted / base:.2f}",
                    f"{results['weighted'].max_mean:.3f} bytes ({max_mean_ratio(weighted_rows):.3f} rows)",
                ],
                ["NTILE + MIN/MAX + count (before)", f"{ntile:.2f}", f"{ntile / base:.2f}", "1.000 rows"],
            ]
            print_table(
                f"{rows:,} rows, {PARTITIONS} partitions, PostgreSQL 16 (pgserver)",
                ["method", "seconds", "x floor", "max/mean"],
                table,
            )
    finally:
        engine.dispose()
        server.cleanup()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000])
