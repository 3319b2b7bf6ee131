"""Which process a PID file names, so the rehearsal signals only a process it started.

A PID file outlives its process, and the operating system gives the number to the next process that
asks: a stale file can name anything (an editor, a database, a shell). Before any signal the
rehearsal compares what the file recorded when it started the process (its start time and command
line, as ``ps`` reports them on Linux and macOS) with what runs under that number now.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessStamp:
    """A process as ``ps`` describes it: enough to tell it from a later one with the same number."""

    pid: int
    started: str
    command: str


def stamp(pid: int) -> ProcessStamp | None:
    """The process running under ``pid`` now, or None when none does (or ``ps`` cannot tell)."""
    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    line = done.stdout.strip()
    if done.returncode != 0 or not line:
        return None
    # lstart is five words ("Tue Dec  8 00:57:29 2026"), then the command line
    words = line.split()
    return ProcessStamp(pid, " ".join(words[:5]), " ".join(words[5:]))


def write_pid_file(path: Path, pid: int, **extra: object) -> ProcessStamp | None:
    """Record ``pid`` with its start time and command line (and ``extra`` fields) in ``path``."""
    found = stamp(pid)
    record = {**(asdict(found) if found else {"pid": pid}), **extra}
    path.write_text(json.dumps(record) + "\n")
    return found


@dataclass(frozen=True)
class PidFile:
    """What a PID file recorded, and whether the process it names is still that process."""

    recorded: dict
    now: ProcessStamp | None

    @property
    def ours(self) -> bool:
        """The process under that number is the one the file recorded (same start time and command)."""
        return (
            self.now is not None
            and self.recorded.get("started") == self.now.started
            and self.recorded.get("command") == self.now.command
        )

    def describe(self) -> str:
        """For the line that says why a process was left alone."""
        pid = self.recorded.get("pid")
        if self.now is None:
            return f"process {pid} no longer runs"
        if "started" not in self.recorded:
            return f"process {pid} ({self.now.command[:80]}) cannot be matched: the PID file records no start time"
        return f"process {pid} is now another process ({self.now.command[:80]}, started {self.now.started})"


def read_pid_file(path: Path) -> PidFile | None:
    """The PID file at ``path``, or None when there is none or it holds no process number."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    try:
        recorded = json.loads(text)
    except ValueError:  # an earlier version wrote "pid port"
        words = text.split()
        recorded = {"pid": int(words[0])} if words and words[0].isdigit() else {}
        if len(words) > 1 and words[1].isdigit():
            recorded["port"] = int(words[1])
    if not isinstance(recorded, dict) or not isinstance(recorded.get("pid"), int):
        return None
    return PidFile(recorded, stamp(recorded["pid"]))
