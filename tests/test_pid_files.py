"""The rehearsal signals a process only when its PID file still names the process it started."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dmsmig.rehearsal.local_aws import LocalAws
from dmsmig.rehearsal.processes import read_pid_file, write_pid_file
from dmsmig.rehearsal.source import EmbeddedPostgres


@pytest.fixture
def unrelated():
    """A live process the rehearsal did not start (an editor, a database: anything)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    time.sleep(0.3)  # exec'd: ps shows its own command line
    yield process
    process.kill()
    process.wait()


def _alive(process) -> bool:
    return process.poll() is None


def test_a_stale_pid_file_naming_an_unrelated_process_leaves_it_alone(tmp_path, unrelated):
    (tmp_path / "local-aws.pid").write_text(f"{unrelated.pid} 45678\n")  # an earlier version's file
    local = LocalAws(tmp_path)
    local.stop_previous()
    time.sleep(0.3)
    assert _alive(unrelated)
    assert not (tmp_path / "local-aws.pid").exists()
    [line] = local.found
    assert f"process {unrelated.pid}" in line and "left alone" in line and "cannot be matched" in line


def test_a_pid_file_whose_number_now_belongs_to_another_process_leaves_it_alone(tmp_path, unrelated):
    write_pid_file(tmp_path / "local-aws.pid", unrelated.pid, port=45678)
    recorded = (tmp_path / "local-aws.pid").read_text()
    (tmp_path / "local-aws.pid").write_text(recorded.replace('"started": "', '"started": "Mon Jan  1 00:00:00 2024 '))
    local = LocalAws(tmp_path)
    local.stop_previous()
    time.sleep(0.3)
    assert _alive(unrelated) and "is now another process" in local.found[0]


def test_the_server_an_interrupted_run_left_is_stopped_and_the_rerun_says_so(tmp_path, unrelated):
    write_pid_file(tmp_path / "local-aws.pid", unrelated.pid, port=45678)  # recorded when it was started
    assert read_pid_file(tmp_path / "local-aws.pid").ours
    local = LocalAws(tmp_path)
    local.stop_previous()
    unrelated.wait(timeout=10)
    assert not _alive(unrelated)
    assert "was still running" in local.found[0] and "interrupted" in local.found[0]


def test_a_postmaster_pid_naming_a_process_that_is_not_postgres_is_removed_not_signalled(tmp_path, unrelated):
    data = tmp_path / "pgdata"
    data.mkdir()
    (data / "postmaster.pid").write_text(f"{unrelated.pid}\n{data}\n1765000000\n5432\n")
    postgres = EmbeddedPostgres(data)
    postgres._clear_stale_pid_file()
    time.sleep(0.3)
    assert _alive(unrelated) and not (data / "postmaster.pid").exists()
    assert "is not a PostgreSQL now" in postgres.found[0] and "left alone" in postgres.found[0]


def test_the_local_aws_log_keeps_this_run_and_the_previous_one_only(tmp_path):
    local = LocalAws(tmp_path)
    for run in range(3):
        with local._fresh_log() as log:
            log.write(f"run {run}\n".encode())
    assert (tmp_path / "local-aws.log").read_text() == "run 2\n"
    assert (tmp_path / "local-aws.previous.log").read_text() == "run 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local-aws.log", "local-aws.previous.log"]
