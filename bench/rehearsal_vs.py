"""This checkout's `rehearse` against another revision's, in one run: the whole command, wall time, alternated.

The other revision is checked out with ``git worktree`` into a temporary folder and run with the same
Python (the same installed dependencies); the two commands alternate, A B A B ..., each with its own
fresh state folder, so a machine that speeds up or slows down during the run affects both alike. The
ratio printed is this checkout's median over the other's; under 1.00 is faster.

Run: python -m bench.rehearsal_vs REV [--rows N] [--runs K]   (default 2,000 rows, 3 runs each)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dmsmig.config.stack import PROJECT_DIR


def _rehearse(checkout: Path, state: Path, rows: int) -> float:
    """Seconds ``python -m dmsmig rehearse --stack sandbox`` takes in ``checkout`` (it must exit 0)."""
    argv = [sys.executable, "-m", "dmsmig", "rehearse", "--stack", "sandbox", "--rows", str(rows)]
    started = time.perf_counter()
    done = subprocess.run([*argv, "--state-dir", str(state)], cwd=checkout, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"rehearse in {checkout} exited {done.returncode}: {done.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the revision to compare with (a commit, tag or branch)")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        other = Path(work) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), args.rev], cwd=PROJECT_DIR, check=True,
                       capture_output=True)  # fmt: skip
        try:
            times: dict[str, list[float]] = {"this checkout": [], args.rev: []}
            for run in range(args.runs):
                times["this checkout"].append(_rehearse(PROJECT_DIR, Path(work) / f"a{run}", args.rows))
                times[args.rev].append(_rehearse(other, Path(work) / f"b{run}", args.rows))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=PROJECT_DIR, check=False)
    print(f"rehearse --stack sandbox --rows {args.rows:,}, {args.runs} runs each, alternated")
    for name, seconds in times.items():
        shown = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"  {name:<16} median {statistics.median(seconds):6.1f} s   ({shown})")
    ratio = statistics.median(times["this checkout"]) / statistics.median(times[args.rev])
    print(f"  this checkout / {args.rev}: {ratio:.2f}")


if __name__ == "__main__":
    main()
