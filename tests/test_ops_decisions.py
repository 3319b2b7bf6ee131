import pytest

from dmsmig.ops.decisions import (
    StartAction,
    StartRow,
    TaskProgress,
    WatchVerdict,
    plan_starts,
    start_action,
    watch_verdict,
)


@pytest.mark.parametrize(
    ("status", "started", "reload", "expected"),
    [
        ("ready", False, False, StartAction.START),
        ("ready", True, False, StartAction.RESUME),
        ("stopped", True, False, StartAction.RESUME),
        ("failed", True, False, StartAction.RESUME),
        ("stopped", True, True, StartAction.RELOAD),
        ("running", True, True, StartAction.SKIP_RUNNING),
        ("starting", True, False, StartAction.SKIP_RUNNING),
        ("creating", False, False, StartAction.WAIT),
        ("modifying", True, False, StartAction.WAIT),
        ("ready", False, True, StartAction.START),
    ],
)
def test_start_action_is_the_one_valid_call(status, started, reload, expected):
    assert start_action(status, started, reload) is expected


def test_a_first_start_is_never_a_resume_or_reload():
    for reload in (False, True):
        assert start_action("ready", False, reload) is StartAction.START


def test_max_running_counts_tasks_already_running():
    rows = [
        StartRow("p1", "running", True),
        StartRow("p2", "ready", False),
        StartRow("p3", "ready", False),
        StartRow("p4", "stopped", True),
    ]
    assert plan_starts(rows, max_running=2) == [
        ("p1", StartAction.SKIP_RUNNING),
        ("p2", StartAction.START),
        ("p3", StartAction.QUEUED),
        ("p4", StartAction.QUEUED),
    ]
    assert [a for _t, a in plan_starts(rows)] == [
        StartAction.SKIP_RUNNING,
        StartAction.START,
        StartAction.START,
        StartAction.RESUME,
    ]


def test_the_second_wave_starts_the_queued_tasks_and_never_restarts_finished_ones():
    """start --max-running 2 on four tasks, run again after the first two finished."""
    rows = [
        StartRow("p1", "stopped", True, finished=True),
        StartRow("p2", "stopped", True, finished=True),
        StartRow("p3", "ready", False),
        StartRow("p4", "ready", False),
    ]
    assert plan_starts(rows, max_running=2) == [
        ("p1", StartAction.FINISHED),
        ("p2", StartAction.FINISHED),
        ("p3", StartAction.START),
        ("p4", StartAction.START),
    ]


def test_a_stopped_full_load_serverless_replication_is_never_sent_resume_processing():
    row = StartRow("s1", "stopped", True, serverless_full_load=True)
    assert plan_starts([row]) == [("s1", StartAction.NEEDS_RELOAD)]
    assert plan_starts([row], reload=True) == [("s1", StartAction.RELOAD)]


def _progress(**kw) -> TaskProgress:
    base = {"task_id": "t", "status": "running", "migration_type": "full-load"}
    return TaskProgress(**{**base, **kw})


def test_full_load_done_needs_the_finished_stop_reason_not_just_100_percent():
    assert not _progress(status="running", progress_percent=100, tables_loaded=1).full_load_done
    assert not _progress(status="stopped", stop_reason="STOPPED_BY_USER", progress_percent=100).full_load_done
    assert _progress(
        status="stopped", stop_reason="Stop Reason FULL_LOAD_ONLY_FINISHED", tables_loaded=1
    ).full_load_done


def test_cdc_task_is_done_when_running_with_tables_loaded():
    assert _progress(migration_type="full-load-and-cdc", tables_loaded=1).full_load_done
    assert not _progress(migration_type="full-load-and-cdc", tables_loaded=1, tables_loading=1).full_load_done


def test_watch_verdict():
    done = _progress(status="stopped", stop_reason="FULL_LOAD_ONLY_FINISHED", tables_loaded=1)
    running = _progress(progress_percent=50, tables_loading=1)
    assert watch_verdict([done, done]) is WatchVerdict.DONE
    assert watch_verdict([done, running]) is WatchVerdict.IN_PROGRESS
    assert watch_verdict([running, _progress(status="failed")]) is WatchVerdict.FAILED
    # "running" with a table in error is a failure, not progress
    assert watch_verdict([_progress(tables_errored=1)]) is WatchVerdict.FAILED
    assert watch_verdict([]) is WatchVerdict.IN_PROGRESS
