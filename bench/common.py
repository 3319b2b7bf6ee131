"""Helpers shared by the benchmarks: timing and one printed table per benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall-clock seconds of ``repeat`` runs (the least disturbed by the rest of the machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    widths = [max(len(str(x)) for x in [h, *[r[i] for r in rows]]) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))


def peak_rss_mib(pid: int = 0) -> float:
    """VmHWM (peak resident memory) of process ``pid`` (0: this process), MiB."""
    from pathlib import Path

    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def per_size_in_fresh_process(module: str, flag: str, sizes: list[int]) -> list[dict]:
    """For each size: the sandbox spec's object filled with that many rows in one embedded PostgreSQL, then
    ``python -m <module> <flag> <url> <rows>`` in a fresh process; each child's last line is its JSON result."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from dmsmig.config.stack import PROJECT_DIR, load_stack_config
    from dmsmig.ops.source_db import connect
    from dmsmig.rehearsal.run import object_plans
    from dmsmig.rehearsal.source import EmbeddedPostgres, create_objects, fill

    _where, plan = object_plans(load_stack_config("sandbox", PROJECT_DIR))[0]
    results = []
    with tempfile.TemporaryDirectory() as work:
        postgres = EmbeddedPostgres(Path(work) / "pgdata")
        try:
            url = postgres.start()
            engine = connect(url)
            for rows in sizes:
                create_objects(engine, [plan])
                fill(engine, plan, rows, seed=7)
                out = subprocess.run(
                    [sys.executable, "-m", module, flag, url, str(rows)], check=True, capture_output=True, text=True
                ).stdout
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            postgres.stop()
    return results
